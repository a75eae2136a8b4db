"""Reading audio: the only module that touches audio files.

Everything is returned as a mono float32 tensor of shape (samples,) in [-1, 1]
at the sample rate the caller asks for. soundfile (libsndfile) reads WAV,
FLAC, OGG/Vorbis, MP3 and NIST SPHERE; torchaudio resamples.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.transforms as T

from asr.errors import AudioError


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of an audio file: rate in Hz, length in samples and seconds."""

    sample_rate: int
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def info(path: str | Path) -> AudioInfo:
    """Read only the header of `path` (no decoding)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        i = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        raise AudioError(f"{path}: not a readable audio file ({_reason(e)})") from None
    return AudioInfo(sample_rate=int(i.samplerate), frames=int(i.frames), channels=int(i.channels))


def load(
    path: str | Path,
    sample_rate: int,
    offset: float = 0.0,
    duration: float | None = None,
) -> torch.Tensor:
    """Read `path` as mono float32 at `sample_rate` Hz.

    Args:
        path: audio file in any format libsndfile reads.
        sample_rate: the rate wanted, Hz; the file is resampled if it differs.
        offset: start of the segment, seconds from the start of the file.
        duration: length of the segment, seconds; None reads to the end.

    Returns:
        (samples,) float32 tensor.

    Raises:
        AudioError naming the file if it is missing, unreadable or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        with sf.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            start = int(round(offset * rate))
            if start:
                f.seek(min(start, f.frames))
            n = -1 if duration is None else int(round(duration * rate))
            data = f.read(frames=n, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        raise AudioError(f"{path}: not a readable audio file ({_reason(e)})") from None
    if data.size == 0:
        where = f" at offset {offset:g} s" if offset else ""
        raise AudioError(f"{path}: no audio samples{where} (the file or segment is empty)")
    wave = torch.from_numpy(np.ascontiguousarray(data.mean(axis=1)))
    return resample(wave, rate, sample_rate)


def resample(wave: torch.Tensor, from_rate: int, to_rate: int) -> torch.Tensor:
    """Resample a (samples,) or (..., samples) tensor between integer rates."""
    if from_rate == to_rate:
        return wave
    return _resampler(from_rate, to_rate)(wave)


@functools.lru_cache(maxsize=16)
def _resampler(from_rate: int, to_rate: int) -> T.Resample:
    # Resample precomputes its sinc kernel: building it costs more than
    # applying it to a short utterance, so keep one per rate pair.
    return T.Resample(from_rate, to_rate)


def write(path: str | Path, wave: torch.Tensor | np.ndarray, sample_rate: int) -> None:
    """Write a mono (samples,) signal to `path` as 16-bit PCM (format from the suffix)."""
    if isinstance(wave, torch.Tensor):
        wave = wave.detach().cpu().numpy()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.clip(wave, -1.0, 1.0), sample_rate, subtype="PCM_16")


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    return text.replace("Error opening ", "").strip()
