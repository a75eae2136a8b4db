"""Log-mel features, global normalisation and SpecAugment."""

import math

import pytest
import torch

from asr.errors import AsrError
from asr.features import FeatureSettings, LogMel, Normalizer, SpecAugment, SpecAugmentSettings, UtteranceNormalizer

SETTINGS_16K = FeatureSettings()
SETTINGS_8K = FeatureSettings(sample_rate=8000, n_mels=40)


def sine(freq: float, seconds: float, rate: int) -> torch.Tensor:
    t = torch.arange(int(round(seconds * rate)), dtype=torch.float64) / rate
    return (0.5 * torch.sin(2 * math.pi * freq * t)).float()


@pytest.mark.parametrize("settings", [SETTINGS_16K, SETTINGS_8K], ids=["16k", "8k"])
@pytest.mark.parametrize("seconds", [0.05, 0.5, 1.0, 1.2345])
def test_frame_count_and_shape(settings, seconds):
    wave = torch.randn(int(round(seconds * settings.sample_rate))) * 0.1
    feats = LogMel(settings)(wave)
    assert feats.shape == (settings.frames(seconds), settings.n_mels)
    assert feats.dtype == torch.float32
    assert torch.isfinite(feats).all()


@pytest.mark.parametrize("settings", [SETTINGS_16K, SETTINGS_8K], ids=["16k", "8k"])
def test_very_short_audio_gives_features(settings):
    seconds = 0.0125
    wave = torch.randn(int(round(seconds * settings.sample_rate))) * 0.1
    assert LogMel(settings)(wave).shape == (settings.frames(seconds), settings.n_mels)


def test_frames_known_values():
    # 10 ms hop: one frame per 160 samples at 16 kHz, 80 at 8 kHz, plus the centred first frame.
    assert SETTINGS_16K.hop_length == 160 and SETTINGS_16K.win_length == 400
    assert SETTINGS_8K.hop_length == 80 and SETTINGS_8K.win_length == 200
    assert SETTINGS_16K.frames(1.0) == 101
    assert SETTINGS_8K.frames(1.0) == 101
    assert SETTINGS_16K.frames(0.0) == 1


def _hz_to_slaney_mel(f: float) -> float:
    return 3 * f / 200 if f < 1000 else 15 + math.log(f / 1000) / (math.log(6.4) / 27)


def _slaney_mel_to_hz(m: float) -> float:
    return 200 * m / 3 if m < 15 else 1000 * math.exp((m - 15) * math.log(6.4) / 27)


def _band_nearest(freq: float, s: FeatureSettings) -> int:
    """Index of the mel band whose centre is nearest `freq` (Slaney scale, independent of torchaudio)."""
    lo, hi = _hz_to_slaney_mel(s.f_min), _hz_to_slaney_mel(s.f_max or s.sample_rate / 2)
    centres = [_slaney_mel_to_hz(lo + (hi - lo) * (i + 1) / (s.n_mels + 1)) for i in range(s.n_mels)]
    return min(range(s.n_mels), key=lambda i: abs(centres[i] - freq))


@pytest.mark.parametrize("settings", [SETTINGS_16K, SETTINGS_8K], ids=["16k", "8k"])
def test_sine_energy_lands_in_its_mel_band(settings):
    feats = LogMel(settings)(sine(1000.0, 0.5, settings.sample_rate))
    profile = feats[5:-5].mean(0)  # skip the edge frames
    expected = _band_nearest(1000.0, settings)
    assert abs(int(profile.argmax()) - expected) <= 1
    far = _band_nearest(3500.0, settings)
    assert profile[expected] - profile[far] > 5.0  # natural log: > 100x the power


def test_too_short_window_is_an_error():
    with pytest.raises(AsrError, match="too short"):
        LogMel(FeatureSettings(sample_rate=100, win_ms=10.0, hop_ms=5.0))


def test_normalizer_fit_gives_zero_mean_unit_std():
    torch.manual_seed(0)
    mean = torch.linspace(-5, 5, 8)
    std = torch.linspace(0.5, 3, 8)
    feats = [torch.randn(n, 8) * std + mean for n in (50, 120, 7)]
    norm = Normalizer.fit(feats)
    assert torch.allclose(norm.mean, torch.cat(feats).mean(0), atol=1e-4)
    out = torch.cat([norm(f) for f in feats])
    assert torch.allclose(out.mean(0), torch.zeros(8), atol=1e-4)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(8), atol=1e-4)


def test_normalizer_constant_bin_does_not_divide_by_zero():
    feats = [torch.ones(10, 3)]
    out = Normalizer.from_dict(Normalizer.fit(feats).to_dict())(feats[0])
    assert torch.isfinite(out).all() and torch.equal(out, torch.zeros(10, 3))


def test_normalizer_fit_of_nothing_is_an_error():
    with pytest.raises(AsrError):
        Normalizer.fit([])


def test_normalizer_dict_round_trip():
    norm = Normalizer.fit([torch.randn(20, 4) * 2 + 1])
    again = Normalizer.from_dict(norm.to_dict())
    x = torch.randn(5, 4)
    assert torch.equal(norm(x), again(x))


def test_global_statistics_from_a_checkpoint_without_a_kind_still_load():
    norm = Normalizer.from_dict({"mean": torch.ones(4), "std": 2 * torch.ones(4)})
    assert isinstance(norm, Normalizer) and torch.equal(norm(torch.full((2, 4), 3.0)), torch.ones(2, 4))


def test_utterance_normalizer_gives_each_utterance_zero_mean_unit_std():
    torch.manual_seed(0)
    feats = torch.randn(300, 8) * torch.linspace(0.5, 3, 8) + torch.linspace(-5, 5, 8)
    out = UtteranceNormalizer()(feats)
    assert torch.allclose(out.mean(0), torch.zeros(8), atol=1e-5)
    assert torch.allclose(out.std(0, unbiased=False), torch.ones(8), atol=1e-5)


def test_utterance_normalizer_removes_a_channel_and_a_level():
    """A microphone's frequency response and the loudness add a constant per bin
    to log-mels; per-utterance normalisation gives the same features without them."""
    torch.manual_seed(0)
    feats = torch.randn(120, 6)
    channel = torch.tensor([2.0, -1.0, 0.5, 3.0, -4.0, 1.5])
    norm = UtteranceNormalizer()
    assert torch.allclose(norm(feats + channel), norm(feats), atol=1e-5)


def test_utterance_normalizer_keeps_silent_bins_and_single_frames_finite():
    feats = torch.cat([torch.randn(50, 3), torch.full((50, 1), -13.8)], dim=1)  # last bin: digital silence
    out = UtteranceNormalizer()(feats)
    assert torch.isfinite(out).all() and torch.allclose(out[:, 3], torch.zeros(50), atol=1e-4)
    assert torch.equal(UtteranceNormalizer()(torch.randn(1, 4)), torch.zeros(1, 4))


def test_utterance_normalizer_round_trips_through_a_dict():
    assert isinstance(Normalizer.from_dict(UtteranceNormalizer().to_dict()), UtteranceNormalizer)


def test_specaugment_keeps_shape_and_zeroes_some_bins():
    torch.manual_seed(0)
    feats = torch.randn(200, 80) + 10.0  # no zeros before masking
    out = SpecAugment(SpecAugmentSettings())(feats)
    assert out.shape == feats.shape
    zero = out == 0
    assert zero.any()
    # Every value is either untouched or masked to zero.
    assert torch.equal(out[~zero], feats[~zero])
    masked_bins = zero.all(dim=0).sum()
    masked_frames = zero.all(dim=1).sum()
    assert masked_bins + masked_frames > 0
    assert masked_bins <= 2 * 15 and masked_frames <= 2 * 25
    assert feats.min() > 0  # the input was not modified in place


def test_specaugment_time_mask_respects_ratio():
    settings = SpecAugmentSettings(freq_masks=0, time_masks=1, time_width=100, time_ratio=0.1)
    for seed in range(20):
        torch.manual_seed(seed)
        out = SpecAugment(settings)(torch.ones(100, 10))
        assert (out == 0).all(dim=1).sum() <= 10


@pytest.mark.parametrize(
    "settings",
    [
        SpecAugmentSettings(freq_masks=0, time_masks=0),
        SpecAugmentSettings(freq_masks=0, time_ratio=0.0),
    ],
    ids=["no-masks", "no-freq-zero-ratio"],
)
def test_specaugment_without_masks_changes_nothing(settings):
    torch.manual_seed(0)
    feats = torch.randn(60, 20) + 10.0
    assert torch.equal(SpecAugment(settings)(feats), feats)
