"""Reading audio: the only module that touches audio files.

Everything is returned as a mono float32 tensor of shape (samples,) in [-1, 1]
at the sample rate the caller asks for (channels averaged). soundfile
(libsndfile) reads WAV (16/24/32-bit PCM, float), FLAC, OGG/Vorbis, MP3 and
NIST SPHERE; torchaudio resamples. A file that cannot be read (missing, a
folder, empty, corrupt, not audio, no samples) is an AudioError naming it and
the reason, never another exception.

`load_utterance` reads a manifest utterance: its segment when it has an
offset, else the whole file; its errors also name the manifest line.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile as sf
import torch
import torchaudio.transforms as T

from asr.errors import AudioError

if TYPE_CHECKING:
    from asr.manifest import Utterance

# What libsndfile and numpy raise on files they cannot read.
READ_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError, EOFError, MemoryError)


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
    path = _existing(path)
    try:
        i = sf.info(str(path))
    except READ_ERRORS as e:
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
    path = _existing(path)
    try:
        with sf.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            start = int(round(offset * rate))
            if start:
                f.seek(min(start, f.frames))
            n = -1 if duration is None else int(round(duration * rate))
            data = f.read(frames=n, dtype="float32", always_2d=True)
    except READ_ERRORS as e:
        raise AudioError(f"{path}: not a readable audio file ({_reason(e)})") from None
    if data.size == 0:
        where = f" at offset {offset:g} s" if offset else ""
        raise AudioError(f"{path}: no audio samples{where} (the file or segment is empty)")
    wave = resample(torch.from_numpy(np.ascontiguousarray(data.mean(axis=1))), rate, sample_rate)
    if wave.numel() == 0:
        raise AudioError(f"{path}: too short: {data.shape[0]} sample(s) at {rate} Hz leave none at {sample_rate} Hz")
    return wave


def load_utterance(utt: Utterance, sample_rate: int) -> torch.Tensor:
    """The samples of one manifest utterance, mono float32 (samples,) at `sample_rate`:
    its segment (`duration` seconds from `offset`) when `offset` is set, 0 included,
    else the whole file (not cut to the manifest's `duration`).

    Raises AudioError naming the manifest line (`utt.where`) and the audio file.
    """
    try:
        if utt.offset is None:
            return load(utt.audio, sample_rate)
        return load(utt.audio, sample_rate, offset=utt.offset, duration=utt.duration)
    except AudioError as e:
        if not utt.where:
            raise
        what = "fix the path" if not Path(utt.audio).exists() else "replace the file"
        raise AudioError(f"{utt.where}: {e} ({what} or drop the line with `asr check --fix`)") from None


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


def _existing(path: str | Path) -> Path:
    """`path` as a Path if it is a non-empty file, else AudioError saying what it is."""
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: a folder, not an audio file")
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        size = path.stat().st_size
    except OSError as e:
        raise AudioError(f"{path}: cannot read it ({e.strerror})") from None
    if size == 0:
        raise AudioError(f"{path}: not a readable audio file (the file is empty: 0 bytes)")
    return path


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    return text.replace("Error opening ", "").strip()
