"""The training loop: batch -> forward -> CTC loss -> backward -> clip -> step -> log -> checkpoint.

`train(data_dir, settings, out_dir)` reads `train.jsonl` and `dev.jsonl`
from `data_dir`, and writes into `out_dir`:
    .lock           while a training writes here (the pid and host of its process)
    model.pt        the best checkpoint by dev WER (CER when no dev transcript has a space),
                    or with `average` the mean of the last epochs' weights when dev agrees
    checkpoints/    step-NNNNNNN.pt every `checkpoint_every` steps (the last `keep`)
                    and epoch-NNN.pt at each epoch end; `resume=True` continues
                    from the newest, bit for bit on CPU
    metrics.jsonl   one JSON object per logged step and per epoch, after a "start" one (the step
                    and clipping threshold) each time a run starts or resumes
    plots/          with `plot=True`: the training curves (asr.plots), redrawn at each epoch end
    tensorboard/    with train.tensorboard: the same scalars for TensorBoard
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from asr import checkpoint, lock, manifest
from asr import record as model_record
from asr import resume as resume_from
from asr.augment import WaveAugment
from asr.check import DESCRIPTIONS, trainable
from asr.config import Settings, to_dict
from asr.data import Batch, TrainDataset, collate_items, compute_features, frame_batches, pad_targets
from asr.decoding import DecodingSettings
from asr.distributed import Distributed
from asr.errors import AsrError, ConfigError
from asr.features import NORMALIZATIONS, LogMel, Normalizer, SpecAugment, UtteranceNormalizer
from asr.metrics import error_rates, headline_metric
from asr.model import AcousticModel
from asr.plots import TensorBoard, plot_training, require_tensorboard
from asr.progress import Reporter
from asr.recognizer import Recognizer
from asr.record import ModelRecord
from asr.schedule import Schedule
from asr.selection import choose_average, selection_key
from asr.text import normalize
from asr.vocab import build_vocabulary


class TrainingInterrupted(AsrError):
    """Training stopped by the user after the last state was saved."""



@dataclass
class TrainResult:
    model_path: Path
    best_dev_wer: float
    best_dev_cer: float
    epochs: int
    seconds: float
    selection: str = "wer"  # the dev error rate that picked model.pt: wer, or cer for unspaced text
    model: str = ""  # what model.pt is: "epoch 7" or "average of epochs 49-56"


def train(data_dir: str | Path, settings: Settings, out_dir: str | Path, reporter: Reporter | None = None,
          resume: bool = False, dist: Distributed = Distributed(), plot: bool = False) -> TrainResult:
    """Train on the manifests in `data_dir`; see the module docstring."""
    out_dir, reporter = Path(out_dir), reporter or Reporter()
    if settings.train.tensorboard:
        require_tensorboard()
    # Before any work: one training per folder, and a folder that cannot take checkpoints
    # is found now, not after an epoch.
    if dist.is_main:
        checkpoint.require_writable(out_dir)
    with lock.hold(out_dir, reporter.log) if dist.is_main else contextlib.nullcontext():
        if dist.is_main:
            checkpoint.require_writable(out_dir / "checkpoints")
        if checkpoint.list_checkpoints(out_dir / "checkpoints", "") and not resume:
            raise AsrError(f"{out_dir / 'checkpoints'} holds checkpoints of an earlier run: continue it with "
                           "--resume, or train into another --out (nothing was overwritten)")
        saved = resume_from.newest(out_dir) if resume else None
        if saved:
            resume_from.check_same_settings(*saved, settings)
        try:
            trainer = Trainer(Path(data_dir), settings, out_dir, reporter, dist,
                              normalizer=Normalizer.from_dict(saved[1]["features"]["normalizer"]) if saved else None,
                              plot=plot)
            if saved:
                trainer.resume(*saved)
            result = trainer.run()
        except BaseException:
            dist.stop(clean=False)
            raise
        dist.stop()
    return result


class Trainer:
    """The state of one training run; `run()` reads top to bottom."""

    def __init__(self, data_dir: Path, settings: Settings, out_dir: Path, reporter: Reporter, dist: Distributed,
                 normalizer: Normalizer | UtteranceNormalizer | None = None, plot: bool = False):
        """`normalizer`: the statistics of the run being resumed (else fitted on the training set);
        `plot`: redraw OUT/plots at each epoch end."""
        ts = self.ts = settings.train
        self.settings, self.out_dir, self.dist = settings, out_dir, dist
        self.reporter = reporter if dist.is_main else Reporter()
        self.device = dist.device(ts.device)
        self.workers = loader_workers(ts.workers, self.device)
        self.pin_memory = self.workers > 0 and self.device.type == "cuda"
        dist.start(self.device)
        torch.manual_seed(ts.seed)
        self.started = time.time()

        self.logmel = LogMel(settings.features)
        train_utts = _read(data_dir / "train.jsonl")
        self.vocab = build_vocabulary([normalize(u.text, settings.text) for u in train_utts], settings.text)
        self.train_utts, self.train_texts = self._select("train", train_utts, data_dir / "train.jsonl")
        self.dev_utts, self.dev_texts = self._select("dev", _read(data_dir / "dev.jsonl"), data_dir / "dev.jsonl")
        self.normalizer = normalizer or self._fit_normalizer()
        self.dev_features = [self.normalizer(f) for f in compute_features(self.dev_utts, self.logmel, self.workers)]
        self.dev_targets = [self.vocab.encode(t, skip_unknown=True) for t in self.dev_texts]
        # Without spaces (Mandarin) WER is a sentence error rate: epochs are then picked by CER.
        self.selection = headline_metric(self.dev_texts)

        self.model = AcousticModel(settings.features.n_mels, len(self.vocab), settings.model).to(self.device)
        self.net = self.model
        # Dev decoding goes through the Recognizer as `asr evaluate` does, with the live model.
        self.recognizer = Recognizer(self._record({}), self.device, DecodingSettings(), model=self.model)
        if dist.enabled:
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=[self.device] if self.device.type == "cuda" else None)
        if ts.compile:
            self.net = torch.compile(self.net)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=ts.lr, weight_decay=ts.weight_decay)
        self.precision = _precision(ts.precision, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == torch.float16)
        self.dataset = TrainDataset(
            self.train_utts, [self.vocab.encode(t) for t in self.train_texts], self.logmel, self.normalizer,
            WaveAugment(settings.augment, settings.features.sample_rate) if settings.augment.active else None,
            SpecAugment(settings.specaugment) if ts.specaugment else None, ts.seed, ts.cache_features and self.workers == 0,
        )
        self.steps_per_epoch = math.ceil(len(self._batches(1)) / ts.accumulate)
        self.schedule = Schedule(ts.schedule, ts.lr, ts.warmup_steps, ts.epochs * self.steps_per_epoch,
                                 ts.final_lr_ratio, ts.plateau_patience)
        # best: the selection key of the best epoch so far (see selection_key)
        self.state = {"epoch": 1, "position": 0, "step": 0, "best": [math.inf, math.inf, math.inf], "best_epoch": 0,
                      "bad_steps": 0, "skipped_steps": 0, "stale_epochs": 0, "running": _new_running()}
        self.log_path = out_dir / "metrics.jsonl"
        self.plot, self.plot_failed = plot, False
        self.board: TensorBoard | None = None  # train.tensorboard's writer while run() runs
        if dist.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
        self.reporter.log(
            f"model: {settings.model.layers}x{settings.model.hidden} "
            f"{'bi' if settings.model.bidirectional else ''}{settings.model.cell.upper()}, subsample "
            f"{settings.model.subsample} ({settings.model.frontend}), {self.model.num_parameters() / 1e6:.2f}M "
            f"parameters, vocabulary {len(self.vocab)}, device {self.device}, {self.precision}, "
            f"{dist.world_size} process(es), {self.steps_per_epoch} steps/epoch, "
            f"{self.workers or 'no'} loader worker(s){' (pinned memory)' if self.pin_memory else ''}"
        )
        self.reporter.log(f"best epoch by dev {self.selection.upper()}" + (
            " (no dev transcript has a space: WER would be a sentence error rate)" if self.selection == "cer" else ""))

    # ---- the loop -------------------------------------------------------------------------
    def run(self) -> TrainResult:
        ts, st = self.ts, self.state
        if self.dist.is_main:
            if st["step"] == 0 and st["position"] == 0:
                self.log_path.write_text("")
            # Where this run starts (a resumed one logs again what came after its checkpoint) and the
            # clipping threshold the plots draw: train settings may change on resume.
            self._log({"event": "start", "epoch": st["epoch"], "step": st["step"], "clip_norm": ts.clip_norm})
            if ts.tensorboard:
                self.board = TensorBoard(self.out_dir / "tensorboard", purge_step=st["step"] + 1)
        try:
            while st["epoch"] <= ts.epochs:
                self._train_epoch()
                if self._end_epoch():
                    break
        except KeyboardInterrupt:
            self._save_step_checkpoint()
            raise TrainingInterrupted(
                f"interrupted at epoch {st['epoch']} step {st['step']}; resume with --resume "
                f"(state saved in {self.out_dir / 'checkpoints'})") from None
        finally:
            if self.board is not None:
                self.board.close()
        model = f"epoch {st['best_epoch']}"
        if ts.average > 1 and self.dist.is_main:
            model = self._average() or model
        wer, cer = st["best"][:2] if self.selection == "wer" else st["best"][1::-1]
        return TrainResult(self.out_dir / "model.pt", wer, cer, st["epoch"] - 1, time.time() - self.started,
                           self.selection, model)

    def _train_epoch(self) -> None:
        ts, st = self.ts, self.state
        self.model.train()
        batches = self._batches(st["epoch"])
        todo = batches[st["position"]:]
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=[[(i, st["epoch"]) for i in b] for b in todo],
            collate_fn=collate_items, num_workers=self.workers, generator=torch.Generator(),
            persistent_workers=False, prefetch_factor=4 if self.workers else None, pin_memory=self.pin_memory,
        )
        t0 = time.time()
        with self.reporter.progress(f"epoch {st['epoch']}", len(batches)) as advance:
            for _ in range(st["position"]):
                advance()
            for batch in loader:
                loss = self._forward_backward(batch)
                st["position"] += 1
                if st["position"] % ts.accumulate == 0 or st["position"] == len(batches):
                    self._optimizer_step(batch)
                    if ts.checkpoint_every and st["step"] % ts.checkpoint_every == 0:
                        self._save_step_checkpoint()
                advance(loss=loss)
        st["running"]["seconds"] += time.time() - t0

    def _forward_backward(self, batch: Batch) -> float:
        """Loss of one batch, its gradients added to the parameters' (scaled for accumulation)."""
        with torch.autocast(self.device.type, dtype=self.precision, enabled=self.precision != torch.float32):
            log_probs, out_lengths = self.net(batch.features.to(self.device, non_blocking=True), batch.feature_lengths)
        loss = _ctc(log_probs, out_lengths, batch.targets, batch.target_lengths, self.device)
        self.scaler.scale(loss / self.ts.accumulate).backward()
        run = self.state["running"]
        value = loss.item()
        run["finite"] = run["finite"] and math.isfinite(value)
        run["audio_s"] += float(batch.feature_lengths.sum()) * self.settings.features.hop_ms / 1000
        if math.isfinite(value):
            run["loss"] += value
            run["batches"] += 1
        run["ids"] = batch.ids
        return value

    def _optimizer_step(self, batch: Batch) -> None:
        """Clip, check, step (or skip a non-finite step), schedule, log."""
        ts, st, run = self.ts, self.state, self.state["running"]
        self.scaler.unscale_(self.optimizer)
        # RNN loss surfaces have cliffs: one step off a cliff would undo hours of
        # training, so the gradient norm is clipped, and how often is logged.
        norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), ts.clip_norm))
        bad = self.dist.any(not (math.isfinite(norm) and run["finite"]), self.device)
        run["finite"] = True
        if bad and self.precision != torch.float16:
            self.optimizer.zero_grad(set_to_none=True)
            st["bad_steps"] += 1
            st["skipped_steps"] += 1
            if st["bad_steps"] >= ts.max_bad_steps:
                raise AsrError(
                    f"{st['bad_steps']} steps in a row had a non-finite loss or gradient; the last batch held "
                    f"{', '.join(run['ids'][:20])} (check these with `asr check`, or lower train.lr)")
            return
        st["bad_steps"] = 0
        for group in self.optimizer.param_groups:
            group["lr"] = self.schedule.lr(st["step"])
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        st["step"] += 1
        run["steps"] += 1
        run["norm"] += norm
        run["clipped"] += norm > ts.clip_norm
        if st["step"] % ts.log_every == 0 and self.dist.is_main:
            self._log({"event": "step", "epoch": st["epoch"], "step": st["step"],
                       "loss": round(run["loss"] / max(run["batches"], 1), 4), "grad_norm": round(norm, 3),
                       "clipped": norm > ts.clip_norm, "lr": self.schedule.lr(st["step"] - 1)})

    def _end_epoch(self) -> bool:
        """Validate, log, keep the best; True when training should stop early."""
        ts, st, run = self.ts, self.state, self.state["running"]
        rates, dev_loss = self._validate()
        self.schedule.epoch_end(dev_loss)
        audio_s = self.dist.total(run["audio_s"], self.device)
        n = max(run["steps"], 1)
        metrics = {"event": "epoch", "epoch": st["epoch"], "step": st["step"],
                   "loss": run["loss"] / max(run["batches"], 1), "grad_norm": run["norm"] / n,
                   "clipped_share": run["clipped"] / n, "skipped_steps": st["skipped_steps"], "dev_loss": dev_loss,
                   "dev_wer": rates.wer, "dev_cer": rates.cer, "seconds": round(run["seconds"], 2),
                   "audio_s_per_s": round(audio_s / max(run["seconds"], 1e-9), 1), "selection": self.selection}
        key = selection_key(metrics, self.selection)
        best = key < st["best"]
        st["stale_epochs"] = 0 if key[0] < st["best"][0] else st["stale_epochs"] + 1
        if best:
            st["best"], st["best_epoch"] = key, st["epoch"]
        self.reporter.log(
            f"epoch {st['epoch']}/{ts.epochs}  loss {metrics['loss']:.3f}  dev WER {100 * rates.wer:.2f}%  "
            f"CER {100 * rates.cer:.2f}%  grad-norm {metrics['grad_norm']:.2f} (clipped "
            f"{100 * metrics['clipped_share']:.0f}% of steps)  {metrics['audio_s_per_s']:.0f} audio s/s  "
            f"{run['seconds']:.0f} s{f'  *best by {self.selection.upper()}' if best else ''}")
        st["epoch"] += 1
        st["position"] = 0
        st["running"] = _new_running()
        stop = bool(ts.early_stop) and st["stale_epochs"] >= ts.early_stop
        if self.dist.is_main:
            self._log(metrics)
            payload = self._payload(metrics)
            checkpoint.save(self.out_dir / "checkpoints" / f"epoch-{st['epoch'] - 1:03d}.pt", payload)
            checkpoint.prune(self.out_dir / "checkpoints", "epoch-", max(ts.keep, ts.average))
            if best:
                model_record.save(self.out_dir / "model.pt", self._record({"metrics": metrics, "selection": self.selection,
                                                                             "model": f"epoch {st['epoch'] - 1}"}))
        if self.plot and self.dist.is_main:
            self._refresh_plots()
        if stop:
            self.reporter.log(f"early stop: dev {self.selection.upper()} has not improved for {ts.early_stop} epochs")
        return stop

    def _log(self, record: dict) -> None:
        """One line of metrics.jsonl, and its scalars to TensorBoard with train.tensorboard."""
        _append(self.log_path, record)
        if self.board is not None:
            self.board.add(record)

    def _refresh_plots(self) -> None:
        """`plot=True`: redraw OUT/plots. Plots are a view: one that fails is reported once, and
        training goes on (any error: a font, a full disk, a matplotlib bug must not cost the run)."""
        try:
            plot_training(self.out_dir)
        except Exception as e:  # noqa: BLE001
            if not self.plot_failed:
                self.reporter.log(f"warning: the plots in {self.out_dir / 'plots'} were not redrawn ({e}); "
                                  "training goes on (draw them later with `asr plot`)")
            self.plot_failed = True

    @torch.no_grad()
    def _validate(self) -> tuple:
        """Error rates (greedy decoding, through the Recognizer as `asr evaluate` decodes) and the
        mean CTC loss on the dev split."""
        rec = self.recognizer
        hyps: list[str] = [""] * len(self.dev_features)
        total = 0.0
        for idx, log_probs, out_lengths in rec.posteriors(self.dev_features):
            targets, target_lengths = pad_targets([self.dev_targets[i] for i in idx])
            total += _ctc(log_probs, out_lengths, targets, target_lengths, self.device).item() * len(idx)
            for i, result in zip(idx, rec.decode(log_probs, out_lengths)):
                hyps[i] = result.text
        return error_rates(self.dev_texts, hyps), round(total / max(len(hyps), 1), 4)

    # ---- checkpoints ----------------------------------------------------------------------
    def _record(self, info: dict) -> ModelRecord:
        """What model.pt holds: the model as it is now (weights not copied), with `info`."""
        s = self.settings
        return ModelRecord(s.text, s.features, s.model, self.vocab, self.normalizer, self.model.state_dict(),
                           info={"settings": to_dict(s), **info})

    def _payload(self, metrics: dict) -> dict:
        """A training checkpoint: the model record and the state to resume from."""
        return {**self._record({"metrics": metrics, "selection": self.selection}).to_dict(),
                "train": {**{k: v for k, v in self.state.items()}, "metrics": metrics,
                          "optimizer": self.optimizer.state_dict(), "schedule": self.schedule.state_dict(),
                          "scaler": self.scaler.state_dict(), "rng": torch.get_rng_state(),
                          "world_size": self.dist.world_size, "selection": self.selection}}

    def _save_step_checkpoint(self) -> None:
        if self.dist.is_main:
            checkpoint.save(self.out_dir / "checkpoints" / f"step-{self.state['step']:08d}.pt",
                            self._payload({"event": "step", "step": self.state["step"]}))
            checkpoint.prune(self.out_dir / "checkpoints", "step-", self.ts.keep)

    def resume(self, path: Path, record: dict) -> None:
        """Continue from checkpoint `record` (read from `path`, its settings checked by
        `resume.check_same_settings`); the normalizer came in with the constructor."""
        if record["vocab"] != self.vocab.to_dict():
            if record["vocab"].get("kind") == "bpe" and "merges" in record["vocab"]:
                raise AsrError(f"{path}: its word pieces come from asr's former BPE learner, which sentencepiece "
                               "has replaced; its model.pt still transcribes, but training cannot resume: start "
                               "again in a new --out")
            raise AsrError(f"{path}: the vocabulary differs from this data's; resume with the same data")
        tr = record["train"]
        if tr.get("world_size", 1) != self.dist.world_size:
            raise AsrError(f"{path}: saved by {tr.get('world_size', 1)} process(es); resume with as many")
        self.model.load_state_dict(record["model"]["state"])
        self.optimizer.load_state_dict(tr["optimizer"])
        self.schedule.load_state_dict(tr["schedule"])
        self.scaler.load_state_dict(tr["scaler"])
        torch.set_rng_state(tr["rng"])
        self.state = {k: tr.get(k, v) for k, v in self.state.items()}  # best_epoch: new in this version
        if tr.get("selection", "wer") != self.selection:  # the same key order as this run's
            self.state["best"] = [*self.state["best"][1::-1], self.state["best"][2]]
        self.reporter.log(f"resumed from {path}: epoch {self.state['epoch']}, step {self.state['step']}")

    def _average(self) -> str | None:
        """Make model.pt the mean of the last `average` epochs' weights when dev agrees (see
        `selection.choose_average`); what model.pt then is ("average of epochs 5-8"), else None."""
        st = self.state
        chosen = choose_average(self.out_dir / "checkpoints", self.ts.average, self.selection, st["best"],
                                st["best_epoch"], self._validate_weights, self.reporter.log)
        if chosen is None:
            return None
        epochs, record = chosen
        st["best"] = selection_key(record, self.selection)
        model_record.save(self.out_dir / "model.pt", self._record({
            "metrics": {"event": "average", "epochs": epochs, **record}, "selection": self.selection,
            "model": f"average of epochs {epochs[0]}-{epochs[-1]}"}))
        return f"average of epochs {epochs[0]}-{epochs[-1]}"

    def _validate_weights(self, state: dict) -> dict:
        """The dev record (dev_wer, dev_cer, dev_loss) of the model with these weights."""
        self.model.load_state_dict(state)
        rates, dev_loss = self._validate()
        return {"dev_wer": rates.wer, "dev_cer": rates.cer, "dev_loss": dev_loss}

    # ---- data -----------------------------------------------------------------------------
    def _batches(self, epoch: int) -> list[list[int]]:
        """This epoch's batches, by the lengths the utterances have at this epoch's speeds
        (sorting by nominal length would pad up to 15 % more with 0.9/1.0/1.1 perturbation)."""
        ts, frames = self.ts, self.settings.features.frames
        lengths = [frames(u.duration / self.dataset.speed(i, epoch)) for i, u in enumerate(self.train_utts)]
        if epoch <= ts.sortagrad:
            # SortaGrad (DeepSpeech 2): shortest utterances first, where CTC finds its
            # first alignments soonest; the model leaves the all-blank plateau earlier.
            return self.dist.shard(frame_batches(lengths, ts.max_frames, ts.max_batch))
        batches = frame_batches(lengths, ts.max_frames, ts.max_batch, shuffle=True,
                                seed=ts.seed * 7919 + epoch, bucket_size=ts.bucket_size or 8 * ts.max_batch)
        return self.dist.shard(batches)

    def _select(self, name: str, utts: list, path: Path) -> tuple[list, list[str]]:
        """Drop what cannot train (the checks of `asr check`, cached), saying how many and why."""
        s = self.settings
        keep, dropped = trainable(utts, self.vocab if name == "train" else None, s.text, s.features,
                                  s.model.subsample, self.ts.max_duration, manifest_path=path,
                                  for_training=name == "train", workers=2)
        for code, count in sorted(dropped.items()):
            self.reporter.log(f"{name}: dropped {count} utterance(s): {DESCRIPTIONS.get(code, code)} [{code}]")
        if not keep:
            raise AsrError(f"{path}: no usable utterances left (run `asr check {path}` to see why)")
        return keep, [normalize(u.text, s.text) for u in keep]

    def _fit_normalizer(self) -> Normalizer | UtteranceNormalizer:
        """Feature statistics of up to `stats_utterances` training utterances (a fixed random sample),
        or nothing to fit with features.normalize=utterance."""
        kind = self.settings.features.normalize
        if kind not in NORMALIZATIONS:
            raise ConfigError(f"features.normalize must be one of {', '.join(NORMALIZATIONS)}, not {kind!r}")
        if kind == "utterance":
            return UtteranceNormalizer()
        g = torch.Generator().manual_seed(self.ts.seed)
        order = torch.randperm(len(self.train_utts), generator=g)[: self.ts.stats_utterances].tolist()
        sample = [self.train_utts[i] for i in sorted(order)]
        with self.reporter.progress("feature statistics", len(sample)) as advance:
            return Normalizer.fit(compute_features(sample, self.logmel, self.workers, on_item=advance))


def loader_workers(requested: int, device: torch.device) -> int:
    """Feature processes for `train.workers` (0: the default). A GPU waiting for features made one
    utterance at a time on the CPU idles most of the time (a third of its speed on an H200), so on
    CUDA the default is up to 4 workers preparing the next batches; on CPU, the main process."""
    if requested or device.type != "cuda":
        return requested
    return max(0, min(4, (os.cpu_count() or 1) - 1))






def _ctc(log_probs: torch.Tensor, out_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor,
         device: torch.device) -> torch.Tensor:
    """Mean CTC loss of a batch: log_probs (B, T', V), padded targets (B, S), lengths (B,) each;
    CTC sums over every alignment of each target."""
    return F.ctc_loss(log_probs.float().transpose(0, 1), targets.to(device), out_lengths, target_lengths,
                      blank=0, reduction="mean", zero_infinity=True)


def _new_running() -> dict:
    return {"loss": 0.0, "batches": 0, "steps": 0, "norm": 0.0, "clipped": 0, "audio_s": 0.0,
            "seconds": 0.0, "finite": True, "ids": []}


def _precision(name: str, device: torch.device) -> torch.dtype:
    choices = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    if name not in choices:
        raise ConfigError(f"train.precision must be auto, fp32, bf16 or fp16, not {name!r}")
    if name == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
    return choices[name]


def _read(path: Path) -> list[manifest.Utterance]:
    utts = manifest.read(path)
    if not utts:
        raise AsrError(f"{path}: no utterances (prepare data with `asr prep`)")
    return utts


def _append(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
