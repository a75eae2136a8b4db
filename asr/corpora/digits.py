"""The embedded default corpus: connected digit strings spoken by eSpeak NG.

Nothing is downloaded. Each utterance is 1-7 words from "zero oh one two ...
nine" (adjacent repeats such as "one one" are made deliberately common),
spoken by an English voice ("en" or "en-us", plain or with a variant) at a
random rate (130-230 words per minute), pitch and pitch range, padded with
0.05-0.35 s of silence at each end, mixed with white or pink noise at a
random SNR of 15-40 dB and scaled to a random peak level.

`lang="cmn"` (`asr prep digits OUT --set lang=cmn`) makes the Mandarin
corpus instead, digit strings and short phrases: see `asr.corpora.cmn`, the
same as `asr prep cmn OUT`.

The test split is spoken only by held-out variants (`TEST_VARIANTS`) that
train and dev never use. Everything random is drawn from the seed (per split,
per utterance), so the same seed gives identical manifests and audio bytes
whatever the number of worker processes: utterances are rendered in fixed
shards of consecutive ids, each from a freshly reset eSpeak (which otherwise
carries state from one call to the next).
"""

from __future__ import annotations

import multiprocessing
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from asr import audio, manifest, synth
from asr.errors import AsrError, ConfigError

DIGIT_WORDS = (("zero", "oh"), ("one",), ("two",), ("three",), ("four",), ("five",),
               ("six",), ("seven",), ("eight",), ("nine",))
LANGUAGES = ("en", "en-us")
TRAIN_VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "f5", "klatt",
                  "klatt2", "klatt4", "Alex", "adam", "benjamin", "david", "max", "robert", "steph")
TEST_VARIANTS = ("m7", "f4", "klatt3")
SPLITS = ("train", "dev", "test")
REPEAT_PROBABILITY = 0.1  # chance that a word repeats the one before it
SHARD_SIZE = 25  # utterances rendered in order after one eSpeak reset


@dataclass(frozen=True)
class _Job:
    """One utterance to render: text, voice, prosody, padding (s), noise, output file."""

    id: str
    text: str
    voice: str
    rate: int
    pitch: int
    pitch_range: int
    lead: float
    trail: float
    snr_db: float
    pink: bool
    peak: float
    noise_seed: int
    path: str
    sample_rate: int


def prepare(
    out: Path,
    src: Path | None = None,
    *,
    train: int = 2000,
    dev: int = 100,
    test: int = 200,
    seed: int = 0,
    sample_rate: int = 16000,
    workers: int = 2,
    lang: str = "en",
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Path]:
    """Synthesise the digits corpus under `out`; return the manifest path of each split.

    Writes `out/wav/<split>/<id>.wav` at `sample_rate` Hz, then `out/<split>.jsonl`
    (manifests last, so a manifest present means its split is complete).
    `src` must be None: this corpus needs no source. Re-running overwrites.
    """
    if src is not None:
        raise AsrError("the digits corpus is synthesised and takes no source folder; omit it")
    if lang == "cmn":
        from asr.corpora import cmn  # it renders with this module's functions

        return cmn.prepare(out, train=train, dev=dev, test=test, seed=seed, sample_rate=sample_rate,
                           workers=workers, log=log)
    if lang != "en":
        raise ConfigError(f"digits: lang must be en (English) or cmn (Mandarin, the cmn corpus), not {lang!r}")
    counts = {"train": train, "dev": dev, "test": test}
    if any(n < 0 for n in counts.values()) or workers < 1 or sample_rate <= 0:
        raise AsrError("digits: utterance counts must be >= 0, workers >= 1, sample_rate > 0")
    out = Path(out)
    manifests = {split: out / f"{split}.jsonl" for split in SPLITS}
    for split in SPLITS:
        manifests[split].unlink(missing_ok=True)
        shutil.rmtree(out / "wav" / split, ignore_errors=True)
    plans = {split: _plan(split, n, seed, out, sample_rate) for split, n in counts.items()}
    shards = [plan[i:i + SHARD_SIZE] for plan in plans.values() for i in range(0, len(plan), SHARD_SIZE)]
    log(f"digits: synthesising {sum(counts.values())} utterances with {workers} worker(s)")
    frames = _render_all(shards, workers, log)
    for split in SPLITS:
        utterances = [
            manifest.Utterance(id=j.id, audio=j.path, duration=frames[j.id] / sample_rate,
                               text=j.text, speaker=j.voice)
            for j in plans[split]
        ]
        manifest.write(manifests[split], utterances)
        log(f"digits: wrote {manifests[split]} ({len(utterances)} utterances)")
    return manifests


def _plan(split: str, count: int, seed: int, out: Path, sample_rate: int) -> list[_Job]:
    """Draw every random choice of a split from (seed, split), independent of other splits."""
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    variants = TEST_VARIANTS if split == "test" else TRAIN_VARIANTS
    jobs = []
    for i in range(count):
        uid = f"{split}-{i:05d}"
        language = LANGUAGES[rng.integers(len(LANGUAGES))]
        variant = variants[rng.integers(len(variants))]
        text = _digit_text(rng)
        jobs.append(job(rng, uid, text, f"{language}+{variant}" if variant else language,
                        out / "wav" / split / f"{uid}.wav", sample_rate))
    return jobs


def job(rng: np.random.Generator, uid: str, text: str, voice: str, path: Path, sample_rate: int) -> _Job:
    """The job of one utterance of `text` in `voice`, its prosody, padding and noise drawn from `rng`."""
    return _Job(
        id=uid,
        text=text,
        voice=voice,
        rate=int(rng.integers(130, 231)),
        pitch=int(rng.integers(25, 76)),
        pitch_range=int(rng.integers(20, 91)),
        lead=float(rng.uniform(0.05, 0.35)),
        trail=float(rng.uniform(0.05, 0.35)),
        snr_db=float(rng.uniform(15.0, 40.0)),
        pink=bool(rng.random() < 0.5),
        peak=float(rng.uniform(0.3, 0.95)),
        noise_seed=int(rng.integers(2**63)),
        path=str(path.resolve()),
        sample_rate=sample_rate,
    )


def _digit_text(rng: np.random.Generator) -> str:
    """1-7 digit words; each word repeats the previous one with REPEAT_PROBABILITY."""
    words: list[str] = []
    for _ in range(int(rng.integers(1, 8))):
        if words and rng.random() < REPEAT_PROBABILITY:
            words.append(words[-1])
        else:
            choices = DIGIT_WORDS[int(rng.integers(10))]
            words.append(choices[int(rng.integers(len(choices)))])
    return " ".join(words)


def _render_all(shards: list[list[_Job]], workers: int, log: Callable[[str], None]) -> dict[str, int]:
    """Render shards (in `workers` spawned processes when > 1); return frames written per id.

    Each shard (consecutive utterances of one split) starts from a freshly
    reset eSpeak, so the audio does not depend on which process renders it.
    """
    total = sum(len(shard) for shard in shards)
    frames: dict[str, int] = {}
    if workers == 1 or len(shards) < 2:
        previous = torch.get_num_threads()
        try:
            for shard in shards:
                frames.update(_render_shard(shard))
        finally:
            torch.set_num_threads(previous)
        return frames
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(shards))) as pool:
        for result in pool.imap(_render_shard, shards):
            frames.update(result)
            if len(frames) // 500 != (len(frames) - len(result)) // 500:
                log(f"digits: {len(frames)}/{total} utterances")
    return frames


def _render_shard(shard: list[_Job]) -> dict[str, int]:
    """Render a shard in order from a freshly reset eSpeak; return frames written per id."""
    torch.set_num_threads(1)  # identical arithmetic in every process
    synth.reset()  # eSpeak carries state between calls (see asr.synth)
    return {job.id: _render(job) for job in shard}


def _render(job: _Job) -> int:
    """Synthesise, resample, pad, add noise and write one utterance; return its length in samples."""
    wave, rate = synth.synthesize(job.text, job.voice, job.rate, job.pitch, job.pitch_range)
    speech = audio.resample(torch.from_numpy(wave), rate, job.sample_rate).numpy().astype(np.float64)
    lead, trail = (int(round(s * job.sample_rate)) for s in (job.lead, job.trail))
    signal = np.concatenate([np.zeros(lead), speech, np.zeros(trail)])
    rng = np.random.default_rng(job.noise_seed)
    noise = _pink_noise(rng, len(signal)) if job.pink else rng.standard_normal(len(signal))
    power = float(np.mean(speech**2)) if speech.size else 1e-6
    noise *= np.sqrt(power / 10 ** (job.snr_db / 10) / max(float(np.mean(noise**2)), 1e-12))
    signal += noise
    signal *= job.peak / max(float(np.max(np.abs(signal))), 1e-9)
    audio.write(job.path, signal.astype(np.float32), job.sample_rate)
    return len(signal)


def _pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` samples of 1/f (pink) noise: white noise shaped in the frequency domain."""
    size = 1 << max(n - 1, 1).bit_length()  # a power of two keeps the FFT fast
    spectrum = np.fft.rfft(rng.standard_normal(size))
    scale = np.zeros(spectrum.shape)
    scale[1:] = 1.0 / np.sqrt(np.arange(1, spectrum.size))
    return np.fft.irfft(spectrum * scale, n=size)[:n]
