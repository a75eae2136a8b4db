"""Waveform augmentation for training: speed perturbation and additive noise.

Every random choice is drawn from a `torch.Generator` the caller seeds per
utterance (from the run's seed, the epoch and the utterance's index), so an
augmented batch is the same whichever worker makes it and whether or not the
run was resumed in between. Nothing here runs at evaluation.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torchaudio.transforms as T

from asr import audio, manifest
from asr.errors import AsrError


@dataclass(frozen=True)
class AugmentSettings:
    """speeds: factors drawn uniformly per utterance (1.0 = unchanged; Kaldi's
    3-way perturbation is 0.9, 1.0, 1.1). noise: a manifest of noise
    recordings added at an SNR drawn from [snr_low, snr_high] dB to a
    `noise_prob` share of the utterances."""

    speeds: tuple[float, ...] = (1.0,)
    noise: str | None = None
    noise_prob: float = 0.5
    snr_low: float = 5.0
    snr_high: float = 30.0

    @property
    def active(self) -> bool:
        return self.speeds != (1.0,) or self.noise is not None

    def check(self) -> None:
        """Raise ConfigError naming the first setting out of its range."""
        from asr.errors import ConfigError

        if not all(speed > 0 for speed in self.speeds):
            raise ConfigError(f"augment.speeds must all be > 0 (1.0: unchanged), got {list(self.speeds)}")
        if not 0 <= self.noise_prob <= 1:
            raise ConfigError(f"augment.noise_prob must be between 0 and 1, got {self.noise_prob}")
        if not self.snr_low <= self.snr_high:
            raise ConfigError(f"augment.snr_low ({self.snr_low}) must be <= augment.snr_high ({self.snr_high})")


def speed_perturb(wave: torch.Tensor, sample_rate: int, factor: float) -> torch.Tensor:
    """Play (samples,) `factor` times faster (tempo and pitch, like `sox speed`)."""
    if factor == 1.0:
        return wave
    return _speed_resampler(int(round(sample_rate * factor)), sample_rate)(wave)


@functools.lru_cache(maxsize=8)
def _speed_resampler(from_rate: int, to_rate: int) -> T.Resample:
    return T.Resample(from_rate, to_rate)


def add_noise(wave: torch.Tensor, noise: torch.Tensor, snr_db: float, generator: torch.Generator) -> torch.Tensor:
    """Mix a random stretch of `noise` (looped if short) into `wave` at `snr_db` dB."""
    if noise.numel() == 0:
        return wave
    if noise.numel() < wave.numel():
        noise = noise.repeat(math.ceil(wave.numel() / noise.numel()))
    start = int(torch.randint(0, noise.numel() - wave.numel() + 1, (1,), generator=generator))
    noise = noise[start : start + wave.numel()]
    p_signal, p_noise = wave.pow(2).mean(), noise.pow(2).mean().clamp_min(1e-10)
    scale = torch.sqrt(p_signal / (p_noise * 10 ** (snr_db / 10)))
    return wave + scale * noise


class WaveAugment:
    """Speed perturbation then additive noise, as configured."""

    def __init__(self, settings: AugmentSettings, sample_rate: int):
        self.settings, self.sample_rate = settings, sample_rate
        self.noises: list[manifest.Utterance] = []
        if settings.noise is not None:
            self.noises = manifest.read(settings.noise)
            if not self.noises:
                raise AsrError(f"{settings.noise}: the noise manifest has no recordings")

    def choose_speed(self, generator: torch.Generator) -> float:
        speeds = self.settings.speeds
        return speeds[int(torch.randint(0, len(speeds), (1,), generator=generator))]

    def __call__(self, wave: torch.Tensor, speed: float, generator: torch.Generator) -> torch.Tensor:
        wave = speed_perturb(wave, self.sample_rate, speed)
        s = self.settings
        if self.noises and float(torch.rand((), generator=generator)) < s.noise_prob:
            clip = self.noises[int(torch.randint(0, len(self.noises), (1,), generator=generator))]
            noise = audio.load_utterance(clip, self.sample_rate)
            snr = s.snr_low + (s.snr_high - s.snr_low) * float(torch.rand((), generator=generator))
            wave = add_noise(wave, noise, snr, generator)
        return wave
