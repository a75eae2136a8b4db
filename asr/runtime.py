"""The installed torch/torchaudio pair: versions, and a readable error when they do not load together.

torchaudio ships a compiled library built against one exact torch release. A
torchaudio patch release can need a newer torch than the one installed (2.11.1
needs more than torch 2.11.0: `undefined symbol ...` on import), so the two are
pinned together in pyproject.toml and this module turns the loader's traceback
into one line that says what to reinstall.
"""

from __future__ import annotations

import platform
from importlib import metadata

from asr.errors import AsrError

PAIR = ("2.11.0", "2.11.0")  # torch, torchaudio: the pair pyproject.toml pins


def versions() -> dict[str, str]:
    """Installed versions of asr's core packages ('not installed' where absent)."""
    out = {"python": platform.python_version()}
    for name in ("torch", "torchaudio"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def require_torchaudio() -> None:
    """Import torchaudio and its compiled extension, or raise AsrError saying how to repair the install."""
    try:
        import torchaudio  # noqa: F401  (loads libtorchaudio)
        import torchaudio.functional  # noqa: F401
        import torchaudio.transforms  # noqa: F401
    except (ImportError, OSError) as e:
        v = versions()
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise AsrError(
            f"torchaudio {v['torchaudio']} cannot load with torch {v['torch']} ({reason[:200]}); torch and "
            f"torchaudio must be a matched pair: pip install 'torch=={PAIR[0]}' 'torchaudio=={PAIR[1]}'"
        ) from None


DEVICE_NAMES = "auto, cpu, cuda or cuda:N"


def resolve_device(name: str):
    """The torch.device for a `--device` value: auto (a GPU when there is one), cpu, cuda, cuda:N.
    A malformed name is a UsageError; a GPU asked for where there is none, an AsrError."""
    import re

    import torch

    from asr.errors import UsageError
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
        raise UsageError(f"--device must be {DEVICE_NAMES}, not {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name.partition(":")[2] or 0)
        if index >= count:
            raise AsrError(f"--device {name}: this machine has {count or 'no'} CUDA GPU(s) torch can use "
                           "(use --device cpu, or auto)")
    return torch.device(name)
