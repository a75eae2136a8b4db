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


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory) -> Path:
    """24 train / 4 dev / 4 test synthetic digit utterances (eSpeak NG), made once per session."""
    from asr.corpora import digits

    out = tmp_path_factory.mktemp("tiny_digits")
    digits.prepare(out, train=24, dev=4, test=4, workers=1)
    return out
