"""asr.stats: counts, durations, histogram and characters of a manifest, and `asr stats`."""

import json

from typer.testing import CliRunner

from asr import manifest
from asr.manifest import Utterance
from asr.stats import histogram, stats
from asr_cli.main import app


def write(tmp_path):
    utts = [Utterance("a", "a.wav", 1.0, "Yes, no!", speaker="x"),
            Utterance("b", "b.wav", 2.0, "yes", speaker="y"),
            Utterance("c", "c.wav", 3.0, "no no no", speaker="x")]
    path = tmp_path / "m.jsonl"
    manifest.write(path, utts)
    return path


def test_stats(tmp_path):
    s = stats(write(tmp_path))
    assert s["utterances"] == 3 and s["speakers"] == 2
    assert abs(s["hours"] - 6 / 3600) < 1e-9
    assert s["duration"] == {"min": 1.0, "mean": 2.0, "max": 3.0, "total": 6.0}
    assert s["characters"]["o"] == 4 and s["characters"][" "] == 3 and "," not in s["characters"]
    assert sum(s["text_length"]["counts"]) == 3
    raw = stats(tmp_path / "m.jsonl", text_settings=None)
    assert raw["characters"]["Y"] == 1 and raw["characters"]["!"] == 1


def test_histogram_edges():
    h = histogram([0, 1, 2, 10], bins=5)
    assert h["edges"] == [0, 3, 6, 9, 12] and h["counts"] == [3, 0, 0, 1]
    assert histogram([], 3) == {"edges": [], "counts": []}
    assert histogram([4, 4], 2) == {"edges": [4, 5], "counts": [2]}
    assert histogram([1, 2, 3], 10)["counts"] == [1, 1, 1]


def test_cli_stats(tmp_path):
    path = write(tmp_path)
    result = CliRunner().invoke(app, ["stats", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["utterances"] == 3
    table = CliRunner().invoke(app, ["stats", str(path)])
    assert table.exit_code == 0 and "utterances" in table.stdout


def test_stats_of_another_tools_manifest_names_the_importer(tmp_path):
    path = tmp_path / "train_manifest.json"
    path.write_text(json.dumps({"audio_filepath": "a.wav", "duration": 1.0, "text": "hi"}) + "\n")
    result = CliRunner().invoke(app, ["stats", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    message = " ".join(result.stderr.split())
    assert "error:" in message and path.name in message and "asr prep nemo" in message
    assert "Traceback" not in result.stderr


def test_stats_of_a_manifest_with_a_byte_order_mark(tmp_path):
    path = write(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert stats(path)["utterances"] == 3
