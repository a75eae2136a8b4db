"""Checkpoints: round trip, atomic writes, refusal of pickled objects, format checks,
unreadable files and unwritable folders as one clear CheckpointError."""

import errno
import io
import os
import zipfile
from collections import OrderedDict

import pytest
import torch

from asr import checkpoint
from asr.errors import CheckpointError


class Custom:
    """Not plain data: a safe (weights_only) load must refuse it."""

    def __init__(self, value=1):
        self.value = value


def payload() -> dict:
    return {
        "model": {"state": OrderedDict(w=torch.arange(6.0).reshape(2, 3), b=torch.tensor([1, 2], dtype=torch.long))},
        "vocab": {"tokens": ["<blank>", "|", "a"], "format": 1},
        "train": {"epoch": 3, "lr": 0.5, "best": float("inf"), "done": True, "none": None, "shape": (2, 3)},
    }


def test_round_trip(tmp_path):
    path = tmp_path / "sub" / "model.pt"  # parent folders are created
    checkpoint.save(path, payload())
    record = checkpoint.load(path)
    assert record["format"] == checkpoint.FORMAT and record["version"] == checkpoint.VERSION
    state = record["model"]["state"]
    assert torch.equal(state["w"], torch.arange(6.0).reshape(2, 3))
    assert torch.equal(state["b"], torch.tensor([1, 2])) and state["b"].dtype == torch.long
    assert record["vocab"] == {"tokens": ["<blank>", "|", "a"], "format": 1}
    assert record["train"] == {"epoch": 3, "lr": 0.5, "best": float("inf"), "done": True, "none": None, "shape": (2, 3)}


def test_save_replaces_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "model.pt"
    checkpoint.save(path, {"n": 1})
    checkpoint.save(path, {"n": 2})
    assert checkpoint.load(path)["n"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_failed_save_keeps_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "model.pt"
    checkpoint.save(path, {"n": 1})
    with pytest.raises(Exception):
        checkpoint.save(path, {"n": lambda: 2})  # lambdas cannot be pickled
    assert checkpoint.load(path)["n"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_pickled_custom_object_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "x": Custom()}, path)
    with pytest.raises(CheckpointError, match="refused") as e:
        checkpoint.load(path)
    assert str(path) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        checkpoint.load(tmp_path / "nope.pt")


@pytest.mark.parametrize("record", [{"format": "other", "version": 1}, {"version": 1}, [1, 2, 3]])
def test_wrong_format_tag(tmp_path, record):
    path = tmp_path / "x.pt"
    torch.save(record, path)
    with pytest.raises(CheckpointError, match="not an asr checkpoint"):
        checkpoint.load(path)


def test_wrong_version(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"format": checkpoint.FORMAT, "version": 99}, path)
    with pytest.raises(CheckpointError, match="version 99"):
        checkpoint.load(path)


def test_other_version_number_says_what_to_do(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"format": checkpoint.FORMAT, "version": 7}, path)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    assert str(e.value) == (f"{path}: checkpoint version 7 is not supported by this asr (it reads versions 1 and 2): "
                            "upgrade asr or retrain")


@pytest.mark.parametrize("version, shown", [("1", "'1' (a str)"), (1.0, "1.0 (a float)"), (True, "True (a bool)"),
                                            (None, "None (a NoneType)")])
def test_version_of_another_type_is_not_one_asr_knows(tmp_path, version, shown):
    path = tmp_path / "x.pt"
    torch.save({"format": checkpoint.FORMAT, "version": version, "model": {}}, path)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    message = str(e.value)
    assert message.startswith(f"{path}: checkpoint version {shown} is not one asr knows")
    assert "is not supported" not in message and "(it reads versions" not in message


def _real_checkpoint(path):
    checkpoint.save(path, {"model": {"state": {"w": torch.randn(200, 200), "b": torch.zeros(200)}}, "train": {"step": 3}})
    return path


def _foreign_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("readme.txt", "a zip, but not torch's")
        z.writestr("archive/data.txt", "still not torch's")
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["truncated", "truncated-early", "random", "text", "empty", "zeros", "foreign-zip",
                                  "bad-zip"])
def test_unreadable_file_is_not_an_asr_checkpoint(tmp_path, kind):
    real = _real_checkpoint(tmp_path / "real.pt").read_bytes()
    data = {
        "truncated": real[: len(real) // 2], "truncated-early": real[:200],
        "random": bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(1), dtype=torch.uint8).tolist()),
        "text": b"not a checkpoint\n", "empty": b"", "zeros": b"\0" * 100, "foreign-zip": _foreign_zip(),
        "bad-zip": b"PK\x03\x04 not really a zip archive",
    }[kind]
    path = tmp_path / f"{kind}.pt"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    assert str(e.value) == f"{path}: not an asr checkpoint (truncated or not written by asr?)"
    assert checkpoint.load_step(path) is None


# ---- unwritable folders ---------------------------------------------------------------------------

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_save_where_a_file_is_in_the_way(tmp_path):
    (tmp_path / "checkpoints").write_text("a file where the folder should be\n")
    path = tmp_path / "checkpoints" / "step-00000001.pt"
    with pytest.raises(CheckpointError) as e:
        checkpoint.save(path, {"n": 1})
    message = str(e.value)
    assert str(path) in message and "is a file, not a folder" in message and "intact" in message
    assert (tmp_path / "checkpoints").read_text().startswith("a file")


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
def test_save_into_a_read_only_folder(tmp_path):
    path = _real_checkpoint(tmp_path / "model.pt")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(CheckpointError, match="Permission denied.*intact") as e:
            checkpoint.save(path, {"n": 2})
        assert str(path) in str(e.value)
    finally:
        tmp_path.chmod(0o755)
    assert checkpoint.load(path)["train"]["step"] == 3


@pytest.mark.parametrize("where", ["mkstemp", "fsync", "replace"])
def test_save_failing_on_the_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch, where):
    path = _real_checkpoint(tmp_path / "model.pt")

    def fail(*args, **kw):
        raise OSError(errno.ENOSPC if where != "mkstemp" else errno.EACCES,
                      os.strerror(errno.ENOSPC if where != "mkstemp" else errno.EACCES))

    monkeypatch.setattr({"mkstemp": checkpoint.tempfile, "fsync": checkpoint.os, "replace": checkpoint.os}[where],
                        where, fail)
    with pytest.raises(CheckpointError) as e:
        checkpoint.save(path, {"n": 2})
    monkeypatch.undo()
    message = str(e.value)
    assert message.startswith(f"{path}: cannot write the checkpoint (") and "previous checkpoint" in message
    assert ("Permission denied" if where == "mkstemp" else "No space left on device") in message
    assert checkpoint.load(path)["train"]["step"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left


def test_require_writable_creates_the_folder_and_leaves_nothing(tmp_path):
    folder = tmp_path / "exp" / "checkpoints"
    checkpoint.require_writable(folder)
    assert folder.is_dir() and list(folder.iterdir()) == []
    checkpoint.require_writable(folder)  # again: it exists now


@pytest.mark.parametrize("blocker", ["checkpoints", "exp"])
def test_require_writable_with_a_file_in_the_way(tmp_path, blocker):
    if blocker == "checkpoints":
        (tmp_path / "exp").mkdir()
        (tmp_path / "exp" / "checkpoints").write_text("in the way\n")
    else:
        (tmp_path / "exp").write_text("in the way\n")
    folder = tmp_path / "exp" / "checkpoints"
    with pytest.raises(CheckpointError) as e:
        checkpoint.require_writable(folder)
    message = str(e.value)
    assert message.startswith(f"{folder}: checkpoints cannot be written there (") and "is a file, not a folder" in message
    assert "another --out" in message


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
def test_require_writable_read_only(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(CheckpointError, match="Permission denied"):
            checkpoint.require_writable(folder)
    finally:
        folder.chmod(0o755)


def test_require_writable_when_the_probe_cannot_be_written(tmp_path, monkeypatch):
    def refuse(*args, **kw):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", refuse)
    with pytest.raises(CheckpointError, match=r"checkpoints cannot be written there \(Permission denied\)"):
        checkpoint.require_writable(tmp_path / "checkpoints")


@pytest.mark.parametrize(
    "data",
    [bytes(range(256)) * 4, b"PK\x03\x04 not really a zip archive"],
    ids=["binary", "bad-zip"],
)
def test_garbage_bytes(tmp_path, data):
    path = tmp_path / "garbage.pt"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"hello this is text\n", b"RIFF\x00\x00\x00\x00WAVEfmt "],
    ids=["empty", "text", "wav-header"],
)
def test_garbage_that_escapes_as_raw_exception(tmp_path, data):
    path = tmp_path / "garbage.pt"
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        checkpoint.load(path)


def test_garbage_is_not_reported_as_refused_pickle(tmp_path):
    path = tmp_path / "zeros.pt"
    path.write_bytes(b"\0" * 100)
    with pytest.raises(CheckpointError) as e:
        checkpoint.load(path)
    assert "refused" not in str(e.value)
