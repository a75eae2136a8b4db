"""Acoustic features: log-mel filterbanks, global normalisation, SpecAugment.

Shapes: a waveform is (samples,) float32 at `sample_rate` Hz; features are
(frames, n_mels) with one frame every `hop_ms` milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    # global: mean/std of each bin over the training set (one recording setup);
    # utterance: each utterance's own mean/std (CMVN), for speakers and microphones unseen in training
    normalize: str = "global"

    @property
    def win_length(self) -> int:
        return int(round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        return int(round(self.sample_rate * self.hop_ms / 1000))

    def frames(self, seconds: float) -> int:
        """Number of feature frames for `seconds` of audio (centred frames)."""
        return 1 + int(round(seconds * self.sample_rate)) // self.hop_length

    def check(self) -> None:
        """Raise ConfigError naming the first setting out of its range."""
        from asr.errors import ConfigError

        if self.sample_rate < 1:
            raise ConfigError(f"features.sample_rate must be >= 1 Hz, got {self.sample_rate}")
        if self.n_mels < 1:
            raise ConfigError(f"features.n_mels must be >= 1, got {self.n_mels}")
        if not (self.win_ms > 0 and self.hop_ms > 0):
            raise ConfigError(f"features.win_ms and features.hop_ms must be > 0, got {self.win_ms} and {self.hop_ms}")
        if self.hop_ms > self.win_ms:
            raise ConfigError(f"features.hop_ms ({self.hop_ms}) must be <= features.win_ms ({self.win_ms}): "
                              "frames would skip audio")
        if self.win_length < 2 or self.hop_length < 1:
            raise ConfigError(f"features.win_ms {self.win_ms} / features.hop_ms {self.hop_ms} is too short at "
                              f"{self.sample_rate} Hz (a window needs 2 samples, a hop 1)")
        nyquist = self.sample_rate / 2
        top = nyquist if self.f_max is None else self.f_max
        if self.f_max is not None and not 0 < self.f_max <= nyquist:
            raise ConfigError(f"features.f_max must be > 0 and <= half of features.sample_rate ({nyquist:g} Hz), "
                              f"got {self.f_max}")
        if not 0 <= self.f_min < top:
            raise ConfigError(f"features.f_min must be >= 0 and below features.f_max ({top:g} Hz), got {self.f_min}")
        bins = (1 << (self.win_length - 1).bit_length()) // 2 + 1
        if self.n_mels > bins:
            raise ConfigError(f"features.n_mels ({self.n_mels}) must be <= {bins}, the frequency bins of a "
                              f"{self.win_ms} ms window at {self.sample_rate} Hz (fewer mels, or a longer window)")
        if self.normalize not in NORMALIZATIONS:
            raise ConfigError(f"features.normalize must be one of {', '.join(NORMALIZATIONS)}, not {self.normalize!r}")


@dataclass(frozen=True)
class SpecAugmentSettings:
    """Masks applied in training only. Widths are maxima: bins and frames."""

    freq_masks: int = 2
    freq_width: int = 15
    time_masks: int = 2
    time_width: int = 25
    time_ratio: float = 0.2  # no time mask wider than this share of the utterance

    def check(self) -> None:
        """Raise ConfigError naming the first setting out of its range."""
        from asr.errors import ConfigError

        for name in ("freq_masks", "freq_width", "time_masks", "time_width"):
            if getattr(self, name) < 0:
                raise ConfigError(f"specaugment.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.time_ratio <= 1:
            raise ConfigError(f"specaugment.time_ratio must be between 0 and 1, got {self.time_ratio}")


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


NORMALIZATIONS = ("global", "utterance")


class Normalizer:
    """Global mean/variance normalisation with statistics of the training set."""

    kind = "global"

    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        self.mean = mean.float()
        self.std = std.float().clamp_min(1e-5)

    @classmethod
    def fit(cls, features: "list[torch.Tensor]") -> "Normalizer":
        """Statistics over all frames of a list of (frames, n_mels) tensors.

        Tensors holding NaN or infinity (a corrupt recording) are left out, so
        one bad file cannot poison the normalisation of every utterance.
        """
        if not features:
            raise AsrError("cannot compute feature statistics of an empty training set")
        features = [f for f in features if torch.isfinite(f).all()]
        if not features:
            raise AsrError("no training utterance gave finite features (corrupt audio? run `asr check` on the manifest)")
        total = sum(f.shape[0] for f in features)
        s = sum(f.double().sum(0) for f in features)
        ss = sum((f.double() ** 2).sum(0) for f in features)
        mean = s / total
        var = (ss / total - mean**2).clamp_min(0)
        return cls(mean.float(), var.sqrt().float())

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.std

    def to_dict(self) -> dict:
        return {"kind": self.kind, "mean": self.mean.clone(), "std": self.std.clone()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer | UtteranceNormalizer":
        """Either kind, from its to_dict() (checkpoints before `kind` existed hold global statistics)."""
        if d.get("kind", "global") == UtteranceNormalizer.kind:
            return UtteranceNormalizer()
        return cls(d["mean"], d["std"])


class UtteranceNormalizer:
    """Per-utterance mean/variance normalisation (CMVN) of each mel bin.

    Subtracting an utterance's own mean removes its microphone and room (a
    constant offset in the log domain) and its loudness; global statistics of
    a handful of training speakers cannot do that for a new speaker. A bin
    whose deviation is under `min_std` (silence, a bin above the band) is
    scaled as if it were `min_std`, so it is not blown up into noise.
    """

    kind = "utterance"
    min_std = 0.1

    def __call__(self, features: torch.Tensor) -> torch.Tensor:
        mean = features.mean(0, keepdim=True)
        std = features.std(0, unbiased=False, keepdim=True).clamp_min(self.min_std) if features.shape[0] > 1 else 1.0
        return (features - mean) / std

    def to_dict(self) -> dict:
        return {"kind": self.kind}


class SpecAugment:
    """Frequency and time masking of one (frames, n_mels) tensor.

    Random choices come from the generator passed in, never from the global
    RNG, so augmentation is reproducible per utterance and epoch.
    """

    def __init__(self, settings: SpecAugmentSettings):
        self.settings = settings

    def __call__(self, features: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        s = self.settings
        x = features.clone()
        frames, bins = x.shape
        for _ in range(s.freq_masks):
            _mask(x, 1, min(s.freq_width, bins), generator)
        for _ in range(s.time_masks):
            _mask(x, 0, min(s.time_width, int(s.time_ratio * frames)), generator)
        return x


def _mask(x: torch.Tensor, dim: int, max_width: int, generator: torch.Generator | None) -> None:
    """Zero a random band of up to `max_width` rows (dim 0) or columns (dim 1) in place."""
    if max_width <= 0:
        return
    width = int(torch.randint(0, max_width + 1, (1,), generator=generator))
    start = int(torch.randint(0, x.shape[dim] - width + 1, (1,), generator=generator))
    x.narrow(dim, start, width).zero_()
