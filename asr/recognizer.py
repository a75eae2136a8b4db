"""A trained model ready to use: checkpoint -> features -> model -> decoder -> text."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from asr import checkpoint
from asr.config import from_dict
from asr.data import collate, frame_batches
from asr.decoding import Decoder, GreedyDecoder
from asr.errors import CheckpointError
from asr.features import FeatureSettings, LogMel, Normalizer
from asr.model import AcousticModel, ModelSettings
from asr.text import TextSettings, Vocabulary


class Recognizer:
    """Everything needed to transcribe, rebuilt from one checkpoint file."""

    def __init__(self, record: dict, device: str | torch.device = "cpu", decoder: Decoder | None = None):
        try:
            self.vocab = Vocabulary.from_dict(record["vocab"])
            self.text_settings = from_dict(TextSettings, record["text"], "checkpoint text")
            self.feature_settings = from_dict(FeatureSettings, record["features"]["settings"], "checkpoint features")
            self.normalizer = Normalizer.from_dict(record["features"]["normalizer"])
            m = record["model"]
            self.model = AcousticModel(m["n_inputs"], m["vocab_size"], from_dict(ModelSettings, m["settings"], "checkpoint model"))
            self.model.load_state_dict(m["state"])
        except (KeyError, TypeError, RuntimeError) as e:
            raise CheckpointError(f"checkpoint is incomplete or inconsistent ({type(e).__name__}: {e})") from None
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        self.logmel = LogMel(self.feature_settings)
        self.decoder = decoder or GreedyDecoder(self.vocab.blank)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "Recognizer":
        return cls(checkpoint.load(path), device)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(samples,) at the model's sample rate -> normalised (frames, n_mels)."""
        return self.normalizer(self.logmel(wave))

    def decode_features(self, features: Sequence[torch.Tensor]) -> list[str]:
        """Texts of normalised (frames, n_mels) feature tensors, in input order."""
        return decode_features(self.model, self.decoder, self.vocab, features, self.device)


@torch.no_grad()
def decode_features(
    model: AcousticModel, decoder: Decoder, vocab: Vocabulary,
    features: Sequence[torch.Tensor], device: torch.device, max_frames: int = 60000,
) -> list[str]:
    """Texts of normalised feature tensors, batched by length, in input order."""
    was_training = model.training
    model.eval()
    texts: list[str] = [""] * len(features)
    lengths = [f.shape[0] for f in features]
    for idx in frame_batches(lengths, max_frames=max_frames, max_batch=64):
        batch = collate([features[i] for i in idx], [[] for _ in idx], [str(i) for i in idx])
        log_probs, out_lengths = model(batch.features.to(device), batch.feature_lengths)
        for i, n_best in zip(idx, decoder(log_probs, out_lengths)):
            texts[i] = vocab.decode(n_best[0].tokens)
    model.train(was_training)
    return texts
