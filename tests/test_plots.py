"""Training plots (asr.plots, `asr plot`, `asr train --plot`) and the TensorBoard scalars, from
metrics files with known values: a resume that logs steps again, clipped steps, values that
cannot be drawn."""

from __future__ import annotations

import io
import json
import math
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from asr import checkpoint, config, plots
from asr.errors import AsrError, ConfigError

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["model.hidden=16", "model.layers=1", "model.subsample=2", "train.max_batch=8", "train.max_frames=100000",
        "train.warmup_steps=2", "train.log_every=1", "features.n_mels=20"]


def _step(epoch, step, loss, grad_norm, clipped, lr):
    record = {"event": "step", "epoch": epoch, "step": step, "loss": loss, "grad_norm": grad_norm, "clipped": clipped,
              "lr": lr}
    return {k: v for k, v in record.items() if v is not None}


def _epoch(epoch, step, loss, share, dev_loss, wer, cer):
    return {"event": "epoch", "epoch": epoch, "step": step, "loss": loss, "grad_norm": 1.0, "clipped_share": share,
            "skipped_steps": 0, "dev_loss": dev_loss, "dev_wer": wer, "dev_cer": cer, "seconds": 1.0,
            "audio_s_per_s": 100.0, "selection": "wer"}


# Three epochs, clip_norm 2. Killed after step 6, resumed from the checkpoint of step 5: the
# step 6 logged before the kill (loss 99) is replaced by the one logged after the resume.
RUN = [
    {"event": "start", "epoch": 1, "step": 0, "clip_norm": 2.0},
    _step(1, 1, 9.0, 8.0, True, 0.001),
    _step(1, 2, 7.0, 1.5, False, 0.002),
    _step(1, 3, math.nan, 3.0, True, 0.003),  # loss not drawn, the clipped step is
    _step(1, 4, 5.0, math.inf, False, None),  # gradient norm not drawn, no lr logged
    _epoch(1, 4, 6.0, 0.5, 4.0, 1.0, 0.9),
    _step(2, 5, 4.0, 1.0, False, 0.004),
    _step(2, 6, 99.0, 99.0, True, 0.009),
    {"event": "start", "epoch": 2, "step": 5, "clip_norm": 2.0},
    _step(2, 6, 3.5, 2.5, True, 0.005),
    _step(2, 7, 3.0, 0.5, False, 0.006),
    _epoch(2, 7, 3.4, 1 / 3, 2.5, 0.5, 0.3),
    _step(3, 8, 2.0, 0.25, False, 0.007),
    _epoch(3, 8, 2.0, 0.0, 2.0, 0.5, 0.2),  # the same WER as epoch 2, a lower CER: the best epoch
]


def _write(folder: Path, records: list[dict], tail: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + tail)
    return folder


def _lines(fig, axis: int = 0) -> dict[str, tuple[list, list]]:
    """The Line2D data of one axes of a figure, by label."""
    return {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in fig.axes[axis].get_lines()}


def _labelled(lines: dict, start: str) -> tuple[list, list]:
    found = [v for k, v in lines.items() if k.startswith(start)]
    assert len(found) == 1, (start, list(lines))
    return found[0]


def test_the_series_are_the_logged_values_after_the_resume(tmp_path):
    s = plots.series(plots.load(_write(tmp_path, RUN)))
    assert s["loss"] == ([1, 2, 4, 5, 6, 7, 8], [9.0, 7.0, 5.0, 4.0, 3.5, 3.0, 2.0])
    assert s["grad_norm"] == ([1, 2, 3, 5, 6, 7, 8], [8.0, 1.5, 3.0, 1.0, 2.5, 0.5, 0.25])
    assert s["clipped"] == ([1, 3, 6], [8.0, 3.0, 2.5])
    assert s["lr"] == ([1, 2, 3, 5, 6, 7, 8], [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007])
    assert s["epoch_loss"] == ([4, 7, 8], [6.0, 3.4, 2.0])
    assert s["dev_loss"] == ([4, 7, 8], [4.0, 2.5, 2.0])
    assert s["dev_wer"] == ([1, 2, 3], [1.0, 0.5, 0.5])
    assert s["dev_cer"] == ([1, 2, 3], [0.9, 0.3, 0.2])
    assert s["clipped_share"] == ([4, 7, 8], [0.5, 1 / 3, 0.0])
    assert s["threshold"] == ([0, 5], [2.0, 2.0])
    assert s["best"] == ([3], [0.5])


def test_the_figures_draw_the_series(tmp_path):
    metrics = plots.load(_write(tmp_path, RUN))
    s = plots.series(metrics)
    figs = plots.figures(metrics, "an4-run")
    assert set(figs) == set(plots.FIGURES)
    for fig in figs.values():
        assert fig.get_suptitle().startswith("an4-run: ")

    loss = _lines(figs["loss"])
    assert _labelled(loss, "training (mean") == s["loss"]
    assert _labelled(loss, "training (epoch") == s["epoch_loss"]
    assert _labelled(loss, "dev") == s["dev_loss"]
    assert _labelled(_lines(figs["lr"]), "learning rate") == s["lr"]

    rates = _lines(figs["error_rates"])
    assert _labelled(rates, "dev WER") == s["dev_wer"] and _labelled(rates, "dev CER") == s["dev_cer"]
    assert _labelled(rates, "best epoch 3 (dev WER 50.00 %)") == ([3], [0.5])

    grad = _lines(figs["grad_norm"])
    assert _labelled(grad, "gradient norm") == s["grad_norm"]
    assert figs["grad_norm"].axes[0].get_yscale() == "log"
    # The clipped steps are exactly the marked points; the threshold is a line at clip_norm.
    assert _labelled(grad, "clipped steps (3 of 7 logged)") == ([1, 3, 6], [8.0, 3.0, 2.5])
    assert _labelled(grad, "clip threshold 2 ")[1] == [2.0, 2.0]
    bars = figs["grad_norm"].axes[1].patches  # one bar per epoch, over its steps
    assert [(b.get_x(), b.get_width(), b.get_height()) for b in bars] == [(0, 4, 0.5), (4, 3, 1 / 3), (7, 1, 0.0)]


def test_plot_training_writes_the_pngs(tmp_path):
    written = plots.plot_training(_write(tmp_path / "exp", RUN))
    assert written == [tmp_path / "exp" / "plots" / f"{name}.png" for name in plots.FIGURES]
    for path in written:
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000
    assert sorted(p.name for p in (tmp_path / "exp" / "plots").iterdir()) == sorted(p.name for p in written)  # no temporary left
    again = plots.plot_training(tmp_path / "exp")  # redrawn over the old files
    assert again == written


def test_a_threshold_changed_on_resume_is_drawn_from_where_it_changed(tmp_path):
    records = [r if r != RUN[8] else {**r, "clip_norm": 1.0} for r in RUN]
    metrics = plots.load(_write(tmp_path, records))
    assert plots.series(metrics)["threshold"] == ([0, 5], [2.0, 1.0])
    line = _labelled(_lines(plots.figures(metrics, "x")["grad_norm"]), "clip threshold")
    assert line == ([0, 5, 8], [2.0, 1.0, 1.0])


def test_a_first_epoch_not_finished_has_steps_only(tmp_path):
    metrics = plots.load(_write(tmp_path, RUN[:4]))
    assert metrics.epochs == [] and plots.best_epoch(metrics) is None
    s = plots.series(metrics)
    assert s["loss"] == ([1, 2], [9.0, 7.0]) and s["dev_wer"] == ([], []) and s["best"] == ([], [])
    assert len(plots.plot_training(tmp_path)) == 4


def test_older_files_keep_the_last_of_repeated_records_and_take_the_threshold_from_model_pt(tmp_path):
    old = [r for r in RUN if r["event"] != "start"]  # before the start event: a resume just appended
    old.insert(8, _epoch(2, 7, 8.0, 1.0, 9.0, 0.9, 0.9))  # epoch 2 logged before a kill, again after
    metrics = plots.load(_write(tmp_path, old))
    assert [r["step"] for r in metrics.steps] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert metrics.steps[5]["loss"] == 3.5 and metrics.epochs[1]["dev_loss"] == 2.5
    assert metrics.thresholds == []
    grad = plots.figures(metrics, "x")["grad_norm"]
    assert "clip threshold unknown" in " ".join(t.get_text() for t in grad.axes[0].texts)
    assert not any(label.startswith("clip threshold") for label in _lines(grad))

    checkpoint.save(tmp_path / "model.pt", {"info": {"settings": {"train": {"clip_norm": 3.5}}}})
    assert plots.load(tmp_path).thresholds == [(0, 3.5)]
    assert _labelled(_lines(plots.figures(plots.load(tmp_path), "x")["grad_norm"]), "clip threshold 3.5")[1] == [3.5, 3.5]


def test_a_last_line_being_written_is_skipped(tmp_path):
    metrics = plots.load(_write(tmp_path, RUN, tail='{"event": "step", "epo'))
    assert len(metrics.epochs) == 3


@pytest.mark.parametrize("content, words", [
    (None, "metrics.jsonl: no such file"),
    ("", "no step or epoch logged yet"),
    ("\n\n", "no step or epoch logged yet"),
    (json.dumps(RUN[0]) + "\n", "no step or epoch logged yet"),
    ('{"event": "step", "step": 1\n' + json.dumps(RUN[1]) + "\n", "metrics.jsonl:1: not a JSON object"),
])
def test_nothing_to_plot_is_an_error_naming_the_file(tmp_path, content, words):
    if content is not None:
        (tmp_path / "metrics.jsonl").write_text(content)
    with pytest.raises(AsrError, match=words) as e:
        plots.plot_training(tmp_path)
    assert str(tmp_path / "metrics.jsonl") in str(e.value)
    assert not (tmp_path / "plots").exists()


def test_importing_asr_plots_leaves_matplotlib_out():
    import subprocess

    code = "import asr.plots, asr.train, sys; print('matplotlib' in sys.modules, 'tensorboard' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout
    assert out.split() == ["False", "False"]


# ---- the commands -----------------------------------------------------------------------------
def test_asr_plot_help():
    from asr_cli.main import app

    result = CliRunner().invoke(app, ["plot", "--help"])
    assert result.exit_code == 0 and "Example: asr plot exp/an4" in result.stdout
    assert "plot" in CliRunner().invoke(app, ["--help"]).stdout
    assert "--plot" in CliRunner().invoke(app, ["train", "--help"]).stdout


def test_asr_plot_prints_the_paths(tmp_path):
    from asr_cli.main import app

    _write(tmp_path / "exp", RUN)
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "exp")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(tmp_path / "exp" / "plots" / f"{n}.png") for n in plots.FIGURES]

    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["plot", str(tmp_path / "empty")])
    assert result.exit_code == 1 and result.stdout == ""
    assert "error:" in result.stderr and "metrics.jsonl: no such file" in result.stderr


def test_train_plot_draws_after_each_epoch(tiny_digits, tmp_path):
    from asr_cli.main import app

    args = [a for s in TINY + ["train.epochs=1"] for a in ("--set", s)]
    result = CliRunner().invoke(app, ["train", str(tiny_digits), *args, "--out", str(tmp_path / "exp"), "--plot", "-q"])
    assert result.exit_code == 0, result.output
    for name in plots.FIGURES:
        assert (tmp_path / "exp" / "plots" / f"{name}.png").read_bytes().startswith(PNG)
    first = json.loads((tmp_path / "exp" / "metrics.jsonl").read_text().splitlines()[0])
    assert first == {"event": "start", "epoch": 1, "step": 0, "clip_norm": 5.0}
    metrics = plots.load(tmp_path / "exp")
    assert metrics.thresholds == [(0, 5.0)] and [r["epoch"] for r in metrics.epochs] == [1] and metrics.steps


def test_a_plot_that_fails_is_reported_once_and_training_goes_on(tiny_digits, tmp_path, monkeypatch):
    import asr.train

    def broken(exp_dir):
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(asr.train, "plot_training", broken)
    log = io.StringIO()
    settings = config.load(None, TINY + ["train.epochs=2"])
    result = asr.train.train(tiny_digits, settings, tmp_path, asr.train.Reporter(Console(file=log, width=500)), plot=True)
    assert result.epochs == 2
    warnings = [line for line in log.getvalue().splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "no fonts today" in warnings[0] and "training goes on" in warnings[0]


# ---- TensorBoard --------------------------------------------------------------------------------
def test_tensorboard_without_the_package_is_refused_before_any_work(tiny_digits, tmp_path, monkeypatch):
    from asr.train import train

    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` raises ImportError
    settings = config.load(None, TINY + ["train.tensorboard=true"])
    with pytest.raises(ConfigError) as e:
        train(tiny_digits, settings, tmp_path / "exp")
    assert str(e.value) == 'train.tensorboard needs the tensorboard package: pip install "asr[tensorboard]"'
    assert not (tmp_path / "exp").exists()


def test_tensorboard_gets_the_scalars_of_each_event(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    board = plots.TensorBoard(tmp_path)
    for record in RUN[:6]:
        board.add(record)
    board.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    scalars = {tag: [(e.step, pytest.approx(e.value)) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}
    assert scalars == {
        "train/loss": [(1, 9.0), (2, 7.0), (4, 5.0)], "train/grad_norm": [(1, 8.0), (2, 1.5), (3, 3.0)],
        "train/lr": [(1, 0.001), (2, 0.002), (3, 0.003)],
        "epoch/loss": [(4, 6.0)], "epoch/grad_norm": [(4, 1.0)], "epoch/clipped_share": [(4, 0.5)],
        "dev/loss": [(4, 4.0)], "dev/wer": [(4, 1.0)], "dev/cer": [(4, 0.9)],
    }


def test_training_with_tensorboard_writes_its_events(tiny_digits, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from asr.train import train

    train(tiny_digits, config.load(None, TINY + ["train.epochs=1", "train.tensorboard=true"]), tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    epoch = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert [(e.step, pytest.approx(e.value)) for e in events.Scalars("dev/loss")] == [(epoch["step"], epoch["dev_loss"])]
    assert len(events.Scalars("train/loss")) == epoch["step"]  # train.log_every=1
