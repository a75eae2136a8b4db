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


@pytest.fixture(scope="session")
def digits_corpus(tmp_path_factory) -> Path:
    """800 train / 20 dev / 60 test synthetic digit strings (test voices unseen in training)."""
    from asr.corpora import digits

    data = tmp_path_factory.mktemp("digits_corpus")
    digits.prepare(data, train=800, dev=20, test=60, workers=1)
    return data


@pytest.fixture(scope="session")
def digits_model(digits_corpus, tmp_path_factory) -> Path:
    """A small character model trained on `digits_corpus` (about a minute on 2 cores): its model.pt."""
    from asr import config
    from asr.train import train

    settings = config.load(None, [
        "features.n_mels=40", "model.cell=gru", "model.hidden=128", "model.layers=2", "model.subsample=3",
        "train.epochs=16", "train.max_frames=12000", "train.max_batch=32", "train.lr=0.003",
        "train.warmup_steps=50", "train.specaugment=false",
    ])
    return train(digits_corpus, settings, tmp_path_factory.mktemp("digits_model")).model_path
