"""Long recordings end to end: a recording made by joining test utterances with pauses is
transcribed as well as the utterances one by one, and memory does not grow with its length."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jiwer
import numpy as np
import pytest
import soundfile as sf
from models import untrained_model

RATE = 16000


def join_utterances(utts, path: Path, seed: int = 0) -> tuple[list[float], float]:
    """Write the utterances' audio one after another with pauses of 0.3-1.2 s of faint noise
    (40 dB below the speech) between them; return each utterance's start and the total seconds."""
    from asr import audio

    rng = np.random.default_rng(seed)
    starts, at = [], 0.0
    with sf.SoundFile(str(path), "w", RATE, 1, "PCM_16") as f:
        for u in utts:
            wave = audio.load(u.audio, RATE).numpy()
            level = float(np.sqrt(np.mean(wave**2)))
            pause = (rng.standard_normal(int(rng.uniform(0.3, 1.2) * RATE)) * level * 0.01).astype(np.float32)
            starts.append(at)
            f.write(wave)
            f.write(pause)
            at += (len(wave) + len(pause)) / RATE
    return starts, at


@pytest.mark.slow
def test_a_long_recording_is_transcribed_as_well_as_its_utterances_one_by_one(digits_corpus, digits_model, tmp_path):
    from asr import manifest, record
    from asr.chunks import ChunkSettings
    from asr.text import normalize
    from asr.transcribe import transcribe

    utts = manifest.read(digits_corpus / "test.jsonl")
    settings = record.load(digits_model).text
    refs = [normalize(u.text, settings) for u in utts]
    one_by_one = [o.transcript.text for o in transcribe([u.audio for u in utts], digits_model)]
    separate = jiwer.wer(" ".join(refs), " ".join(one_by_one))

    long = tmp_path / "long.wav"
    starts, total = join_utterances(utts, long)
    assert total > 3 * 20  # several chunks of 20 s
    (outcome,) = transcribe([long], digits_model, chunks=ChunkSettings(chunk=20.0))
    joined = jiwer.wer(" ".join(refs), outcome.transcript.text)
    print(f"\n{len(utts)} utterances, {total:.0f} s: WER one by one {separate:.2%}, as one recording {joined:.2%}")
    assert separate < 0.25, "the test model should recognise most digits"
    assert abs(joined - separate) <= 0.01

    words = outcome.transcript.words
    assert outcome.transcript.duration == pytest.approx(total, abs=0.01)
    assert all(0 <= w.start <= w.end <= total for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:]))
    # each utterance's words are found in its own stretch of the recording (times in the recording's time)
    first_words = {round(w.start, 1) for w in words}
    near = sum(any(abs(s - t) < 0.6 for t in first_words) for s in starts)
    assert near >= 0.9 * len(starts)


PEAK = """
import json, resource, sys
from asr.transcribe import transcribe
for outcome in transcribe([sys.argv[2]], sys.argv[1], max_frames=int(sys.argv[3])):
    assert outcome.error is None, outcome.error
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
print(json.dumps({"peak_kb": peak, "words": len(outcome.transcript.words)}))
"""


def long_noise(path: Path, minutes: float) -> None:
    """`minutes` of 1-3 s noise bursts ("speech") and 0.3-1 s faint pauses, written block by block."""
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", RATE, 1, "PCM_16") as f:
        left = int(minutes * 60 * RATE)
        while left > 0:
            burst = 0.3 * rng.standard_normal(int(rng.uniform(1, 3) * RATE))
            pause = 0.001 * rng.standard_normal(int(rng.uniform(0.3, 1.0) * RATE))
            block = np.concatenate([burst, pause])[:left].astype(np.float32)
            f.write(block)
            left -= len(block)


def peak_kb(model: Path, audio: Path) -> dict:
    found = subprocess.run([sys.executable, "-c", textwrap.dedent(PEAK), str(model), str(audio), "6000"],
                           capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_recordings_length(tmp_path):
    """2 and 12 minutes (the benchmark does 10 and 60) in batches of at most 6000 feature frames
    (1 minute; transcribe's default is 10): memory is bounded by the batch, not the length.
    Reading the 12 minutes whole would take 46 MB for the samples alone and several times that
    for the spectrogram."""
    from asr.model import ModelSettings

    untrained_model(tmp_path / "model.pt", ["one two three"], n_mels=40, settings=ModelSettings(hidden=32, layers=2))
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    long_noise(short, 2)
    long_noise(long, 12)
    a, b = peak_kb(tmp_path / "model.pt", short), peak_kb(tmp_path / "model.pt", long)
    print(f"\npeak RSS: 2 min {a['peak_kb'] / 1024:.0f} MB, 12 min {b['peak_kb'] / 1024:.0f} MB")
    assert b["peak_kb"] <= 1.5 * a["peak_kb"]
    assert b["peak_kb"] - a["peak_kb"] <= 40 * 1024
