"""Training curves from an experiment folder's metrics.jsonl: PNGs, and TensorBoard scalars.

    plot_training("exp/an4")  # -> [exp/an4/plots/loss.png, error_rates.png, lr.png, grad_norm.png]

`asr.train` logs one JSON object per line: a "start" event each time a run starts or
resumes (its epoch, step and `train.clip_norm`), a "step" event every `train.log_every`
optimizer steps and an "epoch" event at each epoch's end. A resumed run logs again what came
after its checkpoint: `read_metrics` keeps the last occurrence of each step and epoch, in
order. Files written before the start event existed take the clipping threshold from
model.pt's settings. Values that are missing, NaN or infinite are not drawn.

matplotlib (its file-only Agg canvas) and tensorboard are imported where they are used, so
`import asr` stays light and tensorboard stays optional (`pip install "asr[tensorboard]"`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from asr.errors import AsrError, ConfigError

FIGURES = ("loss", "error_rates", "lr", "grad_norm")
TENSORBOARD_INSTALL = 'pip install "asr[tensorboard]"'


@dataclass
class Metrics:
    """One run's events as logged: `steps` and `epochs` (the last occurrence of each, by step and
    by epoch), and `thresholds`: (step it applies after, `train.clip_norm`) per start; [] if unknown."""

    steps: list[dict] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    thresholds: list[tuple[int, float]] = field(default_factory=list)


def plot_training(exp_dir: str | Path) -> list[Path]:
    """Draw the curves of `exp_dir`/metrics.jsonl into `exp_dir`/plots/<name>.png (see FIGURES),
    each file replaced whole; return the paths written. AsrError when there is nothing to plot."""
    exp_dir = Path(exp_dir)
    metrics = load(exp_dir)
    folder = exp_dir / "plots"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AsrError(f"{folder}: cannot create the plots folder ({e.strerror or e})") from None
    return [_save(fig, folder / f"{name}.png") for name, fig in figures(metrics, exp_dir.resolve().name).items()]


def load(exp_dir: Path) -> Metrics:
    """The metrics of `exp_dir`; without a logged threshold, the one in model.pt's settings."""
    metrics = read_metrics(exp_dir / "metrics.jsonl")
    if not metrics.thresholds:
        clip = _saved_clip_norm(exp_dir / "model.pt")
        metrics.thresholds = [(0, clip)] if clip is not None else []
    return metrics


def read_metrics(path: str | Path) -> Metrics:
    """Read a metrics.jsonl; a last line cut short (being written) is skipped, another line that
    is not JSON is an AsrError naming it, and so is a file with no step or epoch logged."""
    path = Path(path)
    if not path.is_file():
        raise AsrError(f"{path}: no such file (give the folder `asr train` wrote into, e.g. `asr plot exp/digits`)")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    steps: dict[int, dict] = {}
    epochs: dict[int, dict] = {}
    thresholds: list[tuple[int, float]] = []
    for number, line in enumerate(lines, 1):
        record = _parse(line, f"{path}:{number}", last=number == len(lines))
        event, step, epoch = record.get("event"), _count(record.get("step")), _count(record.get("epoch"))
        if event == "start" and step is not None:
            # A resumed run starts again after its checkpoint: what was logged past it is replaced.
            steps = {k: v for k, v in steps.items() if k <= step}
            epochs = {k: v for k, v in epochs.items() if epoch is None or k < epoch}
            thresholds = [t for t in thresholds if t[0] < step]
            clip = _finite(record.get("clip_norm"))
            if clip is not None:
                thresholds.append((step, clip))
        elif event in ("step", "epoch") and (step if event == "step" else epoch) is not None:
            into, key = (steps, step) if event == "step" else (epochs, epoch)
            into.pop(key, None)
            into[key] = record
    if not steps and not epochs:
        raise AsrError(f"{path}: no step or epoch logged yet (training logs its first step after "
                       "train.log_every optimizer steps; plot again then)")
    return Metrics([steps[k] for k in sorted(steps)], [epochs[k] for k in sorted(epochs)], thresholds)


def series(metrics: Metrics) -> dict[str, tuple[list, list]]:
    """The curves drawn, by name, as (x, y): x is the optimizer step, or the epoch for `dev_wer`,
    `dev_cer` and `best`. `epoch_loss`, `dev_loss` and `clipped_share` sit at each epoch's last
    step; `clipped` holds the logged steps whose gradient was clipped, `threshold` the start step
    and value of each clipping threshold, `best` the best epoch by the run's selection rate."""
    s, e = metrics.steps, metrics.epochs
    best = best_epoch(metrics)
    return {
        "loss": _xy(s, "step", "loss"),
        "epoch_loss": _xy(e, "step", "loss"),
        "dev_loss": _xy(e, "step", "dev_loss"),
        "dev_wer": _xy(e, "epoch", "dev_wer"),
        "dev_cer": _xy(e, "epoch", "dev_cer"),
        "lr": _xy(s, "step", "lr"),
        "grad_norm": _xy(s, "step", "grad_norm"),
        "clipped": _xy([r for r in s if r.get("clipped") is True], "step", "grad_norm"),
        "clipped_share": _xy(e, "step", "clipped_share"),
        "threshold": ([t[0] for t in metrics.thresholds], [t[1] for t in metrics.thresholds]),
        "best": ([best[0]], [best[2]]) if best else ([], []),
    }


def best_epoch(metrics: Metrics) -> tuple[int, str, float] | None:
    """(epoch, "wer" or "cer", its rate) of the best epoch as training picks it (asr.selection:
    the lowest selection rate, ties to the lower other rate, then dev loss; the first of equals)."""
    selection = next((r["selection"] for r in reversed(metrics.epochs) if r.get("selection") in ("wer", "cer")), "wer")
    other = "cer" if selection == "wer" else "wer"
    scored = [r for r in metrics.epochs if _finite(r.get(f"dev_{selection}")) is not None]
    if not scored:
        return None
    key = lambda r: [_finite(r.get(k), math.inf) for k in (f"dev_{selection}", f"dev_{other}", "dev_loss")]  # noqa: E731
    best = min(scored, key=key)
    return best["epoch"], selection, float(best[f"dev_{selection}"])


def figures(metrics: Metrics, name: str) -> dict[str, object]:
    """The matplotlib Figures, by FIGURES name, for the experiment folder called `name`."""
    s = series(metrics)
    return {"loss": _loss_figure(s, name), "error_rates": _error_figure(s, metrics, name),
            "lr": _lr_figure(s, name), "grad_norm": _grad_norm_figure(s, metrics, name)}


# ---- the figures ------------------------------------------------------------------------------
def _loss_figure(s: dict, name: str):
    fig, (ax,) = _figure(f"{name}: CTC loss")
    ax.plot(*s["loss"], color="C0", linewidth=1, alpha=0.6, label="training (mean since the epoch began)")
    ax.plot(*s["epoch_loss"], "o-", color="C0", markersize=3, label="training (epoch mean)")
    ax.plot(*s["dev_loss"], "s-", color="C1", markersize=3, label="dev (epoch end)")
    ax.set_yscale("log", nonpositive="mask")
    ax.set(xlabel="optimizer step", ylabel="CTC loss")
    return _finish(fig, ax, "no loss logged yet")


def _error_figure(s: dict, metrics: Metrics, name: str):
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    fig, (ax,) = _figure(f"{name}: dev error rates")
    ax.plot(*s["dev_wer"], "o-", markersize=3, label="dev WER")
    ax.plot(*s["dev_cer"], "s-", markersize=3, label="dev CER")
    best = best_epoch(metrics)
    if best:
        epoch, selection, rate = best
        ax.axvline(epoch, color="C3", linestyle=":", linewidth=1)
        ax.plot(*s["best"], linestyle="none", marker="*", markersize=14, color="C3", zorder=3,
                label=f"best epoch {epoch} (dev {selection.upper()} {100 * rate:.2f} %)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="error rate")
    return _finish(fig, ax, "no epoch finished yet")


def _lr_figure(s: dict, name: str):
    fig, (ax,) = _figure(f"{name}: learning rate")
    ax.plot(*s["lr"], color="C2", linewidth=1, label="learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.set(xlabel="optimizer step", ylabel="learning rate")
    return _finish(fig, ax, "no step logged yet")


def _grad_norm_figure(s: dict, metrics: Metrics, name: str):
    """Top: the gradient norm of each logged step (before clipping, log axis), the threshold and
    the clipped steps, the RNN's cliffs made visible. Bottom: the share of steps clipped, per epoch."""
    from matplotlib.ticker import PercentFormatter

    fig, (top, bottom) = _figure(f"{name}: gradient norm and clipping", rows=2)
    top.plot(*s["grad_norm"], color="C0", linewidth=1, label="gradient norm (before clipping)")
    top.plot(*s["clipped"], linestyle="none", marker="x", color="C3", markersize=6,
             label=f"clipped steps ({len(s['clipped'][0])} of {len(s['grad_norm'][0])} logged)")
    _threshold(top, *s["threshold"], last=max(s["grad_norm"][0] + s["clipped_share"][0], default=0))
    top.set_yscale("log", nonpositive="mask")
    top.set(ylabel="gradient norm")
    _finish(fig, top, "no step logged yet")
    ends, shares = s["clipped_share"]
    starts = [_previous_end(metrics, end) for end in ends]
    bottom.bar(starts, shares, width=[b - a for a, b in zip(starts, ends)], align="edge", color="C3", alpha=0.5,
               edgecolor="C3", label="steps clipped in the epoch")
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0))
    bottom.set(xlabel="optimizer step", ylabel="clipped", ylim=(0, 1))
    return _finish(fig, bottom, "no epoch finished yet")


def _threshold(ax, starts: list, values: list, last: float) -> None:
    """`train.clip_norm` as a labelled line: across the plot when one value held for the whole
    run, else each value from the step it began at; a note when it is not known."""
    if not values:
        ax.text(0.01, 0.97, "clip threshold unknown (not in metrics.jsonl nor model.pt)", transform=ax.transAxes,
                va="top", fontsize=8, color="C3")
    elif len(set(values)) == 1 and starts[0] == 0:
        ax.axhline(values[0], color="C3", linestyle="--", linewidth=1, label=f"clip threshold {values[0]:g} (train.clip_norm)")
    else:
        ax.plot([*starts, max(last, starts[-1])], [*values, values[-1]], drawstyle="steps-post", color="C3",
                linestyle="--", linewidth=1, label="clip threshold (train.clip_norm, changed on resume)")


def _figure(title: str, rows: int = 1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5 if rows == 1 else 7), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False, height_ratios=[2, 1] if rows == 2 else None)[:, 0]
    fig.suptitle(title)
    return fig, axes


def _finish(fig, ax, empty: str):
    """A legend, or a note where there is nothing to draw yet."""
    if any(len(line.get_xdata()) for line in ax.get_lines()) or ax.patches:
        ax.legend(loc="best", fontsize=8)
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def _save(fig, path: Path) -> Path:
    """Write a PNG atomically: a temporary file beside `path` renamed over it, so that a viewer
    refreshing the plot during training never reads half a file."""
    from asr.checkpoint import write_atomic

    try:
        write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=100))
    except OSError as e:
        raise AsrError(f"{path}: cannot write the plot ({e.strerror or e})") from None
    return path


# ---- TensorBoard ------------------------------------------------------------------------------
# The scalars of each event, by TensorBoard tag, all at the optimizer step.
SCALARS = {
    "step": {"loss": "train/loss", "lr": "train/lr", "grad_norm": "train/grad_norm"},
    "epoch": {"loss": "epoch/loss", "grad_norm": "epoch/grad_norm", "clipped_share": "epoch/clipped_share",
              "dev_loss": "dev/loss", "dev_wer": "dev/wer", "dev_cer": "dev/cer"},
}


def require_tensorboard() -> None:
    """ConfigError unless the optional tensorboard package imports (`train.tensorboard`)."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ConfigError(f"train.tensorboard needs the tensorboard package: {TENSORBOARD_INSTALL}") from None


class TensorBoard:
    """Writes the scalars of metrics.jsonl's events (SCALARS) into `log_dir` for TensorBoard.
    `purge_step`: where a resumed run starts again; TensorBoard drops what was logged from there."""

    def __init__(self, log_dir: str | Path, purge_step: int | None = None):
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def add(self, record: dict) -> None:
        step = _count(record.get("step"))
        for key, tag in SCALARS.get(record.get("event"), {}).items():
            value = _finite(record.get(key))
            if value is not None and step is not None:
                self.writer.add_scalar(tag, value, step)
        if record.get("event") == "epoch":
            self.writer.flush()  # seen in TensorBoard at each epoch's end, not minutes later

    def close(self) -> None:
        self.writer.close()


# ---- values -----------------------------------------------------------------------------------
def _parse(line: str, where: str, last: bool) -> dict:
    """One JSON object, or {} for a blank line and a last line cut short."""
    if not line.strip():
        return {}
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        if last:
            return {}
        raise AsrError(f"{where}: not a JSON object ({e.msg}); is this a metrics.jsonl written by `asr train`?") from None
    return record if isinstance(record, dict) else {}


def _xy(records: list[dict], x: str, y: str) -> tuple[list, list]:
    """(x, y) of the records where both are finite numbers."""
    points = [(_finite(r.get(x)), _finite(r.get(y))) for r in records]
    points = [(a, b) for a, b in points if a is not None and b is not None]
    return [a for a, _ in points], [b for _, b in points]


def _previous_end(metrics: Metrics, end: float) -> float:
    """The last step of the epoch before the one that ended at step `end` (0 for the first)."""
    return max((r["step"] for r in metrics.epochs if _finite(r.get("step"), math.inf) < end), default=0)


def _finite(value, default=None):
    """`value` as a float when it is a finite number (not a bool), else `default`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return float(value)


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _saved_clip_norm(model_path: Path) -> float | None:
    """`train.clip_norm` from model.pt's training settings, if there is a readable one."""
    if not model_path.is_file():
        return None
    from asr import checkpoint

    try:
        return _finite(checkpoint.load(model_path)["info"]["settings"]["train"]["clip_norm"])
    except (AsrError, KeyError, TypeError):
        return None
