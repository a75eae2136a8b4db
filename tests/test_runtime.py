"""The install: torch and torchaudio load together, and a broken pair is one readable error."""

import builtins
from importlib import metadata
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from asr import runtime
from asr.errors import AsrError


def test_torchaudio_compiled_extension_loads():
    """What every command needs; fails with the repair instruction when the pair does not match."""
    try:
        runtime.require_torchaudio()
    except AsrError as e:  # pragma: no cover - only on a broken install
        pytest.fail(str(e))
    import torchaudio.functional as F

    # forced_align runs in libtorchaudio: a stub import would not get this far.
    log_probs = torch.log_softmax(torch.randn(1, 6, 3), dim=-1)
    frames, _ = F.forced_align(log_probs, torch.tensor([[1, 2]], dtype=torch.int32), blank=0)
    assert frames.shape == (1, 6)


def test_installed_pair_is_the_pinned_pair():
    """pyproject.toml pins PAIR; an install that drifted from it is the mystery this test names."""
    assert (metadata.version("torch").split("+")[0], metadata.version("torchaudio").split("+")[0]) == runtime.PAIR


def test_pyproject_pins_the_pair_exactly():
    text = (Path(runtime.__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert f'"torch=={runtime.PAIR[0]}"' in text and f'"torchaudio=={runtime.PAIR[1]}"' in text


def test_broken_torchaudio_is_one_line_naming_the_fix(monkeypatch):
    real_import = builtins.__import__

    def broken(name, *args, **kwargs):
        if name.startswith("torchaudio"):
            raise OSError("libtorchaudio.so: undefined symbol: torch_exception_get_what_without_backtrace")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", broken)
    with pytest.raises(AsrError) as e:
        runtime.require_torchaudio()
    message = str(e.value)
    assert "undefined symbol" in message and "matched pair" in message
    assert f"pip install 'torch=={runtime.PAIR[0]}' 'torchaudio=={runtime.PAIR[1]}'" in message


def test_cli_reports_a_broken_torchaudio_without_traceback(monkeypatch):
    from asr_cli.main import app

    def broken():
        raise AsrError("torchaudio 2.11.1 cannot load with torch 2.11.0 (undefined symbol: x); ...")

    monkeypatch.setattr(runtime, "require_torchaudio", broken)
    result = CliRunner().invoke(app, ["stats", __file__])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: torchaudio 2.11.1 cannot load")
    assert "Traceback" not in result.stderr
