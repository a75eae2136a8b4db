"""One training per output folder: `folder/.lock` holds the owner's pid and host while it runs."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Callable, Iterator

from asr.errors import AsrError


@contextlib.contextmanager
def hold(folder: Path, log: Callable[[str], None]) -> Iterator[None]:
    """Hold `folder/.lock` (this process's pid and host) while training into `folder`: a second
    training there refuses instead of mixing its files in; a lock left by a dead process on this
    host is cleared (and `log` says so); a lock from another host is respected."""
    path, me = folder / ".lock", {"pid": os.getpid(), "host": socket.gethostname()}
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # atomic: one winner
            break
        except FileExistsError:
            owner = owner_of(path)
            if owner is None or owner["host"] != me["host"] or alive(owner["pid"]):
                who = f"pid {owner['pid']} on {owner['host']}" if owner else "a process that left no pid"
                raise AsrError(f"{folder} is in use by another training ({who}): wait for it to finish or train "
                               f"into another --out (if no training is running there, delete {path})") from None
            log(f"removed a stale lock {path}: pid {owner['pid']} is no longer running")
            path.unlink(missing_ok=True)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(me) + "\n")
    try:
        yield
    finally:
        if owner_of(path) == me:
            path.unlink(missing_ok=True)


def owner_of(path: Path) -> dict | None:
    """The {"pid", "host"} a lock file names; None when it is unreadable or not a lock."""
    try:
        owner = json.loads(path.read_text())
        return {"pid": int(owner["pid"]), "host": str(owner["host"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
