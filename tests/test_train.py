"""The training loop: exact resume after SIGKILL, resume settings, non-finite steps, accumulation,
the output folder's lock and writability (model selection and averaging: test_train_selection.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr import checkpoint, config, manifest
from asr.errors import AsrError
from asr.train import train

ROOT = Path(__file__).resolve().parent.parent

TINY = [
    "model.hidden=16", "model.layers=2", "model.subsample=2", "train.max_batch=4", "train.max_frames=100000",
    "train.warmup_steps=2", "train.log_every=1", "features.n_mels=20",
]


def _settings(*extra: str):
    return config.load(None, TINY + list(extra))


def _weights(path: Path) -> dict:
    return checkpoint.load(path)["model"]["state"]


def _asr(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "asr_cli.main", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_loss_goes_down_and_metrics_are_logged(tiny_digits, tmp_path):
    result = train(tiny_digits, _settings("train.epochs=3", "train.lr=0.01"), tmp_path)
    epochs = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines() if '"epoch"' in l]
    epochs = [e for e in epochs if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert epochs[-1]["loss"] < epochs[0]["loss"]
    for e in epochs:
        assert 0 <= e["clipped_share"] <= 1 and e["grad_norm"] > 0 and e["audio_s_per_s"] > 0
    assert result.model_path.is_file() and 0 <= result.best_dev_wer


@pytest.mark.slow
def test_sigkill_then_resume_gives_identical_weights(tiny_digits, tmp_path):
    common = ["train", str(tiny_digits), "-q", "--set", "train.epochs=6", "--set", "train.checkpoint_every=1",
              "--set", "train.keep=50", "--set", "augment.speeds=[0.9,1.0,1.1]", "--set", "train.seed=3"]
    for kv in TINY:
        common += ["--set", kv]
    killed = _asr(*common, "--out", str(tmp_path / "b"))
    # Kill the second run with SIGKILL in the middle of its second epoch.
    deadline = time.time() + 120
    while not (tmp_path / "b" / "checkpoints" / "step-00000008.pt").exists():
        assert killed.poll() is None, killed.stderr.read()
        assert time.time() < deadline
        time.sleep(0.005)
    assert killed.poll() is None
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "b" / "result.json").exists()
    resumed = _asr(*common, "--out", str(tmp_path / "b"), "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    straight = _asr(*common, "--out", str(tmp_path / "a"))
    assert straight.wait(timeout=300) == 0, straight.stderr.read()
    a, b = _weights(tmp_path / "a" / "checkpoints" / "epoch-006.pt"), _weights(tmp_path / "b" / "checkpoints" / "epoch-006.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_ctrl_c_saves_and_resume_continues(tiny_digits, tmp_path, monkeypatch):
    from asr import train as train_module
    from asr.train import TrainingInterrupted

    calls = {"n": 0}
    real = train_module.Trainer._optimizer_step

    def interrupt_on_third(self, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(train_module.Trainer, "_optimizer_step", interrupt_on_third)
    with pytest.raises(TrainingInterrupted, match="resume"):
        train(tiny_digits, _settings("train.epochs=2"), tmp_path)
    saved = checkpoint.newest(tmp_path / "checkpoints")
    assert saved is not None and checkpoint.load(saved)["train"]["step"] == 2
    monkeypatch.setattr(train_module.Trainer, "_optimizer_step", real)
    result = train(tiny_digits, _settings("train.epochs=2"), tmp_path, resume=True)
    assert result.epochs == 2 and (tmp_path / "checkpoints" / "epoch-002.pt").is_file()
    assert not (tmp_path / ".lock").exists()  # released after Ctrl-C and after success


def test_resume_without_checkpoint_is_explained(tiny_digits, tmp_path):
    with pytest.raises(AsrError, match="nothing to resume"):
        train(tiny_digits, _settings("train.epochs=1"), tmp_path, resume=True)
    assert not (tmp_path / ".lock").exists()  # released after an error


def test_resume_with_other_text_feature_or_model_settings_lists_each_change(tiny_digits, tmp_path, monkeypatch):
    from asr import train as train_module
    from asr.errors import ConfigError

    train(tiny_digits, _settings("train.epochs=1"), tmp_path)
    before = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    built = []
    monkeypatch.setattr(train_module.Normalizer, "from_dict", lambda d: built.append(d))
    changed = ["features.n_mels=16", "features.normalize=utterance", "model.hidden=8", "text.lowercase=false"]
    with pytest.raises(ConfigError) as e:
        train(tiny_digits, _settings("train.epochs=2", *changed), tmp_path, resume=True)
    message = str(e.value)
    for expected in ["features.n_mels: 20 in the checkpoint, 16 now", "features.normalize: global in the checkpoint, "
                     "utterance now", "model.hidden: 16 in the checkpoint, 8 now", "text.lowercase: true in the "
                     "checkpoint, false now", "epoch-001.pt"]:
        assert expected in message
    assert "train.epochs" not in message and built == []  # compared before anything is built from the checkpoint
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == before


def test_resume_may_change_train_settings(tiny_digits, tmp_path):
    train(tiny_digits, _settings("train.epochs=1"), tmp_path)
    result = train(tiny_digits, _settings("train.epochs=2", "train.lr=0.001", "augment.speeds=[0.9,1.0,1.1]"),
                   tmp_path, resume=True)
    assert result.epochs == 2


# ---- the output folder: one training at a time, writable before any work ---------------------------

def _lock_of(pid: int, host: str | None = None) -> str:
    return json.dumps({"pid": pid, "host": host or socket.gethostname()}) + "\n"


def test_a_second_training_into_the_same_folder_refuses(tiny_digits, tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / ".lock").write_text(_lock_of(sleeper.pid))
        with pytest.raises(AsrError, match=rf"{tmp_path}.*pid {sleeper.pid}"):
            train(tiny_digits, _settings("train.epochs=1"), tmp_path)
        assert (tmp_path / ".lock").read_text() == _lock_of(sleeper.pid)  # the owner's lock is left alone
        assert not (tmp_path / "metrics.jsonl").exists() and not (tmp_path / "model.pt").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lock_from_another_host_is_respected(tiny_digits, tmp_path):
    (tmp_path / ".lock").write_text(_lock_of(2 ** 22 + 1, host="elsewhere.example"))
    with pytest.raises(AsrError, match="elsewhere.example"):
        train(tiny_digits, _settings("train.epochs=1"), tmp_path)


def test_a_stale_lock_is_cleared_held_while_training_and_released(tiny_digits, tmp_path, monkeypatch):
    from asr import train as train_module
    from asr.progress import Reporter

    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / ".lock").write_text(_lock_of(gone.pid))
    held, real = [], train_module.Trainer._validate

    def validate(self):
        held.append(json.loads((tmp_path / ".lock").read_text())["pid"])
        return real(self)

    monkeypatch.setattr(train_module.Trainer, "_validate", validate)
    lines = []
    reporter = Reporter()
    reporter.log = lines.append
    train(tiny_digits, _settings("train.epochs=1"), tmp_path, reporter)
    assert held == [os.getpid()]
    assert any("stale lock" in line and str(gone.pid) in line for line in lines)
    assert not (tmp_path / ".lock").exists()


def _never_trains(monkeypatch):
    from asr import train as train_module

    def fail(*args, **kw):
        raise AssertionError("training started")

    monkeypatch.setattr(train_module, "Trainer", fail)


def test_a_checkpoints_file_is_found_before_any_work(tiny_digits, tmp_path, monkeypatch):
    _never_trains(monkeypatch)
    (tmp_path / "checkpoints").write_text("not a folder\n")
    with pytest.raises(AsrError, match="checkpoints"):
        train(tiny_digits, _settings("train.epochs=1"), tmp_path)
    assert (tmp_path / "checkpoints").read_text() == "not a folder\n"
    assert not (tmp_path / "metrics.jsonl").exists() and not (tmp_path / ".lock").exists()


def test_an_output_folder_under_a_file_is_found_before_any_work(tiny_digits, tmp_path, monkeypatch):
    _never_trains(monkeypatch)
    (tmp_path / "file").write_text("")
    with pytest.raises(AsrError, match="file"):
        train(tiny_digits, _settings("train.epochs=1"), tmp_path / "file" / "exp")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_checkpoints_folder_is_found_before_any_work(tiny_digits, tmp_path, monkeypatch):
    train(tiny_digits, _settings("train.epochs=1"), tmp_path)
    before = {p.name: p.read_bytes() for p in (tmp_path / "checkpoints").iterdir()}
    _never_trains(monkeypatch)
    (tmp_path / "checkpoints").chmod(0o555)
    try:
        with pytest.raises(AsrError, match="checkpoints"):
            train(tiny_digits, _settings("train.epochs=2"), tmp_path, resume=True)
    finally:
        (tmp_path / "checkpoints").chmod(0o755)
    assert {p.name: p.read_bytes() for p in (tmp_path / "checkpoints").iterdir()} == before


def test_a_trainer_logs_steps_into_a_folder_it_creates(tiny_digits, tmp_path):
    """What bench/train_speed.py does: an epoch without run() (it crashed past train.log_every steps)."""
    from asr.distributed import Distributed
    from asr.progress import Reporter
    from asr.train import Trainer

    t = Trainer(tiny_digits, _settings("train.epochs=1"), tmp_path / "new" / "exp", Reporter(), Distributed())
    t._train_epoch()
    assert '"event": "step"' in (tmp_path / "new" / "exp" / "metrics.jsonl").read_text()


def test_loader_workers_by_default_only_on_cuda():
    from asr.train import loader_workers

    assert loader_workers(0, torch.device("cpu")) == 0  # CPU: unchanged, bit for bit
    assert loader_workers(3, torch.device("cpu")) == 3
    assert loader_workers(2, torch.device("cuda")) == 2
    assert loader_workers(0, torch.device("cuda")) == max(0, min(4, (os.cpu_count() or 1) - 1))


def _nan_corpus(folder: Path, tiny_digits: Path, poisoned: int) -> Path:
    """A copy of the tiny corpus whose first `poisoned` training files hold NaN samples."""
    utts = manifest.read(tiny_digits / "train.jsonl")
    for i, u in enumerate(utts[:poisoned]):
        data, rate = sf.read(u.audio, dtype="float32")
        data[len(data) // 2] = np.nan
        path = folder / "wav" / f"nan{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, data, rate, subtype="FLOAT")
        u.audio = str(path)
    manifest.write(folder / "train.jsonl", utts)
    manifest.write(folder / "dev.jsonl", manifest.read(tiny_digits / "dev.jsonl"))
    return folder


def test_non_finite_steps_are_skipped_and_counted(tiny_digits, tmp_path):
    data = _nan_corpus(tmp_path / "data", tiny_digits, poisoned=1)
    train(data, _settings("train.epochs=1", "train.max_batch=2"), tmp_path / "exp")
    epoch = [json.loads(l) for l in (tmp_path / "exp" / "metrics.jsonl").read_text().splitlines()][-1]
    assert epoch["skipped_steps"] == 1
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path / "exp" / "model.pt").values())


def test_too_many_non_finite_steps_stop_with_the_utterance_ids(tiny_digits, tmp_path):
    data = _nan_corpus(tmp_path / "data", tiny_digits, poisoned=20)
    with pytest.raises(AsrError, match=r"2 steps in a row.*train-000"):
        train(data, _settings("train.epochs=1", "train.max_batch=12", "train.max_bad_steps=2"), tmp_path / "exp")


def test_normalisation_statistics_need_some_finite_audio(tiny_digits, tmp_path):
    data = _nan_corpus(tmp_path / "data", tiny_digits, poisoned=24)
    with pytest.raises(AsrError, match="no training utterance gave finite features"):
        train(data, _settings("train.epochs=1"), tmp_path / "exp")


def test_gradient_accumulation_matches_one_big_batch(tiny_digits, tmp_path):
    """Two accumulated batches of 12 take the same step as one batch of the same 24."""
    base = ["train.epochs=2", "model.dropout=0", "train.specaugment=false", "train.clip_norm=1000", "train.bucket_size=24"]
    train(tiny_digits, _settings(*base, "train.max_batch=24"), tmp_path / "big")
    train(tiny_digits, _settings(*base, "train.max_batch=12", "train.accumulate=2"), tmp_path / "acc")
    big, acc = _weights(tmp_path / "big" / "checkpoints" / "epoch-002.pt"), _weights(tmp_path / "acc" / "checkpoints" / "epoch-002.pt")
    changed = _weights(tmp_path / "big" / "checkpoints" / "epoch-001.pt")
    for k in big:
        assert torch.allclose(big[k], acc[k], atol=1e-5), k
    assert any(not torch.equal(big[k], changed[k]) for k in big)


def test_a_fresh_run_never_overwrites_an_earlier_one(tiny_digits, tmp_path):
    train(tiny_digits, _settings("train.epochs=1"), tmp_path)
    before = (tmp_path / "model.pt").read_bytes()
    with pytest.raises(AsrError, match="--resume"):
        train(tiny_digits, _settings("train.epochs=1", "train.seed=5"), tmp_path)
    assert (tmp_path / "model.pt").read_bytes() == before


def test_loader_workers_give_the_same_training_as_the_main_process(tiny_digits, tmp_path):
    """Features made in a worker process, augmented with per-utterance seeds, train identically."""
    extra = ["train.epochs=1", "augment.speeds=[0.9,1.0,1.1]"]
    train(tiny_digits, _settings(*extra, "train.workers=0"), tmp_path / "main")
    train(tiny_digits, _settings(*extra, "train.workers=1"), tmp_path / "worker")
    a, b = _weights(tmp_path / "main" / "model.pt"), _weights(tmp_path / "worker" / "model.pt")
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_per_utterance_normalisation_trains_and_transcribes(tiny_digits, tmp_path):
    from asr.features import UtteranceNormalizer
    from asr.recognizer import Recognizer
    from asr.transcribe import transcribe

    train(tiny_digits, _settings("train.epochs=1", "features.normalize=utterance"), tmp_path)
    assert isinstance(Recognizer.load(tmp_path / "model.pt").normalizer, UtteranceNormalizer)
    texts = [o.transcript.text for o in transcribe([manifest.read(tiny_digits / "dev.jsonl")[0].audio], tmp_path / "model.pt")]
    assert len(texts) == 1 and isinstance(texts[0], str)


def test_unknown_normalisation_is_a_settings_error(tiny_digits, tmp_path):
    from asr.errors import ConfigError

    with pytest.raises(ConfigError, match="features.normalize must be one of global, utterance"):
        train(tiny_digits, _settings("train.epochs=1", "features.normalize=speaker"), tmp_path)


def test_batches_follow_the_lengths_at_each_epochs_speeds(tiny_digits, tmp_path):
    """With speed perturbation, batches are cut by each utterance's length at the speed
    it gets that epoch (known before its audio is read), so a batch pads little."""
    from asr.distributed import Distributed
    from asr.progress import Reporter
    from asr.train import Trainer

    s = _settings("augment.speeds=[0.8,1.0,1.2]", "train.max_batch=4", "train.bucket_size=1000")
    t = Trainer(tiny_digits, s, tmp_path, Reporter(), Distributed())
    frames = {e: [t.dataset[(i, e)][0].shape[0] for i in range(len(t.train_utts))] for e in (1, 2)}
    assert frames[1] != frames[2]  # other speeds in another epoch
    for epoch in (1, 2):
        expected = [s.features.frames(u.duration / t.dataset.speed(i, epoch)) for i, u in enumerate(t.train_utts)]
        assert all(abs(a - b) <= 2 for a, b in zip(frames[epoch], expected))
        order = sorted(range(len(expected)), key=lambda i: expected[i])
        batches = t._batches(epoch)
        # one bucket holds every utterance: each batch is a run of neighbours in length order
        assert sorted(i for b in batches for i in b) == list(range(len(expected)))
        for b in batches:
            ranks = sorted(order.index(i) for i in b)
            assert ranks == list(range(ranks[0], ranks[0] + len(b)))


def test_sortagrad_epochs_go_from_short_to_long(tiny_digits, tmp_path):
    from asr.distributed import Distributed
    from asr.progress import Reporter
    from asr.train import Trainer

    t = Trainer(tiny_digits, _settings("train.sortagrad=1", "train.max_batch=4"), tmp_path, Reporter(), Distributed())
    longest = [max(t.train_utts[i].duration for i in b) for b in t._batches(1)]
    assert longest == sorted(longest) and len(longest) > 2
    shuffled = [max(t.train_utts[i].duration for i in b) for b in t._batches(2)]
    assert shuffled != sorted(shuffled)
