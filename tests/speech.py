"""Synthetic speech with known words and times, for tests: digit words spoken by eSpeak NG voices
held out of the digits corpus's training split, joined with pauses of known length."""

from __future__ import annotations

import numpy as np
import torch

DIGITS = ("zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Voices held out of the digits corpus's training split (and the default voice), at several rates.
VOICES = (("en+m7", 160), ("en-us+f4", 190), ("en", 175), ("en-us+klatt3", 150))


def voiced(wave: np.ndarray, rate: int, floor_db: float = -40.0) -> np.ndarray:
    """`wave` without its leading and trailing silence: the 10 ms frames from the first to the
    last whose RMS is within `floor_db` of the loudest frame's."""
    hop = rate // 100
    frames = wave[: len(wave) // hop * hop].reshape(-1, hop)
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (floor_db / 20))[0]
    return wave[loud[0] * hop:(loud[-1] + 1) * hop]


def spoken_digits(rng: np.random.Generator, voice: str, wpm: int, sample_rate: int):
    """Digit words synthesised one by one and joined with pauses of known length, with white
    noise at 30 dB SNR: (wave (samples,), [(word, start s, end s)] where each word's voiced part is)."""
    from asr import audio, synth

    words = [DIGITS[i] for i in rng.integers(len(DIGITS), size=int(rng.integers(3, 6)))]
    parts = [np.zeros(int(rng.uniform(0.2, 0.5) * sample_rate))]
    truth, at = [], len(parts[0])
    for i, word in enumerate(words):
        synth.reset()  # the same audio for a word whatever was spoken before
        wave, rate = synth.synthesize(word, voice, wpm)
        speech = audio.resample(torch.from_numpy(voiced(wave, rate)), rate, sample_rate).numpy()
        truth.append((word, at / sample_rate, (at + len(speech)) / sample_rate))
        pause = np.zeros(int(rng.uniform(0.15, 0.6) * sample_rate))
        parts += [speech, pause]
        at += len(speech) + len(pause)
    signal = np.concatenate(parts)
    signal += rng.standard_normal(len(signal)) * np.sqrt(np.mean(signal**2) / 1e3)
    return (0.5 * signal / np.abs(signal).max()).astype(np.float32), truth
