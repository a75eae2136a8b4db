"""Training throughput: the asr pipeline against its model-only ceiling and a naive loop.

    python bench/train_speed.py --json [--device cpu|cuda] [--utterances 300] [--set key=value]...

All three measure seconds of audio trained per second of wall time, on the
same utterances of real speech (AN4 from ../shared/data when present, else
the synthetic digits corpus, made on the fly) with the same model and optimizer:

  pipeline    asr's own training epoch (Trainer._train_epoch): features computed on
              the fly (no cache; on CUDA in the trainer's default loader workers, see
              "workers"), length-bucketed batches bounded by max_frames
  model_only  forward + backward + step on the same batches, padded tensors made beforehand
  naive       fixed-size batches drawn at random (the same mean batch size), features
              on the fly, no bucketing: padding computed like real frames

Prints one JSON object on stdout (progress on stderr).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr import config, manifest  # noqa: E402
from asr.corpora import an4, digits  # noqa: E402
from asr.data import collate, utterance_features  # noqa: E402
from asr.distributed import Distributed  # noqa: E402
from asr.model import AcousticModel  # noqa: E402
from asr.progress import Reporter  # noqa: E402
from asr.train import Trainer, _ctc  # noqa: E402

SHARED_AN4 = ROOT.parent / "shared" / "data" / "an4"


def corpus(work: Path, n: int, log) -> tuple[Path, str, list[str]]:
    """A data folder with `n` training utterances of real speech, and the recipe to size the model."""
    if SHARED_AN4.is_dir():
        an4.prepare(work / "full", SHARED_AN4)
        name, recipe = "an4", "an4"
    else:
        digits.prepare(work / "full", train=n, dev=8, test=8)
        name, recipe = "digits (synthetic; ../shared/data/an4 not found)", "digits"
    utts = manifest.read(work / "full" / "train.jsonl")
    random.Random(0).shuffle(utts)
    manifest.write(work / "data" / "train.jsonl", utts[:n])
    manifest.write(work / "data" / "dev.jsonl", manifest.read(work / "full" / "dev.jsonl")[:8])
    log(f"corpus: {name}, {min(n, len(utts))} utterances")
    return work / "data", name, [f"recipes/{recipe}/train.yaml"]


def step(model, optimizer, batch, device, precision, clip) -> None:
    with torch.autocast(device.type, dtype=precision, enabled=precision != torch.float32):
        log_probs, lengths = model(batch.features.to(device), batch.feature_lengths)
    loss = _ctc(log_probs, lengths, batch.targets, batch.target_lengths, device)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()


def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true", help="print only the JSON object on stdout")
    p.add_argument("--device", default="auto")
    p.add_argument("--utterances", type=int, default=300)
    p.add_argument("--set", action="append", default=[], help="extra setting overrides key=value")
    args = p.parse_args()
    log = lambda s: print(s, file=sys.stderr)  # noqa: E731

    with tempfile.TemporaryDirectory() as tmp:
        data, name, recipe = corpus(Path(tmp), args.utterances, log)
        overrides = ["train.cache_features=false", "train.specaugment=false", "train.workers=0",
                     f"train.device={args.device}", "train.epochs=1", *args.set]
        settings = config.load(ROOT / recipe[0], overrides)
        trainer = Trainer(data, settings, Path(tmp) / "exp", Reporter(), Distributed())
        device, precision, clip = trainer.device, trainer.precision, settings.train.clip_norm
        log(f"device {device}, {trainer.workers} loader worker(s)")
        batches = trainer._batches(1)
        utts = trainer.train_utts
        targets = trainer.dataset.targets
        audio_s = sum(utts[i].duration for b in batches for i in b)

        def fresh():
            torch.manual_seed(0)
            model = AcousticModel(settings.features.n_mels, len(trainer.vocab), settings.model).to(device)
            return model, torch.optim.AdamW(model.parameters(), lr=settings.train.lr)

        # Warm-up (allocator, kernels), then the three measurements on the same utterances.
        model, opt = fresh()
        warm = collate([trainer.dataset[(i, 0)][0] for i in batches[0]], [targets[i] for i in batches[0]], ["w"] * len(batches[0]))
        for _ in range(2):
            step(model, opt, warm, device, precision, clip)

        synchronize(device)
        t0 = time.perf_counter()
        trainer._train_epoch()
        synchronize(device)
        pipeline = audio_s / (time.perf_counter() - t0)
        log(f"pipeline: {pipeline:.1f} audio s/s")

        padded = [collate([trainer.dataset[(i, 1)][0] for i in b], [targets[i] for i in b], [utts[i].id for i in b]) for b in batches]
        model, opt = fresh()
        synchronize(device)
        t0 = time.perf_counter()
        for batch in padded:
            step(model, opt, batch, device, precision, clip)
        synchronize(device)
        model_only = audio_s / (time.perf_counter() - t0)
        log(f"model only: {model_only:.1f} audio s/s")

        size = max(1, round(sum(len(b) for b in batches) / len(batches)))
        order = list(range(len(utts)))
        random.Random(1).shuffle(order)
        naive_batches = [order[i : i + size] for i in range(0, len(order), size)]
        model, opt = fresh()
        synchronize(device)
        t0 = time.perf_counter()
        for b in naive_batches:
            feats = [trainer.normalizer(utterance_features(utts[i], trainer.logmel)) for i in b]
            step(model, opt, collate(feats, [targets[i] for i in b], [utts[i].id for i in b]), device, precision, clip)
        synchronize(device)
        naive = sum(utts[i].duration for i in order) / (time.perf_counter() - t0)
        log(f"naive: {naive:.1f} audio s/s")

    padding = lambda bs: 1 - sum(utts[i].duration for b in bs for i in b) / sum(len(b) * max(utts[i].duration for i in b) for b in bs)  # noqa: E731
    result = {
        "corpus": name, "utterances": len(utts), "audio_s": round(audio_s, 1),
        "pipeline_audio_s_per_s": round(pipeline, 1), "model_only_audio_s_per_s": round(model_only, 1),
        "naive_audio_s_per_s": round(naive, 1),
        "pipeline_vs_model_only": round(pipeline / model_only, 3), "pipeline_vs_naive": round(pipeline / naive, 3),
        "padding_share_bucketed": round(padding(batches), 3), "padding_share_naive": round(padding(naive_batches), 3),
        "batches": len(batches), "mean_batch": size, "workers": trainer.workers, "model": settings.model.__dict__ | {},
        "precision": str(precision).replace("torch.", ""), "threads": torch.get_num_threads(),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
