"""The model record: everything transcription needs, as one typed object that owns its file layout.

    record = load("exp/digits/model.pt")
    model = record.build_model()          # AcousticModel with the trained weights
    record.vocab.decode(ids), record.frame_seconds

A record holds the text, feature, model and decoding settings, the vocabulary,
the feature normalisation statistics and the weights, plus `info` (plain data
on how it was made: the training settings, the epoch or average, dev scores).
`to_dict`/`from_dict` are its only serialisation; `checkpoint` adds the format
tag and version and writes atomically. `model.pt` is a record and nothing else;
training checkpoints add a `train` entry (optimizer, schedule, RNG, counters),
which `from_dict` ignores. Version 1 files (before decoding settings existed)
load with greedy decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from asr import checkpoint
from asr.config import from_dict as settings_from_dict
from asr.config import to_dict as settings_to_dict
from asr.decoding import DecodingSettings
from asr.errors import AsrError, CheckpointError, ConfigError
from asr.features import FeatureSettings, Normalizer, UtteranceNormalizer
from asr.model import AcousticModel, ModelSettings
from asr.text import TextSettings
from asr.vocab import Vocabulary


@dataclass
class ModelRecord:
    text: TextSettings
    features: FeatureSettings
    model: ModelSettings
    vocab: Vocabulary
    normalizer: Normalizer | UtteranceNormalizer
    weights: dict[str, torch.Tensor]
    decoding: DecodingSettings = DecodingSettings()
    info: dict = field(default_factory=dict)

    @property
    def frame_seconds(self) -> float:
        """Seconds per model output frame: the feature hop times the model's subsampling."""
        return self.features.hop_ms / 1000 * self.model.subsample

    def build_model(self, device: str | torch.device = "cpu") -> AcousticModel:
        """The acoustic model with these weights, in eval mode on `device`."""
        model = AcousticModel(self.features.n_mels, len(self.vocab), self.model)
        try:
            model.load_state_dict(self.weights)
        except RuntimeError as e:
            raise CheckpointError(f"the weights do not fit the model settings ({str(e).splitlines()[0]})") from None
        return model.to(device).eval()

    def to_dict(self) -> dict:
        """Plain data and tensors (loadable with torch.load(weights_only=True))."""
        return {
            "kind": "model",
            "text": settings_to_dict(self.text), "vocab": self.vocab.to_dict(),
            "features": {"settings": settings_to_dict(self.features), "normalizer": self.normalizer.to_dict()},
            "model": {"n_inputs": self.features.n_mels, "vocab_size": len(self.vocab),
                      "settings": settings_to_dict(self.model), "state": self.weights},
            "decoding": settings_to_dict(self.decoding),
            "info": self.info,
        }

    @classmethod
    def from_dict(cls, d: dict, where: str = "checkpoint") -> "ModelRecord":
        """From `to_dict()` output, or a version 1 checkpoint (no decoding settings: greedy).
        Anything missing or inconsistent is a CheckpointError naming `where`."""
        try:
            features = d["features"]
            record = cls(
                text=settings_from_dict(TextSettings, d["text"], f"{where}: text"),
                features=settings_from_dict(FeatureSettings, features["settings"], f"{where}: features"),
                model=settings_from_dict(ModelSettings, d["model"]["settings"], f"{where}: model"),
                vocab=Vocabulary.from_dict(d["vocab"]),
                normalizer=Normalizer.from_dict(features["normalizer"]),
                weights=d["model"]["state"],
                decoding=settings_from_dict(DecodingSettings, d.get("decoding", {}), f"{where}: decoding"),
                info=d.get("info", {"settings": d.get("settings", {})}),
            )
        except ConfigError as e:
            raise CheckpointError(f"{e} (the file was altered, or written by another asr)") from None
        except (KeyError, TypeError, ValueError, AsrError) as e:
            what = f"missing {e}" if isinstance(e, KeyError) else str(e)
            raise CheckpointError(f"{where}: the checkpoint is incomplete or inconsistent ({what})") from None
        if d["model"].get("vocab_size", len(record.vocab)) != len(record.vocab) or not isinstance(record.weights, dict):
            raise CheckpointError(f"{where}: the checkpoint is inconsistent (its vocabulary and model disagree)")
        return record


def load(path: str | Path) -> ModelRecord:
    """The model record of a model.pt or training checkpoint (CheckpointError if it is not one)."""
    if Path(path).suffix.lower() == ".onnx":
        raise CheckpointError(f"{path}: an ONNX export runs in transcribe, evaluate and align only; give the model.pt "
                              "it was exported from")
    return ModelRecord.from_dict(checkpoint.load(path), str(path))


def save(path: str | Path, record: ModelRecord) -> None:
    """Write `record` atomically as a model file (no training state)."""
    checkpoint.save(path, record.to_dict())
