"""Transcribe audio files with a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from asr import audio
from asr.errors import AsrError
from asr.recognizer import Recognizer


def find_model(root: str | Path = ".") -> Path:
    """The most recently written `exp/*/model.pt` under `root`."""
    found = sorted(Path(root).glob("exp/*/model.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise AsrError(
            f"no model given and none found under {Path(root).resolve() / 'exp'} "
            "(train one with `asr run digits`, or pass --model PATH or set ASR_MODEL)"
        )
    return found[-1]


def transcribe(paths: Sequence[str | Path], model_path: str | Path, device: str = "cpu") -> list[str]:
    """One text per audio file, in order."""
    rec = Recognizer.load(model_path, device)
    rate = rec.feature_settings.sample_rate
    feats = [rec.features(audio.load(p, rate)) for p in paths]
    return rec.decode_features(feats)
