"""Small untrained models written as model.pt, for tests that need a model to run end to end
but not a good one."""

from __future__ import annotations

from pathlib import Path

import torch

from asr import checkpoint
from asr.config import to_dict
from asr.features import FeatureSettings, Normalizer
from asr.model import AcousticModel, ModelSettings
from asr.text import TextSettings
from asr.vocab import Vocabulary


def untrained_model(path: Path, texts: list[str], n_mels: int = 20,
                    settings: ModelSettings = ModelSettings(hidden=8, layers=1)) -> Path:
    """Write a model.pt at `path`: characters of `texts`, `n_mels` log-mels with identity global
    normalisation, weights drawn with seed 0 (a version 1 record: greedy decoding)."""
    fs = FeatureSettings(n_mels=n_mels)
    vocab = Vocabulary.build(texts)
    torch.manual_seed(0)
    net = AcousticModel(fs.n_mels, len(vocab), settings)
    checkpoint.save(path, {
        "vocab": vocab.to_dict(), "text": to_dict(TextSettings()),
        "features": {"settings": to_dict(fs),
                     "normalizer": Normalizer(torch.zeros(n_mels), torch.ones(n_mels)).to_dict()},
        "model": {"n_inputs": fs.n_mels, "vocab_size": len(vocab), "settings": to_dict(settings),
                  "state": net.state_dict()},
    })
    return path
