"""Transcribe audio files with a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from asr import audio
from asr.errors import AsrError
from asr.recognizer import Recognizer, Result


def find_model(root: str | Path = ".") -> Path:
    """The most recently written `exp/*/model.pt` under `root`."""
    found = sorted(Path(root).glob("exp/*/model.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise AsrError(
            f"no model given and none found under {Path(root).resolve() / 'exp'} "
            "(train one with `asr run digits`, or pass --model PATH or set ASR_MODEL)"
        )
    return found[-1]


def transcribe(paths: Sequence[str | Path], model_path: str | Path, device: str = "cpu", **decoding) -> list[Result]:
    """One Result (text, words with start/end seconds, hypotheses) per audio file, in order;
    `decoding` keys override the model's decoding settings."""
    rec = Recognizer.load(model_path, device, **decoding)
    rate = rec.feature_settings.sample_rate
    feats = [rec.features(audio.load(p, rate)) for p in paths]
    return rec.recognize(feats)
