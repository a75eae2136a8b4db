"""The `asr` command line: help, usage errors, explained failures, and one end-to-end run.

Click >= 8.2's CliRunner keeps stdout and stderr apart (`result.stdout`,
`result.stderr`); results must go to stdout, errors and progress to stderr.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import asr
from asr_cli.main import app

COMMANDS = ["prep", "train", "evaluate", "transcribe", "run", "export", "compare", "plot"]
DIGIT_LETTERS = set("zeroohnetwthrfuivsxg ")  # every letter of "zero oh one ... nine", and space


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def flat(text: str) -> str:
    """Whitespace collapsed: rich wraps long stderr lines."""
    return " ".join(text.split())


@pytest.fixture
def wav(tmp_path) -> Path:
    path = tmp_path / "tone.wav"
    sf.write(path, (0.3 * np.sin(np.arange(8000) * 0.2)).astype(np.float32), 16000)
    return path


@pytest.fixture
def garbage_model(tmp_path) -> Path:
    path = tmp_path / "garbage.pt"
    path.write_bytes(bytes(range(256)) * 4)
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_help_for_every_command(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and command in result.stdout
    assert "Example:" in result.stdout
    assert result.stderr == ""


def test_top_level_help_lists_commands(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    import platform

    import torch
    import torchaudio
    torch_version, torchaudio_version = torch.__version__.split("+")[0], torchaudio.__version__.split("+")[0]
    assert result.stdout == (f"asr {asr.__version__} (torch {torch_version}, torchaudio {torchaudio_version}, "
                             f"Python {platform.python_version()})\n")
    assert result.stderr == ""


@pytest.mark.parametrize(
    "args",
    [["transcribe", "nope.wav"], ["evaluate", "nope.jsonl"], ["train", "nope-data"]],
    ids=["transcribe", "evaluate", "train"],
)
def test_missing_file_argument_is_a_usage_error(runner, tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "does not exist" in flat(result.stderr)
    assert args[1] in result.stderr


def test_unknown_command_is_a_usage_error(runner):
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2
    assert result.stdout == ""


def test_bad_checkpoint_exits_1_with_error(runner, wav, garbage_model):
    result = runner.invoke(app, ["transcribe", "--model", str(garbage_model), str(wav)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert garbage_model.name in result.stderr


def test_asr_model_environment_variable_is_used(runner, wav, garbage_model, monkeypatch):
    monkeypatch.setenv("ASR_MODEL", str(garbage_model))
    result = runner.invoke(app, ["transcribe", str(wav)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert garbage_model.name in result.stderr


def test_transcribe_without_model_says_how_to_train(runner, wav, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    monkeypatch.delenv("ASR_MODEL", raising=False)
    result = runner.invoke(app, ["transcribe", str(wav)])
    assert result.exit_code == 1
    assert result.stdout == ""
    message = flat(result.stderr)
    assert message.startswith("error: no model given")
    assert "asr run digits" in message and "--model" in message and "ASR_MODEL" in message


def test_unknown_corpus_and_option(runner, tmp_path):
    result = runner.invoke(app, ["prep", "nosuch", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert "unknown corpus 'nosuch'" in flat(result.stderr)
    result = runner.invoke(app, ["prep", "digits", str(tmp_path / "d"), "--set", "trian=3"])
    assert result.exit_code == 2
    assert "unknown option(s) trian" in flat(result.stderr)
    assert not (tmp_path / "d").exists()


def test_train_rejects_unknown_setting(runner, tmp_path):
    result = runner.invoke(app, ["train", str(tmp_path), "--set", "train.epoch=1", "--out", str(tmp_path / "exp")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "unknown setting(s) epoch" in flat(result.stderr)


def test_empty_model_file_exits_1_with_error(runner, wav, tmp_path):
    model = tmp_path / "empty.pt"
    model.write_bytes(b"")
    result = runner.invoke(app, ["transcribe", "--model", str(model), str(wav)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")


def test_error_message_is_not_wrapped(runner, wav, tmp_path):
    folder = tmp_path / ("d" * 120)
    folder.mkdir()
    model = folder / "missing.pt"
    result = runner.invoke(app, ["transcribe", "--model", str(model), str(wav)])
    assert result.exit_code == 2  # a --model that is not there is a usage error, as in check and evaluate
    assert result.stderr == (f"error: --model {model}: no such model file (train one with `asr train`, "
                             "or pass the path of a model.pt)\n")


@pytest.mark.slow
def test_end_to_end_prep_train_evaluate_transcribe(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASR_MODEL", raising=False)

    result = runner.invoke(app, ["prep", "digits", "DATA", "--set", "train=40", "--set", "dev=8", "--set", "test=8"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{s}\tDATA/{s}.jsonl" for s in ("train", "dev", "test")]
    assert "digits: synthesising 56 utterances" in result.stderr

    result = runner.invoke(app, [
        "train", "DATA", "--set", "train.epochs=2", "--set", "model.hidden=32", "--set", "model.layers=1",
        "--set", "train.warmup_steps=2", "--out", "EXP",
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == "EXP/model.pt"
    assert 0 <= summary["dev_wer"] and 0 <= summary["dev_cer"]
    exp = tmp_path / "EXP"
    for name in ("model.pt", "checkpoints/epoch-002.pt", "metrics.jsonl", "result.json"):
        assert (exp / name).is_file(), name
    records = [json.loads(line) for line in (exp / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["event"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1, 2]
    for r in epochs:
        assert math.isfinite(r["loss"]) and r["loss"] > 0
        assert math.isfinite(r["dev_wer"]) and r["dev_wer"] >= 0
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    assert summary["dev_wer"] == min(r["dev_wer"] for r in epochs)

    result = runner.invoke(app, ["evaluate", "DATA/test.jsonl", "--model", "EXP/model.pt", "--json", "-q"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("wer", "cer", "substitutions", "deletions", "insertions", "utterances", "hours"):
        assert key in report, key
    assert report["wer"] >= 0 and report["cer"] >= 0
    assert report["utterances"] == 8
    assert 0 < report["hours"] < 8 * 10 / 3600
    results_path = Path(report["results"])
    assert results_path.parent == Path("EXP") and results_path.name.startswith("eval-DATA-test-") and results_path.is_file()
    # --out puts them where asked
    again = runner.invoke(app, ["evaluate", "DATA/test.jsonl", "--model", "EXP/model.pt", "--json", "-q", "--out", "mine.jsonl"])
    assert again.exit_code == 0 and json.loads(again.stdout)["results"] == "mine.jsonl" and Path("mine.jsonl").is_file()
    per_utt = [json.loads(line) for line in results_path.read_text().splitlines()]
    assert [u["id"] for u in per_utt] == [f"test-{i:05d}" for i in range(8)]
    hyps = {u["id"]: u["hyp"] for u in per_utt}

    wavs = ["DATA/wav/test/test-00000.wav", "DATA/wav/test/test-00001.wav"]
    result = runner.invoke(app, ["transcribe", "--model", "EXP/model.pt", *wavs])
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    assert lines[-1] == "" and len(lines) == 3
    for line, path in zip(lines, wavs):
        name, sep, text = line.partition("\t")
        assert (name, sep) == (path, "\t")
        assert set(text) <= DIGIT_LETTERS
        assert text == hyps[Path(path).stem]  # same model, same features as evaluate

    result = runner.invoke(app, ["transcribe", "--model", "EXP/model.pt", wavs[0]])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1 and "\t" not in result.stdout
    assert result.stdout == hyps["test-00000"] + "\n"

    result = runner.invoke(app, ["transcribe", "--model", "EXP/model.pt", "--timestamps", *wavs])
    assert result.exit_code == 0, result.output
    for line, path in zip(result.stdout.splitlines(), wavs):
        found = json.loads(line)
        assert found["audio"] == path and found["text"] == hyps[Path(path).stem]
        assert " ".join(w["word"] for w in found["words"]) == found["text"]
        duration = sf.info(path).duration
        assert all(0 <= w["start"] < w["end"] <= duration + 0.03 for w in found["words"])
        assert [w["start"] for w in found["words"]] == sorted(w["start"] for w in found["words"])
