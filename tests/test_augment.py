"""Speed perturbation, additive noise, and per-utterance reproducibility."""

import math

import numpy as np
import soundfile as sf
import torch

from asr import manifest
from asr.augment import AugmentSettings, WaveAugment, add_noise, speed_perturb
from asr.data import TrainDataset
from asr.features import FeatureSettings, LogMel, Normalizer, SpecAugment, SpecAugmentSettings


def _tone(seconds=1.0, rate=16000):
    t = torch.arange(int(seconds * rate)) / rate
    return 0.5 * torch.sin(2 * math.pi * 440 * t)


def test_speed_perturbation_changes_length_by_the_factor():
    wave = _tone()
    assert speed_perturb(wave, 16000, 1.0) is wave
    assert abs(speed_perturb(wave, 16000, 1.1).numel() - 16000 / 1.1) <= 2
    assert abs(speed_perturb(wave, 16000, 0.9).numel() - 16000 / 0.9) <= 2


def test_noise_is_added_at_the_requested_snr():
    wave = _tone()
    noise = torch.randn(5000, generator=torch.Generator().manual_seed(1))
    noisy = add_noise(wave, noise, 10.0, torch.Generator().manual_seed(0))
    added = noisy - wave
    snr = 10 * math.log10(wave.pow(2).mean() / added.pow(2).mean())
    assert abs(snr - 10.0) < 0.01
    assert noisy.shape == wave.shape


def _dataset(tmp_path, noise: bool):
    path = tmp_path / "a.wav"
    sf.write(path, _tone().numpy(), 16000)
    utt = manifest.Utterance("a", str(path), 1.0, "a")
    noise_manifest = None
    if noise:
        sf.write(tmp_path / "n.wav", np.random.default_rng(0).normal(size=8000).astype("float32") * 0.1, 16000)
        noise_manifest = tmp_path / "noise.jsonl"
        manifest.write(noise_manifest, [manifest.Utterance("n", str(tmp_path / "n.wav"), 0.5, "")])
    settings = AugmentSettings(speeds=(0.9, 1.0, 1.1), noise=None if noise_manifest is None else str(noise_manifest), noise_prob=1.0)
    logmel = LogMel(FeatureSettings(n_mels=20))
    return TrainDataset([utt], [[1]], logmel, Normalizer(torch.zeros(20), torch.ones(20)),
                        WaveAugment(settings, 16000), SpecAugment(SpecAugmentSettings()), seed=0, cache=True)


def test_items_are_reproducible_per_epoch_and_differ_between_epochs(tmp_path):
    for noise in (False, True):
        ds = _dataset(tmp_path, noise)
        first = ds[(0, 1)][0]
        assert torch.equal(ds[(0, 1)][0], first)  # same (index, epoch): same augmentation
        again = _dataset(tmp_path, noise)[(0, 1)][0]
        assert torch.equal(again, first)  # a fresh dataset (a resumed run, another worker) agrees
        others = [ds[(0, e)][0] for e in range(2, 8)]
        assert any(o.shape != first.shape or not torch.equal(o, first) for o in others)
    assert ds.cache is None  # additive noise differs every epoch: nothing cached
