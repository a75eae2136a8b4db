"""Put the repository root on sys.path so that tests import `asr`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Small tensors on a shared 2-core machine: one intra-op thread avoids
    spin-wait contention that makes tiny LSTM steps 100x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
