"""Self-describing, versioned checkpoints.

One file holds everything needed to transcribe (model settings and weights,
vocabulary, feature settings and normalisation statistics) and everything
needed to resume training (optimizer, scheduler, epoch, step, RNG states).
Only plain data and tensors are stored, so the file loads with
`torch.load(weights_only=True)`; a file that needs arbitrary unpickling is
refused, and anything else that does not load (truncated, empty, not a torch
file) is "not an asr checkpoint", never torch's own wording. Writes go to a
temporary file that is renamed over the target, so a crash, a full disk or a
folder that cannot be written never leaves a half-written checkpoint: the
previous one stays intact. `require_writable` finds an unwritable folder
before training starts.
"""

from __future__ import annotations

import errno
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import torch

from asr.errors import CheckpointError

FORMAT = "asr-checkpoint"
VERSION = 2  # 2: model.pt is a model record (asr.record) with decoding settings, no training state
READS = (1, 2)


def save(path: str | Path, payload: dict) -> None:
    """Atomically write `payload` (plain data + tensors) with format and version.

    A folder that cannot be written (read-only, a file in its place, a full disk)
    is a CheckpointError naming the path; the previous file at `path` is intact."""
    path = Path(path)
    record = {"format": FORMAT, "version": VERSION, **payload}
    try:
        write_atomic(path, lambda f: torch.save(record, f))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot write the checkpoint ({reason(e, path.parent)}); "
                              "the previous checkpoint there, if any, is intact") from None


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Create `path`'s folder, let `write` fill a temporary binary file beside `path`, sync it
    and rename it over `path`: a reader sees the old file or the new one, never half of one.
    The temporary file is removed on any failure, which is raised as it came (OSError for a
    folder that cannot take the file)."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def require_writable(folder: str | Path) -> None:
    """Make sure checkpoints can be written into `folder` (created if missing) by writing
    and removing a probe file; a CheckpointError naming the folder if not. Called before
    training starts, so an unwritable folder is found before the first epoch, not after it."""
    folder = Path(folder)
    probe = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(b"asr")
        os.unlink(probe)
    except OSError as e:
        _remove(probe)
        raise CheckpointError(f"{folder}: checkpoints cannot be written there ({reason(e, folder)}); "
                              "make it a writable folder, or train into another --out (nothing there was changed)") from None


def reason(e: OSError, folder: Path) -> str:
    """Why `folder` cannot take a file, in words (no errno numbers, no traceback)."""
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a folder"
    return e.strerror or str(e)


def _remove(tmp: str | None) -> None:
    if tmp is not None:
        try:
            os.unlink(tmp)
        except OSError:
            pass


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
        raise CheckpointError(f"{path}: {NOT_ASR}") from None
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EIO):  # the file exists but cannot be read
            raise CheckpointError(f"{path}: cannot read the checkpoint ({e.strerror or e})") from None
        raise CheckpointError(f"{path}: {NOT_ASR}") from None  # torch's reader on a cut-short zip: EINVAL
    except Exception:  # torch.load raises many types on garbage: RuntimeError, EOFError, KeyError, ...
        raise CheckpointError(f"{path}: {NOT_ASR}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an asr checkpoint (no '{FORMAT}' format tag)")
    version = record.get("version")
    if type(version) is not int:  # "1", 1.0 and True all equal 1 to a careless comparison
        raise CheckpointError(
            f"{path}: checkpoint version {version!r} (a {type(version).__name__}) is not one asr knows "
            f"(it reads integer versions {_versions()}); the file was not written by asr, or was altered"
        )
    if version not in READS:
        raise CheckpointError(
            f"{path}: checkpoint version {version} is not supported by this asr "
            f"(it reads versions {_versions()}): upgrade asr or retrain"
        )
    return record


def _versions() -> str:
    return " and ".join(map(str, READS))


NOT_ASR = "not an asr checkpoint (truncated or not written by asr?)"


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
