"""The training loop: batch -> forward -> CTC loss -> backward -> clip -> step -> log -> checkpoint.

`train(data_dir, settings, out_dir)` reads `train.jsonl` and `dev.jsonl`
from `data_dir`, and writes into `out_dir`:
    model.pt       the best checkpoint by dev WER (everything to transcribe and resume)
    last.pt        the checkpoint of the last finished epoch
    metrics.jsonl  one JSON object per logged step and per epoch
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from asr import checkpoint, manifest
from asr.config import Settings, to_dict
from asr.data import Batch, collate, compute_features, ctc_frames_needed, frame_batches
from asr.decoding import GreedyDecoder
from asr.errors import AsrError
from asr.features import LogMel, Normalizer, SpecAugment
from asr.metrics import error_rates
from asr.model import AcousticModel, output_lengths
from asr.progress import Reporter
from asr.text import Vocabulary, normalize


class TrainingInterrupted(AsrError):
    """Training stopped by the user after the last state was saved."""


@dataclass
class TrainResult:
    model_path: Path
    best_dev_wer: float
    best_dev_cer: float
    epochs: int
    seconds: float


@dataclass
class _Split:
    """Utterances of one split with their normalised texts, token ids and features."""

    ids: list[str]
    texts: list[str]
    targets: list[list[int]]
    features: list[torch.Tensor]
    seconds: float


def train(data_dir: str | Path, settings: Settings, out_dir: str | Path, reporter: Reporter | None = None) -> TrainResult:
    """Train a model on the manifests in `data_dir`; see the module docstring."""
    reporter = reporter or Reporter()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    ts = settings.train
    torch.manual_seed(ts.seed)
    random.seed(ts.seed)
    device = _device(ts.device)
    started = time.time()

    logmel = LogMel(settings.features)
    train_utts = _read(data_dir / "train.jsonl", settings)
    vocab = Vocabulary.build(normalize(u.text, settings.text) for u in train_utts)
    train_set = _load_split("train", train_utts, vocab, logmel, settings, reporter)
    dev_set = _load_split("dev", _read(data_dir / "dev.jsonl", settings), vocab, logmel, settings, reporter)
    normalizer = Normalizer.fit(train_set.features)
    for split in (train_set, dev_set):
        split.features = [normalizer(f) for f in split.features]

    model = AcousticModel(settings.features.n_mels, len(vocab), settings.model).to(device)
    reporter.log(
        f"model: {settings.model.layers}x{settings.model.hidden} "
        f"{'bi' if settings.model.bidirectional else ''}{settings.model.cell.upper()}, "
        f"subsample {settings.model.subsample} ({settings.model.frontend}), "
        f"{model.num_parameters() / 1e6:.2f}M parameters, vocabulary {len(vocab)}, device {device}"
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=ts.lr, weight_decay=ts.weight_decay)
    lengths = [f.shape[0] for f in train_set.features]
    steps_per_epoch = len(frame_batches(lengths, ts.max_frames, ts.max_batch))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(ts.warmup_steps, ts.epochs * steps_per_epoch, ts.final_lr_ratio))
    augment = SpecAugment(settings.specaugment) if ts.specaugment else None

    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "metrics.jsonl"
    log_path.write_text("")
    state = {"epoch": 0, "step": 0, "best": (math.inf, math.inf, math.inf)}

    def save(path: Path, metrics: dict) -> None:
        checkpoint.save(path, {
            "settings": to_dict(settings), "vocab": vocab.to_dict(), "text": to_dict(settings.text),
            "features": {"settings": to_dict(settings.features), "normalizer": normalizer.to_dict()},
            "model": {"n_inputs": settings.features.n_mels, "vocab_size": len(vocab),
                      "settings": to_dict(settings.model), "state": model.state_dict()},
            "train": {"epoch": state["epoch"], "step": state["step"], "metrics": metrics,
                      "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
        })

    try:
        for epoch in range(1, ts.epochs + 1):
            state["epoch"] = epoch
            t0 = time.time()
            stats = _train_epoch(model, optimizer, scheduler, train_set, augment, settings, device, epoch, state, reporter, log_path)
            rates, dev_loss = _validate(model, dev_set, vocab, device)
            seconds = time.time() - t0
            metrics = {"event": "epoch", "epoch": epoch, "step": state["step"], **stats, "dev_loss": dev_loss,
                       "dev_wer": rates.wer, "dev_cer": rates.cer, "seconds": round(seconds, 2),
                       "audio_s_per_s": round(train_set.seconds / seconds, 1)}
            _append(log_path, metrics)
            # Best by dev WER; ties (common on small dev sets) go to lower CER, then lower dev loss.
            key = (rates.wer, rates.cer, dev_loss)
            best = key < state["best"]
            reporter.log(
                f"epoch {epoch}/{ts.epochs}  loss {stats['loss']:.3f}  dev WER {100 * rates.wer:.2f}%  "
                f"CER {100 * rates.cer:.2f}%  grad-norm {stats['grad_norm']:.2f} "
                f"(clipped {100 * stats['clipped_share']:.0f}% of steps)  {seconds:.0f} s{'  *best' if best else ''}"
            )
            save(out_dir / "last.pt", metrics)
            if best:
                state["best"] = key
                save(out_dir / "model.pt", metrics)
    except KeyboardInterrupt:
        save(out_dir / "last.pt", {"event": "interrupted", "epoch": state["epoch"], "step": state["step"]})
        raise TrainingInterrupted(f"interrupted at epoch {state['epoch']} step {state['step']}; state saved to {out_dir / 'last.pt'}") from None
    return TrainResult(out_dir / "model.pt", state["best"][0], state["best"][1], ts.epochs, time.time() - started)


def _train_epoch(model, optimizer, scheduler, split: _Split, augment, settings: Settings, device, epoch, state, reporter, log_path) -> dict:
    """One pass over the training set; returns the epoch's loss and clipping figures."""
    ts = settings.train
    model.train()
    lengths = [f.shape[0] for f in split.features]
    batches = frame_batches(lengths, ts.max_frames, ts.max_batch, shuffle=True, seed=ts.seed + epoch, bucket_size=ts.max_batch * 8)
    total_loss, norms, clipped = 0.0, [], 0
    with reporter.progress(f"epoch {epoch}", len(batches)) as advance:
        for idx in batches:
            feats = [split.features[i] for i in idx]
            if augment is not None:
                feats = [augment(f) for f in feats]
            batch = collate(feats, [split.targets[i] for i in idx], [split.ids[i] for i in idx])
            loss = _ctc_loss(model, batch, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # RNN loss surfaces have cliffs: one step off a cliff would undo hours of
            # training, so the gradient norm is clipped, and how often is logged.
            norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), ts.clip_norm))
            optimizer.step()
            scheduler.step()
            state["step"] += 1
            total_loss += loss.item()
            norms.append(norm)
            clipped += norm > ts.clip_norm
            if state["step"] % ts.log_every == 0:
                _append(log_path, {"event": "step", "epoch": epoch, "step": state["step"], "loss": round(loss.item(), 4),
                                   "grad_norm": round(norm, 3), "clipped": norm > ts.clip_norm, "lr": scheduler.get_last_lr()[0]})
            advance(loss=loss.item())
    n = max(len(batches), 1)
    return {"loss": total_loss / n, "grad_norm": sum(norms) / n, "clipped_share": clipped / n, "steps": len(batches)}


@torch.no_grad()
def _validate(model: AcousticModel, split: _Split, vocab: Vocabulary, device: torch.device) -> tuple:
    """Greedy-decoding error rates and mean CTC loss on a held-out split."""
    model.eval()
    decoder = GreedyDecoder(vocab.blank)
    hyps: list[str] = [""] * len(split.ids)
    total, count = 0.0, 0
    for idx in frame_batches([f.shape[0] for f in split.features], max_frames=60000, max_batch=64):
        batch = collate([split.features[i] for i in idx], [split.targets[i] for i in idx], [split.ids[i] for i in idx])
        log_probs, out_lengths = model(batch.features.to(device), batch.feature_lengths)
        total += _ctc(log_probs, out_lengths, batch, device).item() * len(idx)
        count += len(idx)
        for i, ids in zip(idx, decoder(log_probs, out_lengths)):
            hyps[i] = vocab.decode(ids)
    return error_rates(split.texts, hyps), round(total / max(count, 1), 4)


def _ctc(log_probs: torch.Tensor, out_lengths: torch.Tensor, batch: Batch, device: torch.device) -> torch.Tensor:
    return F.ctc_loss(
        log_probs.transpose(0, 1), batch.targets.to(device), out_lengths, batch.target_lengths,
        blank=0, reduction="mean", zero_infinity=True,
    )


def _ctc_loss(model: AcousticModel, batch: Batch, device: torch.device) -> torch.Tensor:
    """Mean CTC loss of a batch; CTC sums over every alignment of each target."""
    log_probs, out_lengths = model(batch.features.to(device), batch.feature_lengths)
    return _ctc(log_probs, out_lengths, batch, device)


def _read(path: Path, settings: Settings) -> list[manifest.Utterance]:
    utts = manifest.read(path)
    if not utts:
        raise AsrError(f"{path}: no utterances (prepare data with `asr prep`)")
    return utts


def _load_split(name, utts, vocab: Vocabulary, logmel: LogMel, settings: Settings, reporter: Reporter) -> _Split:
    """Normalise texts, drop what cannot train, and compute features."""
    ts = settings.train
    keep, dropped = [], {}
    for u in utts:
        text = normalize(u.text, settings.text)
        reason = None
        if u.duration > ts.max_duration:
            reason = f"longer than train.max_duration={ts.max_duration:g} s"
        elif name == "train" and not text:
            reason = "empty transcript"
        elif name == "train":
            frames = int(output_lengths(torch.tensor(settings.features.frames(u.duration)), settings.model.subsample))
            if ctc_frames_needed(vocab.encode(text)) > frames:
                reason = "transcript too long for its audio (CTC-infeasible)"
        if reason:
            dropped[reason] = dropped.get(reason, 0) + 1
        else:
            keep.append((u, text))
    for reason, count in dropped.items():
        reporter.log(f"{name}: dropped {count} utterance(s): {reason}")
    if not keep:
        raise AsrError(f"{name}: no usable utterances left")
    with reporter.progress(f"features {name}", len(keep)) as advance:
        feats = compute_features([u for u, _ in keep], logmel, workers=0, on_item=advance)
    # Dev targets are only scored by the loss: characters the training set never had are left out.
    targets = [vocab.encode(t, skip_unknown=name != "train") for _, t in keep]
    return _Split([u.id for u, _ in keep], [t for _, t in keep], targets, feats, sum(u.duration for u, _ in keep))


def _schedule(warmup: int, total: int, final_ratio: float):
    """Linear warm-up to the peak rate, then cosine decay to `final_ratio` of it."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return final_ratio + (1 - final_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _append(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
