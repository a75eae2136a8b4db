"""Which model model.pt is: the selection metric (WER, or CER for unspaced text), early stopping,
and `train.average` kept only when dev agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from asr import checkpoint, config, manifest
from asr import train as train_module
from asr.metrics import ErrorRates
from asr.progress import Reporter
from asr.selection import epochs_to_average, selection_key
from asr.train import train

TINY = ["model.hidden=16", "model.layers=1", "model.subsample=2", "train.max_batch=8", "train.max_frames=100000",
        "train.warmup_steps=2", "features.n_mels=20"]


class Log(Reporter):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def _settings(*extra: str):
    return config.load(None, TINY + list(extra))


def _weights(path: Path) -> dict:
    return checkpoint.load(path)["model"]["state"]


def _epochs(folder: Path) -> list[dict]:
    return [r for r in map(json.loads, (folder / "metrics.jsonl").read_text().splitlines()) if r["event"] == "epoch"]


def _dev_scores(monkeypatch, scores: list[tuple]) -> list:
    """Make each validation (epoch ends, then the average) score the next (WER, CER[, loss]) of
    `scores` (loss 1.0 when not given)."""
    calls = []

    def validate(self):
        wer, cer, loss = (*scores[len(calls)], 1.0)[:3]
        calls.append((wer, cer))
        return ErrorRates(wer, cer, 0, 0, 0, 1, 1), loss

    monkeypatch.setattr(train_module.Trainer, "_validate", validate)
    return calls


def _record(wer: float, cer: float | None = None, loss: float = 1.0) -> dict:
    return {"dev_wer": wer, "dev_cer": wer if cer is None else cer, "dev_loss": loss}


# ---- the decision, on fabricated epoch records ---------------------------------------------------

def test_only_epochs_after_the_all_blank_plateau_are_averaged():
    # The digits corpus with the AN4 recipe and 8 epochs: 4 epochs on the plateau, then learning.
    digits = {e: _record(w) for e, w in enumerate([1.0, 1.0, 1.0, 0.99, 0.7, 0.4, 0.14, 0.2], start=1)}
    assert epochs_to_average(digits, 8, "wer") == [5, 6, 7, 8]
    assert epochs_to_average(digits, 3, "wer") == [6, 7, 8]
    # Only the checkpoints still on disk count (the older ones were pruned).
    assert epochs_to_average({e: digits[e] for e in (6, 7, 8)}, 8, "wer") == [6, 7, 8]
    # A relapse onto the plateau starts over after it.
    relapse = {**digits, 6: _record(0.98)}
    assert epochs_to_average(relapse, 8, "wer") == [7, 8]
    # Nothing learnt, or one epoch off the plateau: nothing to average.
    assert epochs_to_average({e: _record(1.0) for e in (1, 2, 3)}, 8, "wer") == []
    assert epochs_to_average({1: _record(1.0), 2: _record(1.0), 3: _record(0.5)}, 8, "wer") == []


def test_the_plateau_and_the_key_follow_the_selection_metric():
    # Unspaced text: WER (a sentence error rate) stays near 100 % long after CER has moved.
    records = {1: _record(1.0, 1.0), 2: _record(1.0, 0.6), 3: _record(1.0, 0.5)}
    assert epochs_to_average(records, 8, "wer") == []
    assert epochs_to_average(records, 8, "cer") == [2, 3]
    assert selection_key(_record(0.2, 0.1, 3.0), "wer") == [0.2, 0.1, 3.0]
    assert selection_key(_record(0.2, 0.1, 3.0), "cer") == [0.1, 0.2, 3.0]


# ---- the decision inside training ----------------------------------------------------------------

def test_an_average_worse_than_the_best_epoch_is_not_kept(tiny_digits, tmp_path, monkeypatch):
    calls = _dev_scores(monkeypatch, [(1.0, 1.0), (0.5, 0.4), (0.4, 0.3), (0.45, 0.35, 1.2)])
    log = Log()
    result = train(tiny_digits, _settings("train.epochs=3", "train.average=2", "train.keep=1"), tmp_path, log)
    assert len(calls) == 4  # three epochs, then the average of epochs 2-3
    best = _weights(tmp_path / "checkpoints" / "epoch-003.pt")
    final = _weights(tmp_path / "model.pt")
    assert all(torch.equal(final[k], best[k]) for k in best)
    assert checkpoint.load(tmp_path / "model.pt")["info"]["metrics"]["event"] == "epoch"
    assert result.model == "epoch 3" and result.best_dev_wer == 0.4 and result.best_dev_cer == 0.3
    assert ("model.pt: the best epoch (3, dev WER 40.0 %, loss 1.0000): the average of epochs 2-3 scored worse on "
            "both (dev WER 45.0 %, loss 1.2000)") in log.lines


def test_an_average_with_a_lower_dev_loss_is_kept_though_its_rate_is_a_little_worse(tiny_digits, tmp_path,
                                                                                      monkeypatch):
    # AN4's case: a small dev set's WER moves by a word; the loss over every frame is steadier.
    _dev_scores(monkeypatch, [(1.0, 1.0, 2.0), (0.5, 0.4, 1.0), (0.26, 0.15, 0.56), (0.27, 0.14, 0.53)])
    log = Log()
    result = train(tiny_digits, _settings("train.epochs=3", "train.average=2", "train.keep=1"), tmp_path, log)
    assert result.model == "average of epochs 2-3" and result.best_dev_wer == 0.27
    assert ("model.pt: the average of epochs 2-3 (dev WER 27.0 %, loss 0.5300): the best single epoch (3) scored "
            "26.0 %, loss 0.5600") in log.lines


def test_an_average_at_least_as_good_as_the_best_epoch_is_kept(tiny_digits, tmp_path, monkeypatch):
    _dev_scores(monkeypatch, [(1.0, 1.0), (0.5, 0.4), (0.4, 0.3), (0.3, 0.2)])
    log = Log()
    result = train(tiny_digits, _settings("train.epochs=3", "train.average=2", "train.keep=1"), tmp_path, log)
    paths = checkpoint.list_checkpoints(tmp_path / "checkpoints", "epoch-")
    assert [p.name for p in paths] == ["epoch-002.pt", "epoch-003.pt"]
    mean, final = checkpoint.average_weights(paths), _weights(tmp_path / "model.pt")
    assert all(torch.equal(final[k], mean[k]) for k in mean)
    metrics = checkpoint.load(tmp_path / "model.pt")["info"]["metrics"]
    assert metrics["event"] == "average" and metrics["epochs"] == [2, 3]
    assert result.model == "average of epochs 2-3" and result.best_dev_wer == 0.3
    assert any(line.startswith("model.pt: the average of epochs 2-3 (dev WER 30.0 %, loss 1.0000)") for line in log.lines)


def test_epochs_on_the_plateau_are_not_averaged(tiny_digits, tmp_path, monkeypatch):
    calls = _dev_scores(monkeypatch, [(1.0, 1.0), (0.99, 0.97), (0.6, 0.5)])
    log = Log()
    result = train(tiny_digits, _settings("train.epochs=3", "train.average=3"), tmp_path, log)
    assert len(calls) == 3 and result.model == "epoch 3"  # nothing averaged, nothing validated again
    assert any("fewer than 2 epoch checkpoints after the all-blank plateau" in line for line in log.lines)


def test_a_real_run_with_averaging_says_what_model_pt_is(tiny_digits, tmp_path):
    result = train(tiny_digits, _settings("train.epochs=3", "train.average=3", "train.lr=0.01"), tmp_path)
    final = _weights(tmp_path / "model.pt")
    if result.model.startswith("average of epochs"):
        first, last = map(int, result.model.split()[-1].split("-"))
        paths = [tmp_path / "checkpoints" / f"epoch-{e:03d}.pt" for e in range(first, last + 1)]
        mean = checkpoint.average_weights(paths)
        assert all(torch.equal(final[k], mean[k]) for k in mean)
    else:
        epoch = int(result.model.split()[1])
        chosen = _weights(tmp_path / "checkpoints" / f"epoch-{epoch:03d}.pt")
        assert all(torch.equal(final[k], chosen[k]) for k in chosen)
        record = _epochs(tmp_path)[epoch - 1]
        assert (record["dev_wer"], record["dev_cer"]) == (result.best_dev_wer, result.best_dev_cer)
        assert min(selection_key(r, "wer") for r in _epochs(tmp_path)) == selection_key(record, "wer")


# ---- the selection metric ------------------------------------------------------------------------

@pytest.fixture
def unspaced(tiny_digits, tmp_path) -> Path:
    """The tiny corpus with the spaces taken out of every transcript (like Mandarin)."""
    folder = tmp_path / "unspaced"
    for split in ("train", "dev"):
        utts = manifest.read(tiny_digits / f"{split}.jsonl")
        for u in utts:
            u.text = u.text.replace(" ", "")
        manifest.write(folder / f"{split}.jsonl", utts)
    return folder


def test_without_spaces_the_best_epoch_is_picked_by_cer(unspaced, tmp_path, monkeypatch):
    # WER is a sentence error rate here: it stays at 100 % while CER improves; early stopping
    # by WER would have stopped after epoch 2.
    _dev_scores(monkeypatch, [(1.0, 0.9), (1.0, 0.8), (1.0, 0.7)])
    log = Log()
    result = train(unspaced, _settings("train.epochs=3", "train.early_stop=1"), tmp_path / "exp", log)
    assert result.epochs == 3 and result.selection == "cer" and result.model == "epoch 3"
    assert (result.best_dev_wer, result.best_dev_cer) == (1.0, 0.7)
    assert [e["selection"] for e in _epochs(tmp_path / "exp")] == ["cer"] * 3
    assert any(line.startswith("best epoch by dev CER") for line in log.lines)
    assert sum(line.endswith("*best by CER") for line in log.lines) == 3


def test_with_spaces_the_best_epoch_is_picked_by_wer(tiny_digits, tmp_path, monkeypatch):
    _dev_scores(monkeypatch, [(0.9, 0.5), (0.8, 0.6), (0.85, 0.1)])
    log = Log()
    result = train(tiny_digits, _settings("train.epochs=3", "train.early_stop=1"), tmp_path, log)
    assert result.selection == "wer" and result.epochs == 3 and result.model == "epoch 2"
    assert (result.best_dev_wer, result.best_dev_cer) == (0.8, 0.6)
    assert [e["selection"] for e in _epochs(tmp_path)] == ["wer"] * 3
    assert "best epoch by dev WER" in log.lines and sum("*best by WER" in line for line in log.lines) == 2
