"""`asr compare A B [MANIFEST]`: results files written by hand, a model against its own results,
usage errors and explained failures."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from asr_cli.main import app
from models import untrained_model
from typer.testing import CliRunner

from asr import manifest
from asr.manifest import Utterance


def write_results(path: Path, errors: list[int]) -> Path:
    """Results of utterances "w0 w1 w2 w3" whose hypotheses get the first `e` words wrong."""
    lines = []
    for i, e in enumerate(errors):
        ref = ["w0", "w1", "w2", "w3"]
        hyp = ["x"] * e + ref[e:]
        lines.append(json.dumps({"id": f"u{i}", "ref": " ".join(ref), "hyp": " ".join(hyp), "correct": e == 0}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def clear_win(tmp_path):
    return (write_results(tmp_path / "a.jsonl", [1] * 30 + [0] * 10),
            write_results(tmp_path / "b.jsonl", [0] * 40))


def test_two_results_files_as_json(clear_win):
    a, b = clear_win
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["a"]["errors"] == 30 and d["b"]["errors"] == 0 and d["utterances"] == 40
    assert (d["b_better"], d["a_better"], d["ties"]) == (30, 0, 10)
    assert d["bootstrap_p"] < 0.01 and d["sign_p"] == 2 / 2 ** 30
    assert d["verdict"] == "B is better than A: WER 0.00 % vs 18.75 %, p < 0.001 (paired bootstrap)"
    assert d["sources"] == {"a": str(a), "b": str(b)}


def test_two_results_files_as_tables(clear_win):
    a, b = clear_win
    result = CliRunner().invoke(app, ["compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "B is better than A: WER 0.00 % vs 18.75 %, p < 0.001 (paired bootstrap)"
    assert "paired bootstrap" in result.stdout and "sign test" in result.stdout and "18.75%" in result.stdout


def test_the_same_results_twice_are_no_different(clear_win):
    a, _ = clear_win
    result = CliRunner().invoke(app, ["compare", str(a), str(a), "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["bootstrap_p"] == 1.0 and d["sign_p"] == 1.0 and d["verdict"].startswith("no significant difference")


def test_a_model_without_a_manifest_is_a_usage_error(clear_win, tmp_path):
    model = tmp_path / "model.pt"
    model.write_bytes(b"not used")
    result = CliRunner().invoke(app, ["compare", str(clear_win[0]), str(model)])
    assert result.exit_code == 2 and result.stdout == ""
    assert "B (" in result.stderr and "is a model: give the MANIFEST" in " ".join(result.stderr.split())


def test_results_of_other_utterances_exit_1(clear_win, tmp_path):
    other = write_results(tmp_path / "other.jsonl", [0] * 3)
    result = CliRunner().invoke(app, ["compare", str(clear_win[0]), str(other)])
    assert result.exit_code == 1 and result.stdout == ""
    assert "error: A and B are results of different utterances" in " ".join(result.stderr.split())


def test_a_manifest_in_place_of_results_is_explained(clear_win, tmp_path):
    m = tmp_path / "test.jsonl"
    manifest.write(m, [Utterance("u0", str(tmp_path / "a.wav"), 1.0, "yes")])
    result = CliRunner().invoke(app, ["compare", str(m), str(clear_win[1])])
    assert result.exit_code == 1
    assert "not a per-utterance result of `asr evaluate`" in " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """An untrained model: enough to decode something."""
    return untrained_model(tmp_path_factory.mktemp("exp") / "model.pt", ["yes no"])


def test_a_model_against_its_own_results_and_against_itself(model, tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32), 16000)
    m = tmp_path / "test.jsonl"
    manifest.write(m, [Utterance(f"u{i}", str(wav), 1.0, t) for i, t in enumerate(["yes no", "no", "yes"])])
    runner = CliRunner()
    ev = runner.invoke(app, ["evaluate", str(m), "--model", str(model), "--out", str(tmp_path / "r.jsonl"), "-q",
                             "--device", "cpu"])
    assert ev.exit_code == 0, ev.output
    result = runner.invoke(app, ["compare", str(tmp_path / "r.jsonl"), str(model), str(m), "--json", "-q",
                                 "--device", "cpu"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["utterances"] == 3 and d["a"]["errors"] == d["b"]["errors"] and d["ties"] == 3
    # one model, two decoders; --out keeps both results files
    result = runner.invoke(app, ["compare", str(model), str(model), str(m), "--decoder-a", "greedy", "--decoder-b",
                                 "beam", "--out", str(tmp_path / "cmp"), "--json", "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["utterances"] == 3
    assert sorted(p.name for p in (tmp_path / "cmp").iterdir()) == ["a.jsonl", "b.jsonl"]


def test_help():
    result = CliRunner().invoke(app, ["compare", "--help"])
    flat = " ".join(result.stdout.split())
    assert result.exit_code == 0 and "bootstrap" in flat and "Example: asr compare" in flat
