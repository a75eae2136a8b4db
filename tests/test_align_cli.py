"""`asr align`: force-align a manifest or one audio file through the Recognizer; utterances that
cannot be aligned are reported by id and the others still come out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from test_lmtools import model_file  # a small untrained model over "go to the cat ..." letters
from typer.testing import CliRunner

from asr import manifest
from asr.manifest import Utterance
from asr_cli.main import app


@pytest.fixture
def files(tmp_path):
    long, short = tmp_path / "long.wav", tmp_path / "short.wav"
    sf.write(long, (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32), 16000)
    sf.write(short, (0.1 * np.random.default_rng(1).standard_normal(1600)).astype(np.float32), 16000)
    manifest.write(tmp_path / "m.jsonl", [
        Utterance("ok", str(long), 1.5, "The cat sat."),
        Utterance("too-short", str(short), 0.1, "the cat went home to the dog"),  # 0.1 s: 4 frames
        Utterance("unknown", str(long), 1.5, "the zebra"),
    ])
    return {"model": str(model_file(tmp_path / "exp")), "manifest": str(tmp_path / "m.jsonl"), "wav": str(long),
            "tmp": tmp_path}


def test_a_manifest_is_aligned_and_the_failures_are_named(files):
    result = CliRunner().invoke(app, ["align", files["manifest"], "--model", files["model"], "--device", "cpu",
                                      "--plot", str(files["tmp"] / "plots")])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    found = json.loads(line)
    assert found["id"] == "ok" and found["text"] == "the cat sat"
    assert [w["word"] for w in found["words"]] == ["the", "cat", "sat"]
    assert "".join(t["token"] for t in found["tokens"]) == "the|cat|sat"
    assert all(0 <= w["start"] < w["end"] <= 1.53 for w in found["words"])  # 51 output frames of 30 ms
    assert [w["start"] for w in found["words"]] == sorted(w["start"] for w in found["words"])
    err = " ".join(result.stderr.split())
    assert "error: too-short" in err and "needs at least" in err and "the audio has" in err
    assert "error: unknown" in err and "the model has no token for: 'b', 'r', 'z'" in err
    assert "2 of 3 utterance(s) could not be aligned" in err and "Traceback" not in result.output
    assert (files["tmp"] / "plots" / "ok.png").stat().st_size > 1000
    assert not (files["tmp"] / "plots" / "too-short.png").exists()


def test_one_audio_file_with_its_text_and_a_plot(files):
    png = files["tmp"] / "one.png"
    result = CliRunner().invoke(app, ["align", files["wav"], "go home", "--model", files["model"], "--plot", str(png)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["id"] == "long" and [w["word"] for w in found["words"]] == ["go", "home"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["{wav}"], "give the TEXT to align the audio file with"),
    (["{manifest}", "some text"], "TEXT goes with an audio file"),
])
def test_usage_errors(files, args, message):
    result = CliRunner().invoke(app, ["align", *[a.format(**files) for a in args], "--model", files["model"]])
    assert result.exit_code == 2 and message in result.stderr
