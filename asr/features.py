"""Acoustic features: log-mel filterbanks, global normalisation, SpecAugment.

Shapes: a waveform is (samples,) float32 at `sample_rate` Hz; features are
(frames, n_mels) with one frame every `hop_ms` milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torchaudio.transforms as T

from asr.errors import AsrError


@dataclass(frozen=True)
class FeatureSettings:
    """Log-mel settings; sample_rate in Hz, window and hop in milliseconds."""

    sample_rate: int = 16000
    n_mels: int = 80
    win_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 20.0
    f_max: float | None = None

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    def frames(self, seconds: float) -> int:
        """Number of feature frames for `seconds` of audio (centred frames)."""
        return 1 + int(round(seconds * self.sample_rate)) // self.hop_length


@dataclass(frozen=True)
class SpecAugmentSettings:
    """Masks applied in training only. Widths are maxima: bins and frames."""

    freq_masks: int = 2
    freq_width: int = 15
    time_masks: int = 2
    time_width: int = 25
    time_ratio: float = 0.2  # no time mask wider than this share of the utterance


class LogMel(torch.nn.Module):
    """Waveform (samples,) -> log-mel features (frames, n_mels)."""

    def __init__(self, settings: FeatureSettings):
        super().__init__()
        s = settings
        if s.win_length < 2 or s.hop_length < 1:
            raise AsrError(f"window {s.win_ms} ms / hop {s.hop_ms} ms is too short at {s.sample_rate} Hz")
        n_fft = 1 << (s.win_length - 1).bit_length()
        self.settings = s
        self.mel = T.MelSpectrogram(
            sample_rate=s.sample_rate, n_fft=n_fft, win_length=s.win_length,
            hop_length=s.hop_length, f_min=s.f_min, f_max=s.f_max, n_mels=s.n_mels,
            power=2.0, center=True, pad_mode="constant", norm="slaney", mel_scale="slaney",
        )

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.log(self.mel(wave) + 1e-6).transpose(-1, -2).contiguous()


class Normalizer:
    """Global mean/variance normalisation with statistics of the training set."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        self.mean = mean.float()
        self.std = std.float().clamp_min(1e-5)

    @classmethod
    def fit(cls, features: "list[torch.Tensor]") -> "Normalizer":
        """Statistics over all frames of a list of (frames, n_mels) tensors."""
        if not features:
            raise AsrError("cannot compute feature statistics of an empty training set")
        total = sum(f.shape[0] for f in features)
        s = sum(f.double().sum(0) for f in features)
        ss = sum((f.double() ** 2).sum(0) for f in features)
        mean = s / total
        var = (ss / total - mean**2).clamp_min(0)
        return cls(mean.float(), var.sqrt().float())

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def to_dict(self) -> dict:
        return {"mean": self.mean.clone(), "std": self.std.clone()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(d["mean"], d["std"])


class SpecAugment:
    """Frequency and time masking (torchaudio) on one (frames, n_mels) tensor."""

    def __init__(self, settings: SpecAugmentSettings):
        self.settings = settings
        self.freq = T.FrequencyMasking(settings.freq_width, iid_masks=False)

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        s = self.settings
        x = features.t().unsqueeze(0)  # (1, n_mels, frames), the layout torchaudio masks
        for _ in range(s.freq_masks):
            x = self.freq(x)
        width = min(s.time_width, int(s.time_ratio * x.shape[-1]))
        if width > 0:
            for _ in range(s.time_masks):
                x = T.TimeMasking(width)(x)
        return x.squeeze(0).t().contiguous()


def settings_dict(settings: FeatureSettings) -> dict:
    return asdict(settings)
