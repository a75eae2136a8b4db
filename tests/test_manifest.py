"""Manifests: JSON lines, relative audio paths, errors that name file and line."""

import json
import math

import pytest

from asr import manifest
from asr.errors import ManifestError
from asr.manifest import Utterance


def test_write_read_round_trip(tmp_path):
    folder = tmp_path / "data"
    outside = tmp_path / "elsewhere" / "c.flac"
    utts = [
        Utterance(id="a", audio=str(folder / "wav" / "a.wav"), duration=1.5, text="yes no"),
        Utterance(id="b", audio=str(folder / "wav" / "b.wav"), duration=12.25, text="今天天气好棒棒",
                  speaker="spk1", offset=3.5, extra={"lang": "zh", "align": [1, 2]}),
        Utterance(id="c", audio=str(outside), duration=0.0, text=""),
    ]
    path = folder / "train.jsonl"
    manifest.write(path, utts)

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[0] == {"id": "a", "audio": "wav/a.wav", "duration": 1.5, "text": "yes no"}
    assert records[1]["audio"] == "wav/b.wav" and records[1]["offset"] == 3.5
    assert records[2]["audio"] == str(outside)  # outside the folder: stays absolute
    assert "今天天气好棒棒" in path.read_text(encoding="utf-8")  # not \\u-escaped

    again = manifest.read(path)
    assert again == utts
    assert again[1].speaker == "spk1" and again[1].extra == {"lang": "zh", "align": [1, 2]}
    assert [p.name for p in folder.iterdir()] == ["train.jsonl"]  # no temp file left


def test_relative_paths_are_made_absolute(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"id": 7, "audio": "wav/x.wav", "duration": 2, "text": "hi", "speaker": 3}\n'
        "\n"
        '{"id": "y", "audio": "/abs/y.wav", "duration": 1.0, "text": "yo", "offset": null}\n',
        encoding="utf-8",
    )
    a, b = manifest.read(path)
    assert a.audio == str(tmp_path.resolve() / "wav" / "x.wav")
    assert a.id == "7" and a.speaker == "3" and a.duration == 2.0 and isinstance(a.duration, float)
    assert a.offset == 0.0 and a.extra == {}
    assert b.audio == "/abs/y.wav" and b.offset == 0.0


def test_empty_manifest(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("\n\n")
    assert manifest.read(path) == []


GOOD = '{"id": "a", "audio": "a.wav", "duration": 1.0, "text": "yes"}'


@pytest.mark.parametrize(
    "bad, words",
    [
        ('{"id": "a", "audio": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "a", "audio": "a.wav"}', "missing key(s) duration, text"),
        ('{"id": "a", "audio": "a.wav", "duration": -1, "text": "x"}', "non-negative seconds"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "offset": -0.5, "text": "x"}', "non-negative seconds"),
        ('{"id": "a", "audio": "a.wav", "duration": "long", "text": "x"}', "must be numbers"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "text": 5}', "'text' must be a string"),
        ('{"id": "a", "audio": "", "duration": 1, "text": "x"}', "'audio' must be a non-empty path"),
    ],
)
def test_malformed_line_reports_file_and_line(tmp_path, bad, words):
    path = tmp_path / "m.jsonl"
    path.write_text(f"{GOOD}\n\n{bad}\n{GOOD}\n", encoding="utf-8")
    with pytest.raises(ManifestError) as e:
        manifest.read(path)
    message = str(e.value)
    assert message.startswith(f"{path}:3: ")
    assert words in message


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="no such manifest") as e:
        manifest.read(tmp_path / "nope.jsonl")
    assert "nope.jsonl" in str(e.value)


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_non_finite_duration_is_rejected(tmp_path, value):
    path = tmp_path / "m.jsonl"
    path.write_text(f'{{"id": "a", "audio": "a.wav", "duration": {value}, "text": "x"}}\n')
    try:
        utts = manifest.read(path)
    except ManifestError as e:
        assert f"{path}:1" in str(e)
        return
    assert math.isfinite(utts[0].duration), "a non-finite duration was accepted"
