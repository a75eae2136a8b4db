"""Transcription speed and memory: a long recording, a batch of short files, cold start, peak RSS.

    python bench/transcribe_speed.py --json --model exp/an4/model.pt --manifest data/an4/test.jsonl

Recordings: the manifest's utterances joined end to end with pauses of 0.3-1.5 s of faint
noise (40 dB below the speech) until there are --minutes (10) of audio, and the same for
--long-minutes (60); written block by block as 16-bit WAV into a temporary folder. The
reference of a recording is its utterances' transcripts in order, so its WER can be set
against the WER of the same utterances transcribed one by one.

Measured, each with `asr.transcribe.transcribe` (what `asr transcribe` runs), on --threads
CPU threads, wall time including the model's loading:
- `long`: the 10-minute recording, for each variant: torch greedy, torch beam, onnxruntime
  fp32 greedy and beam, onnxruntime int8 greedy (the model exported by asr.export, as
  `asr export` writes it). Beam: the model's own beam settings (its LM and lexicon) when it
  has them, else lexicon-free beam search without an LM.
- `short`: the manifest's utterances as separate files, torch greedy and onnxruntime int8.
- `cold_start_s`: `asr transcribe FIRST_UTTERANCE --model MODEL` in a new process (best of 3).
- `peak_rss_mb`: the peak resident memory (VmHWM) of a process transcribing the 10-minute and
  the 60-minute recording (torch greedy), and their ratio.

`audio_s_per_s` is seconds of audio per second of wall time (200 = 200 x real time).
Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr import audio, manifest, record  # noqa: E402
from asr.text import normalize  # noqa: E402
from asr.transcribe import transcribe  # noqa: E402

RATE = 16000

PEAK = """
import json, sys
from asr.transcribe import transcribe
for outcome in transcribe([sys.argv[2]], sys.argv[1], threads=int(sys.argv[3])):
    assert outcome.error is None, outcome.error
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
print(json.dumps({"peak_kb": peak}))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def join(utts, minutes: float, path: Path, refs: list[str], seed: int = 0) -> tuple[str, int]:
    """Write a recording of `minutes` from the utterances (cycled) with pauses: its reference
    and how many utterances it holds."""
    rng = np.random.default_rng(seed)
    words, total, i = [], 0.0, 0
    with sf.SoundFile(str(path), "w", RATE, 1, "PCM_16") as f:
        while total < minutes * 60:
            wave = audio.load(utts[i % len(utts)].audio, RATE).numpy()
            level = float(np.sqrt(np.mean(wave**2)))
            pause = (rng.standard_normal(int(rng.uniform(0.3, 1.5) * RATE)) * level * 0.01).astype(np.float32)
            f.write(wave)
            f.write(pause)
            total += (len(wave) + len(pause)) / RATE
            words.append(refs[i % len(utts)])
            i += 1
    return " ".join(words), i


def timed(sources, model: Path, threads: int, **decoding) -> tuple[float, list]:
    start = time.perf_counter()
    outcomes = list(transcribe(sources, model, threads=threads, **decoding))
    elapsed = time.perf_counter() - start
    failed = [o.error for o in outcomes if o.error]
    if failed:
        raise SystemExit(f"transcription failed: {failed[0]}")
    return elapsed, [o.transcript for o in outcomes]


def peak_mb(model: Path, recording: Path, threads: int) -> float:
    found = subprocess.run([sys.executable, "-c", PEAK, str(model), str(recording), str(threads)],
                           capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(found.stdout.strip().splitlines()[-1])["peak_kb"] / 1024


def cold_start(model: Path, wav: str) -> float:
    exe = Path(sys.executable).with_name("asr")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([str(exe), "transcribe", wav, "--model", str(model), "--quiet", "--device", "cpu"],
                       capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True, help="utterances to build the recordings from")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--long-minutes", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="(the output is always one JSON object)")
    args = parser.parse_args()

    from asr.export import export_onnx

    settings = record.load(args.model)
    utts = manifest.read(args.manifest)
    refs = [normalize(u.text, settings.text) for u in utts]
    beam = {"decoder": "beam"}  # with the model's LM and lexicon when it has them
    with tempfile.TemporaryDirectory(prefix="asr-bench-") as tmp:
        tmp = Path(tmp)
        log("exporting to ONNX (fp32 and int8)")
        fp32 = export_onnx(args.model, tmp / "model.onnx")
        int8 = export_onnx(args.model, tmp / "model-int8.onnx", int8=True)
        if settings.decoding.lm:  # the exports find the LM and lexicon relative to themselves
            for name in (settings.decoding.lm, settings.decoding.lexicon):
                if name and not Path(name).is_absolute():
                    target = tmp / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.symlink_to((args.model.parent / name).resolve())
        log(f"writing {args.minutes:g}- and {args.long_minutes:g}-minute recordings")
        ten, sixty = tmp / "ten.wav", tmp / "sixty.wav"
        reference, count = join(utts, args.minutes, ten, refs)
        join(utts, args.long_minutes, sixty, refs)
        seconds = sf.info(str(ten)).duration

        one_by_one = {}  # the recording's utterances transcribed one by one (greedy)
        short_seconds = sum(audio.info(u.audio).duration for u in utts)
        short = {}
        for name, model in (("torch", args.model), ("onnx-int8", int8)):
            log(f"short files: {name}")
            elapsed, found = timed([u.audio for u in utts], model, args.threads, decoder="greedy")
            texts = [t.text for t in found]
            one_by_one[name] = jiwer.wer(reference, " ".join(texts[i % len(texts)] for i in range(count)))
            short[f"{name}-greedy"] = {"audio_s_per_s": round(short_seconds / elapsed, 1),
                                       "wer": round(jiwer.wer(" ".join(refs), " ".join(texts)), 4)}

        variants = [("torch-greedy", args.model, {"decoder": "greedy"}), ("torch-beam", args.model, beam),
                    ("onnx-greedy", fp32, {"decoder": "greedy"}), ("onnx-beam", fp32, beam),
                    ("onnx-int8-greedy", int8, {"decoder": "greedy"})]
        long = {}
        for name, model, decoding in variants:
            log(f"{args.minutes:g}-minute recording: {name}")
            elapsed, (found,) = timed([ten], model, args.threads, **decoding)
            long[name] = {"audio_s_per_s": round(seconds / elapsed, 1),
                          "wer": round(jiwer.wer(reference, found.text), 4)}

        log("cold start and peak memory")
        report = {
            "model": str(args.model), "manifest": str(args.manifest), "threads": args.threads,
            "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
            "recording_s": round(seconds, 1), "beam_lm": settings.decoding.lm or None,
            "long": long, "short": {"utterances": len(utts), "audio_s": round(short_seconds, 1), **short},
            "recording_utterances": count,
            "recording_wer_one_by_one": {f"{k}-greedy": round(v, 4) for k, v in one_by_one.items()},
            "cold_start_s": round(cold_start(args.model, utts[0].audio), 3),
        }
        ten_mb, sixty_mb = peak_mb(args.model, ten, args.threads), peak_mb(args.model, sixty, args.threads)
        report["peak_rss_mb"] = {f"{args.minutes:g}_min": round(ten_mb), f"{args.long_minutes:g}_min": round(sixty_mb),
                                 "ratio": round(sixty_mb / ten_mb, 3)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
