"""Checkpoints: round trip, atomic writes, refusal of pickled objects, format checks."""

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
