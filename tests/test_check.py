"""asr.check: each kind of bad utterance is found, --fix removes exactly those,
and the fixed manifest trains."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from asr import check as chk
from asr import manifest
from asr.config import load
from asr.features import FeatureSettings
from asr.manifest import Utterance
from asr.text import TextSettings
from asr.vocab import Vocabulary
from asr_cli.main import app

RATE = 16000
GOOD = {"good1": "yes no", "good2": "no yes", "good3": "yes yes no"}
BAD = {  # id -> the code it must be reported with
    "corrupt": "corrupt-audio",
    "truncated": "corrupt-audio",
    "empty": "empty-text",
    "oov": "unknown-chars",
    "toolong": "ctc-infeasible",
    "good1": "duplicate-id",
}


def tone(path: Path, seconds: float, seed: int = 0, fmt: str | None = None) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.01 * rng.standard_normal(t.size)
    sf.write(path, wave.astype(np.float32), RATE, format=fmt)
    return path


def utt(uid: str, path: Path, text: str, duration: float | None = None) -> Utterance:
    return Utterance(id=uid, audio=str(path), duration=duration if duration is not None else sf.info(path).duration,
                     text=text, speaker="s1")


@pytest.fixture
def data(tmp_path) -> Path:
    """train.jsonl of good utterances; bad.jsonl with three good and one of each kind of bad one."""
    wav = tmp_path / "wav"
    wav.mkdir()
    good = [utt(uid, tone(wav / f"{uid}.wav", 1.0, i), text) for i, (uid, text) in enumerate(GOOD.items())]
    train = [utt(f"t{i}", tone(wav / f"t{i}.wav", 1.0, 10 + i), text) for i, text in enumerate(GOOD.values())]
    (wav / "corrupt.wav").write_bytes(b"RIFF not really a wave file" * 20)
    flac = tone(wav / "truncated.flac", 1.0, 5, fmt="FLAC")
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    short = tone(wav / "short.wav", 0.3, 6)
    bad = good + [
        utt("corrupt", wav / "corrupt.wav", "yes", duration=1.0),
        utt("truncated", flac, "no", duration=1.0),
        utt("empty", tone(wav / "empty.wav", 1.0, 7), " ?! "),
        utt("oov", tone(wav / "oov.wav", 1.0, 8), "yes maybe"),
        utt("toolong", short, "yes no yes no yes no yes no"),
        utt("good1", tone(wav / "dup.wav", 1.0, 9), "no"),
    ]
    manifest.write(tmp_path / "train.jsonl", train)
    manifest.write(tmp_path / "bad.jsonl", bad)
    return tmp_path


def codes_by_id(report) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in report.findings:
        if f.level == "error":
            out.setdefault(f.id, set()).add(f.code)
    return out


def test_each_bad_utterance_is_found_with_its_code_and_line(data):
    report = chk.check([data / "train.jsonl", data / "bad.jsonl"], None, TextSettings(), FeatureSettings(), 3)
    found = codes_by_id(report)
    for uid, code in BAD.items():
        assert code in found.get(uid, set()), (uid, found)
    assert set(found) == set(BAD)  # good2, good3 and the training set are clean
    dup = next(f for f in report.findings if f.code == "duplicate-id")
    assert dup.manifest == str(data / "bad.jsonl") and dup.line == 9
    assert "train.jsonl" in report.vocabulary
    assert any(f.code == "sample-rate" and "16000 Hz" in f.message for f in report.findings)


def test_model_vocabulary_and_segments(tmp_path):
    a = tone(tmp_path / "a.wav", 1.0)
    utts = [utt("a", a, "yes", duration=1.0), utt("b", a, "yes", duration=0.05),
            Utterance("c", str(a), 0.5, "yes", offset=0.8), Utterance("d", str(a), 0.3, "yes", offset=0.2),
            utt("e", a, "no", duration=0.6)]
    manifest.write(tmp_path / "m.jsonl", utts)
    vocab = Vocabulary.build(["yes"])
    report = chk.check([tmp_path / "m.jsonl"], vocab, TextSettings(), FeatureSettings(), 3)
    by_id = {(f.id, f.code) for f in report.findings}
    assert ("b", "duplicate-audio") in by_id and ("b", "too-short") in by_id
    assert ("c", "beyond-end") in by_id
    assert ("e", "unknown-chars") in by_id and ("e", "duration-mismatch") not in by_id  # the file is shared
    assert not any(f.id in ("a", "d") for f in report.findings)


def test_trainable_uses_manifest_data_and_caches_audio(data):
    utts = manifest.read(data / "bad.jsonl")
    kept, dropped = chk.trainable(utts, None, TextSettings(), FeatureSettings(), 3, 30.0)
    assert {u.id for u in kept} >= {"good1", "good2", "corrupt", "oov"}  # audio unread, vocabulary of these texts
    assert dropped == {"empty-text": 1, "ctc-infeasible": 1}
    cache = chk.cache_path(data / "bad.jsonl")
    kept, dropped = chk.trainable(utts, None, TextSettings(), FeatureSettings(), 3, 0.9, manifest_path=data / "bad.jsonl")
    assert dropped["corrupt-audio"] == 2 and dropped["too-long"] >= 1
    entries = json.loads(cache.read_text())["files"]
    assert len(entries) == len({u.audio for u in utts})
    # A cached result is reused: fake one and see it come back.
    target = str(data / "wav" / "good2.wav")
    entries[target][4:] = ["corrupt-audio", "from the cache"]
    cache.write_text(json.dumps({"format": chk.CACHE_FORMAT, "version": chk.CACHE_VERSION, "files": entries}))
    kept, _ = chk.trainable(utts, None, TextSettings(), FeatureSettings(), 3, 30.0, manifest_path=data / "bad.jsonl")
    assert "good2" not in {u.id for u in kept}
    dev_kept, dev_dropped = chk.trainable(utts, Vocabulary.build(["yes no"]), TextSettings(), FeatureSettings(), 3, 30.0,
                                          for_training=False)
    assert len(dev_kept) == len(utts) and not dev_dropped


def test_cli_check_fix_then_train(data, tmp_path):
    runner = CliRunner()
    inputs = [str(data / "train.jsonl"), str(data / "bad.jsonl")]
    result = runner.invoke(app, ["check", *inputs, "--json", "-q"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert {f["id"] for f in report["findings"] if f["level"] == "error"} == set(BAD)
    assert "error-level" in result.stderr

    table = runner.invoke(app, ["check", *inputs, "-q"])
    assert table.exit_code == 1 and "ctc-infeasible" in table.stdout and "bad.jsonl:" in table.stdout

    fixed = tmp_path / "fixed"
    result = runner.invoke(app, ["check", *inputs, "--fix", str(fixed), "-q"])
    assert result.exit_code == 1
    assert [u.id for u in manifest.read(fixed / "bad.jsonl")] == ["good1", "good2", "good3"]
    recheck = runner.invoke(app, ["check", str(fixed / "train.jsonl"), str(fixed / "bad.jsonl"), "-q"])
    assert recheck.exit_code == 0, recheck.output

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(fixed / "bad.jsonl", run_dir / "train.jsonl")
    shutil.copy(fixed / "bad.jsonl", run_dir / "dev.jsonl")
    from asr.train import train
    settings = load(None, ["train.epochs=1", "model.hidden=16", "model.layers=1", "train.max_frames=4000"])
    train(run_dir, settings, tmp_path / "exp")
    epochs = [json.loads(line) for line in (tmp_path / "exp" / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in epochs if m["event"] == "epoch"]
    assert losses and all(math.isfinite(x) for x in losses)

    # The trained model's vocabulary and settings: "maybe" still has unknown characters.
    with_model = runner.invoke(app, ["check", str(data / "bad.jsonl"), "--model", str(tmp_path / "exp" / "model.pt"), "--json", "-q"])
    assert with_model.exit_code == 1
    report = json.loads(with_model.stdout)
    assert report["vocabulary"] == "the model's"
    assert {f["id"] for f in report["findings"] if f["code"] == "unknown-chars"} == {"oov"}


def test_cli_single_manifest_fix_file_and_usage(data, tmp_path):
    runner = CliRunner()
    out = tmp_path / "one.jsonl"
    result = runner.invoke(app, ["check", str(data / "bad.jsonl"), "--fix", str(out), "-q"])
    assert result.exit_code == 1 and out.is_file()
    assert runner.invoke(app, ["check", str(out), "-q"]).exit_code == 0
    both = runner.invoke(app, ["check", str(out), "--model", str(out), "--config", str(out)])
    assert both.exit_code == 2
    assert runner.invoke(app, ["check", str(tmp_path / "missing.jsonl")]).exit_code == 2


@pytest.mark.parametrize("content, words", [
    (b'{"id": "a", "audio": "a.wav", "duration": 1, "text": "caf\xe9"}\n', ["m.jsonl:1", "not UTF-8"]),
    (b"client_id\tpath\tsentence\nabc\tclip.mp3\thello\n", ["m.jsonl", "asr prep commonvoice"]),
])
def test_cli_check_of_an_unreadable_manifest_is_one_error(tmp_path, content, words):
    path = tmp_path / "m.jsonl"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["check", str(path), "-q"])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert all(w in message for w in words), message


def test_check_fix_keeps_offset_zero_segments(tmp_path):
    a = tone(tmp_path / "a.wav", 1.0)
    utts = [Utterance("s0", str(a), 0.5, "yes", offset=0.0), Utterance("s1", str(a), 0.5, "yes", offset=0.5)]
    manifest.write(tmp_path / "m.jsonl", utts)
    report = chk.check([tmp_path / "m.jsonl"], Vocabulary.build(["yes"]), TextSettings(), FeatureSettings(), 3)
    assert not report.has_errors
    chk.fix(report, tmp_path / "m.jsonl", tmp_path / "fixed.jsonl")
    assert [u.offset for u in manifest.read(tmp_path / "fixed.jsonl")] == [0.0, 0.5]
