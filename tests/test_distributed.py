"""DistributedDataParallel with 2 CPU processes (gloo), launched by torchrun, against one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from asr import checkpoint
from asr.distributed import Distributed

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [
    "model.hidden=16", "model.layers=2", "model.subsample=2", "model.dropout=0", "features.n_mels=20",
    "train.max_batch=6", "train.bucket_size=24", "train.max_frames=100000", "train.warmup_steps=2",
    "train.epochs=2", "augment.speeds=[0.9,1.0,1.1]",
]


def test_shard_gives_every_rank_the_same_number_of_batches():
    batches = [[i] for i in range(7)]
    shards = [Distributed(r, 2).shard(batches) for r in range(2)]
    assert shards == [[[0], [2], [4]], [[1], [3], [5]]]
    assert Distributed().shard(batches) == batches


@pytest.mark.slow
def test_two_gloo_processes_match_one_process_accumulating_two_batches(tiny_digits, tmp_path):
    sets = [a for kv in SETTINGS for a in ("--set", kv)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "asr_cli.main",
         "train", str(tiny_digits), "-q", "--out", str(tmp_path / "ddp"), *sets],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = subprocess.run(
        [sys.executable, "-m", "asr_cli.main", "train", str(tiny_digits), "-q", "--out", str(tmp_path / "one"),
         *sets, "--set", "train.accumulate=2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert single.returncode == 0, single.stderr[-3000:]
    a = checkpoint.load(tmp_path / "ddp" / "checkpoints" / "epoch-002.pt")
    b = checkpoint.load(tmp_path / "one" / "checkpoints" / "epoch-002.pt")
    assert a["train"]["step"] == b["train"]["step"] == 4
    assert a["train"]["world_size"] == 2
    for k, v in a["model"]["state"].items():
        assert torch.allclose(v, b["model"]["state"][k], atol=1e-5), k
