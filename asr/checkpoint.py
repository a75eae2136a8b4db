"""Self-describing, versioned checkpoints.

One file holds everything needed to transcribe (model settings and weights,
vocabulary, feature settings and normalisation statistics) and everything
needed to resume training (optimizer, scheduler, epoch, step, RNG states).
Only plain data and tensors are stored, so the file loads with
`torch.load(weights_only=True)`; a file that needs arbitrary unpickling is
refused. Writes go to a temporary file that is renamed over the target, so a
crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from pathlib import Path

import torch

from asr.errors import CheckpointError

FORMAT = "asr-checkpoint"
VERSION = 1


def save(path: str | Path, payload: dict) -> None:
    """Atomically write `payload` (plain data + tensors) with format and version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "version": VERSION, **payload}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint safely (weights_only) and check its format and version."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        record = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if found:
            raise CheckpointError(
                f"{path}: refused: the file holds a pickled Python object ({found.group(1)}) that a "
                "safe load will not execute; only checkpoints written by asr are accepted"
            ) from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({_first_line(e)})") from None
    except Exception as e:  # torch.load raises many types on garbage: KeyError, IndexError, ...
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an asr checkpoint (no '{FORMAT}' format tag)")
    if record.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {record.get('version')} is not supported by this asr "
            f"(it reads version {VERSION}); upgrade asr or retrain"
        )
    return record


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__


def list_checkpoints(folder: str | Path, prefix: str) -> list[Path]:
    """`folder/<prefix>*.pt`, oldest first (names carry zero-padded numbers)."""
    folder = Path(folder)
    return sorted(folder.glob(f"{prefix}*.pt")) if folder.is_dir() else []


def newest(folder: str | Path) -> Path | None:
    """The checkpoint in `folder` written at the latest training step."""
    found = [(load_step(p), p) for p in list_checkpoints(folder, "")]
    found = [(s, p) for s, p in found if s is not None]
    return max(found, key=lambda sp: (sp[0], not sp[1].name.startswith("step-")))[1] if found else None


def load_step(path: Path) -> int | None:
    """Training step of a checkpoint, or None if it cannot be read."""
    try:
        return int(load(path)["train"]["step"])
    except (CheckpointError, KeyError, TypeError, ValueError):
        return None


def prune(folder: str | Path, prefix: str, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints named `<prefix>*.pt`."""
    for old in list_checkpoints(folder, prefix)[: -max(keep, 1)]:
        old.unlink(missing_ok=True)


def average_weights(paths: list[Path]) -> dict:
    """Element-wise mean of the model weights of several checkpoints."""
    states = [load(p)["model"]["state"] for p in paths]
    return {k: sum(s[k].double() for s in states).div(len(states)).to(states[0][k].dtype) for k in states[0]}
