"""Acoustic model speed: torch fp32 vs onnxruntime fp32 vs onnxruntime int8 (dynamic quantisation),
and, with --wer, each one's word error rate on a manifest.

    python bench/onnx_int8.py --model exp/an4/model.pt --manifest data/an4/test.jsonl --wer
    python bench/onnx_int8.py --model /tmp/an4run100/exp/an4/model.pt --manifest /tmp/an4run/data/an4/test.jsonl --wer

Audio: the manifest's utterances joined end to end until there are --seconds of it (100 by
default), cut into --chunk second pieces (30: three of 30 s and one of 10 s), made into
normalised features by the model's Recognizer and padded into one batch. Only the acoustic
model is timed (features and decoding are the same for every variant): one warm-up call, then
the median of --repeats calls, for each thread count in --threads (torch.set_num_threads for
torch, intra-op threads of the onnxruntime session). Speed is seconds of audio per second.

Variants: torch (model.pt), onnx-fp32 (asr.export.export_onnx, what `asr export` writes),
onnx-int8 (export_onnx(int8=True), what `asr export --int8` writes: onnxruntime's
quantize_dynamic, int8 weights with per-tensor scales, activations quantised on the fly, LSTM
as com.microsoft's DynamicQuantizeLSTM, MatMul as MatMulInteger) and, for comparison,
onnx-int8-pc (the same with per-channel scales, made here). Each variant's largest
log-probability difference from torch over valid frames is reported, and with --wer its WER and
CER on the whole manifest (asr.evaluate, greedy unless the model says otherwise).

Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr import audio, manifest
from asr import record as model_record
from asr.evaluate import evaluate
from asr.export import export_onnx
from asr.onnxmodel import load as load_onnx
from asr.progress import Reporter
from asr.recognizer import Recognizer


def batch(model_path: Path, manifest_path: Path, seconds: float, chunk: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded features (B, T, n_mels) and lengths (B,) of `seconds` of the manifest's audio in
    `chunk`-second pieces."""
    rec = Recognizer.load(model_path)
    rate = rec.feature_settings.sample_rate
    waves, total = [], 0
    for utt in manifest.read(manifest_path):
        wave = audio.load_utterance(utt, rate)
        waves.append(wave)
        total += wave.numel()
        if total >= seconds * rate:
            break
    joined = torch.cat(waves)[: int(seconds * rate)]
    if joined.numel() < seconds * rate:
        raise SystemExit(f"error: {manifest_path} has only {joined.numel() / rate:.1f} s of audio, not {seconds}")
    step = int(chunk * rate)
    feats = [rec.features(joined[i: i + step]) for i in range(0, joined.numel(), step)]
    lengths = torch.tensor([f.shape[0] for f in feats])
    return torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), lengths


def timed(model, features: torch.Tensor, lengths: torch.Tensor, repeats: int
          ) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Median seconds of `repeats` calls after one warm-up, the log-probabilities and lengths."""
    with torch.no_grad():
        log_probs, out_lengths = model(features, lengths)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(features, lengths)
            times.append(time.perf_counter() - start)
    return statistics.median(times), log_probs, out_lengths


def per_channel(fp32: Path, out: Path) -> Path:
    """The int8 dynamic quantisation of an export with one scale per output channel (the
    metadata, and with it the record, comes along)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32, out, weight_type=QuantType.QInt8, per_channel=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, required=True, help="a model.pt")
    p.add_argument("--manifest", type=Path, required=True, help="a manifest (.jsonl) with audio and text")
    p.add_argument("--seconds", type=float, default=100.0, help="audio to time the model on")
    p.add_argument("--chunk", type=float, default=30.0, help="seconds per batch item")
    p.add_argument("--threads", default="1,2", help="thread counts to time, comma-separated")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per variant and thread count (median)")
    p.add_argument("--wer", action="store_true", help="also score each variant on the whole manifest")
    p.add_argument("--wer-threads", type=int, default=2,
                   help="torch threads while scoring (onnxruntime: its default, one per physical core)")
    args = p.parse_args()
    log = lambda s: print(s, file=sys.stderr, flush=True)

    features, lengths = batch(args.model, args.manifest, args.seconds, args.chunk)
    audio_s = args.seconds
    log(f"batch {tuple(features.shape)}, lengths {lengths.tolist()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        fp32 = export_onnx(args.model, tmp / "model.onnx")
        export_s = time.perf_counter() - start
        files = {"torch": args.model, "onnx-fp32": fp32,
                 "onnx-int8": export_onnx(args.model, tmp / "model-int8.onnx", int8=True),
                 "onnx-int8-pc": per_channel(fp32, tmp / "model-int8-pc.onnx")}
        sizes = {name: round(path.stat().st_size / 1e6, 2) for name, path in files.items()}
        results: dict[str, dict] = {name: {"file_mb": sizes[name], "seconds": {}, "audio_s_per_s": {}} for name in files}
        reference = None
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            for name, path in files.items():
                model = model_record.load(path).build_model() if name == "torch" else load_onnx(path, threads)[1]
                seconds, log_probs, out_lengths = timed(model, features, lengths, args.repeats)
                results[name]["seconds"][threads] = round(seconds, 3)
                results[name]["audio_s_per_s"][threads] = round(audio_s / seconds, 1)
                if name == "torch":
                    reference = log_probs
                else:
                    results[name]["max_abs_diff"] = round(max(
                        float((log_probs[b, :n] - reference[b, :n]).abs().max())
                        for b, n in enumerate(out_lengths.tolist())), 6)
                log(f"{name:13s} {threads} thread(s): {seconds:.3f} s ({audio_s / seconds:.1f} x real time)")
        for found in results.values():
            found["speedup_vs_torch"] = {threads: round(results["torch"]["seconds"][threads] / seconds, 2)
                                         for threads, seconds in found["seconds"].items()}
        if args.wer:
            torch.set_num_threads(args.wer_threads)
            for name, path in files.items():
                start = time.perf_counter()
                report = evaluate(args.manifest, path, "cpu", reporter=Reporter(None),
                                  results_path=tmp / f"eval-{name}.jsonl")
                results[name]["wer"] = round(100 * report.rates.wer, 2)
                results[name]["cer"] = round(100 * report.rates.cer, 2)
                results[name]["eval_s"] = round(time.perf_counter() - start, 1)
                log(f"{name:13s} WER {results[name]['wer']} % CER {results[name]['cer']} %")
    import onnxruntime
    print(json.dumps({
        "model": str(args.model), "manifest": str(args.manifest), "audio_s": audio_s, "chunk_s": args.chunk,
        "batch": list(features.shape), "repeats": args.repeats, "export_s": round(export_s, 1),
        "torch": torch.__version__, "onnxruntime": onnxruntime.__version__, "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(), "load_avg_1min": round(os.getloadavg()[0], 2), "results": results,
    }))


if __name__ == "__main__":
    main()
