"""Exit codes follow the README in every command: 2 when the command line names something that
does not exist (or leaves out --src), 1 for an explained failure, each as one `error:` line."""

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from asr_cli.main import app


@pytest.fixture
def files(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(8000)).astype(np.float32), 16000)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "a", "audio": "a.wav", "duration": 0.5, "text": "a"}) + "\n")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(bytes(range(256)) * 4)
    data = tmp_path / "data"
    data.mkdir()
    for split in ("train", "dev"):
        (data / f"{split}.jsonl").write_text(json.dumps({"id": "a", "audio": str(wav), "duration": 0.5, "text": "a"}) + "\n")
    return {"wav": str(wav), "manifest": str(manifest), "garbage": str(garbage), "data": str(data),
            "missing": str(tmp_path / "missing.pt"), "out": str(tmp_path / "out")}


CASES = [
    # (name, args, exit code, words the error names)
    ("prep unknown corpus", ["prep", "nosuch", "{out}"], 2, ["unknown corpus 'nosuch'"]),
    ("prep unknown option", ["prep", "digits", "{out}", "--set", "trian=3"], 2, ["unknown option(s) trian"]),
    ("prep missing --src", ["prep", "yesno", "{out}"], 2, ["yesno needs --src"]),
    ("prep --src not a folder", ["prep", "yesno", "{out}", "--src", "{missing}"], 2, ["no such folder"]),
    ("prep option of the wrong type", ["prep", "digits", "{out}", "--set", "train=many"], 1, ["option train must be int"]),
    ("run unknown recipe", ["run", "nosuch"], 2, ["unknown recipe 'nosuch'"]),
    ("run missing --src", ["run", "yesno", "--quiet"], 2, ["yesno needs --src"]),
    ("check missing --model", ["check", "{manifest}", "--model", "{missing}"], 2, ["--model", "missing.pt", "no such model file"]),
    ("evaluate missing --model", ["evaluate", "{manifest}", "--model", "{missing}"], 2, ["--model", "missing.pt", "no such model file"]),
    ("transcribe missing --model", ["transcribe", "{wav}", "--model", "{missing}"], 2, ["--model", "missing.pt", "no such model file"]),
    ("check bad --model", ["check", "{manifest}", "--model", "{garbage}"], 1, ["garbage.pt"]),
    ("evaluate bad --model", ["evaluate", "{manifest}", "--model", "{garbage}"], 1, ["garbage.pt"]),
    ("transcribe bad --model", ["transcribe", "{wav}", "--model", "{garbage}"], 1, ["garbage.pt"]),
    ("train unknown setting", ["train", "{data}", "--set", "train.epoch=1", "--out", "{out}"], 1, ["unknown setting(s) epoch"]),
    ("train setting out of range", ["train", "{data}", "--set", "train.accumulate=0", "--out", "{out}"], 1, ["train.accumulate"]),
    ("train --set not key=value", ["train", "{data}", "--set", "epochs", "--out", "{out}"], 1, ["key=value"]),
    ("run setting out of range", ["run", "digits", "--set", "train.epochs=-1"], 1, ["train.epochs"]),
    ("evaluate malformed --device", ["evaluate", "{manifest}", "--model", "{garbage}", "--device", "tpu"], 2,
     ["--device must be auto, cpu, cuda or cuda:N, not 'tpu'"]),
    ("transcribe malformed --device", ["transcribe", "{wav}", "--model", "{garbage}", "--device", "gpu0"], 2,
     ["--device must be"]),
    ("transcribe absent GPU", ["transcribe", "{wav}", "--model", "{garbage}", "--device", "cuda:63"], 1,
     ["--device cuda:63", "CUDA GPU(s)", "use --device cpu"]),
    ("train malformed --device", ["train", "{data}", "--device", "tpu", "--out", "{out}"], 1, ["train.device must be"]),
]


@pytest.mark.parametrize("name,args,code,words", CASES, ids=[c[0] for c in CASES])
def test_exit_codes(files, tmp_path, monkeypatch, name, args, code, words):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASR_MODEL", raising=False)
    result = CliRunner().invoke(app, [a.format(**files) for a in args])
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    message = " ".join(result.stderr.split())
    assert message.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr  # one error line (rich may wrap it)
    for word in words:
        assert word in message
    assert not (tmp_path / "out").exists() and not (tmp_path / "data" / "digits").exists()
