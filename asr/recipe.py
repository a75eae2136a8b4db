"""Recipes: named stages prep -> train -> evaluate, each skipped when its output exists.

A recipe is a folder `recipes/<name>/` holding
    prep.yaml   {corpus: <name>, options: {...}}  the importer and its options (`PrepSettings`)
    train.yaml  training settings (see asr.config)
    README.md   the measured result and the command that produced it
Both YAML files are read by `asr.config` with the same rules: an unknown or
missing key is an error naming the file. Data goes to `<root>/data/<name>/`,
the model to `<root>/exp/<name>/`, and `exp/<name>/result.json` (strict JSON:
a figure that is missing or not finite is null) marks training done.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from asr import checkpoint, config, corpora
from asr.errors import ConfigError, UsageError
from asr.evaluate import EvalReport, evaluate
from asr.progress import Reporter
from asr.runtime import resolve_device
from asr.train import train


@dataclass(frozen=True)
class PrepSettings:
    """A recipe's prep.yaml: the corpus importer (`asr prep <corpus>`) and its options."""

    corpus: str
    options: dict = field(default_factory=dict)

    def check(self) -> None:
        if self.corpus not in corpora.CORPORA:
            raise ConfigError(f"corpus {self.corpus!r} is not one asr imports (known: {', '.join(sorted(corpora.CORPORA))})")


def load_prep(path: Path) -> PrepSettings:
    """PrepSettings from a prep.yaml file (ConfigError naming the file when it is malformed)."""
    return config.load(path, cls=PrepSettings)


@dataclass
class RecipeResult:
    data_dir: Path
    model_path: Path
    report: EvalReport
    test_manifest: Path


def find(name: str, root: Path) -> Path:
    """`root/recipes/<name>`, else the copy installed with asr."""
    for base in (root / "recipes", Path(__file__).resolve().parent.parent / "recipes", _installed()):
        if base is not None and (base / name / "train.yaml").is_file():
            return base / name
    raise UsageError(f"unknown recipe {name!r} (known: {', '.join(available(root)) or 'none found'})")


def available(root: Path) -> list[str]:
    names = set()
    for base in (root / "recipes", Path(__file__).resolve().parent.parent / "recipes", _installed()):
        if base is not None and base.is_dir():
            names.update(p.parent.name for p in base.glob("*/train.yaml"))
    return sorted(names)


def run(name: str, root: Path = Path("."), src: Path | None = None, overrides: list[str] = (),
        reporter: Reporter | None = None, plot: bool = False) -> RecipeResult:
    """Run the stages of recipe `name`; see the module docstring. The test set is decoded on
    the device the settings train on (`train.device`). `plot`: redraw the training curves at
    each epoch's end (asr.plots)."""
    reporter = reporter or Reporter()
    folder = find(name, root)
    prep = load_prep(folder / "prep.yaml")
    settings = config.load(folder / "train.yaml", overrides)
    data_dir, exp_dir = root / "data" / name, root / "exp" / name

    if corpora.is_prepared(data_dir):
        reporter.log(f"stage 1 prep: {data_dir} exists, skipped")
    else:
        reporter.log(f"stage 1 prep: {prep.corpus} -> {data_dir}")
        corpora.prepare(prep.corpus, data_dir, src, dict(prep.options), log=reporter.log)

    done = exp_dir / "result.json"
    if done.is_file():
        reporter.log(f"stage 2 train: {done} exists, skipped")
    else:
        resume = checkpoint.newest(exp_dir / "checkpoints") is not None
        reporter.log(f"stage 2 train: {data_dir} -> {exp_dir}{' (resuming)' if resume else ''}")
        result = train(data_dir, settings, exp_dir, reporter, resume=resume, plot=plot)
        write_result(done, result)

    reporter.log("stage 3 evaluate: test set")
    report = evaluate(data_dir / "test.jsonl", exp_dir / "model.pt", resolve_device(settings.train.device), reporter)
    return RecipeResult(data_dir, exp_dir / "model.pt", report, data_dir / "test.jsonl")


def write_result(path: Path, result) -> None:
    """Summary of a finished training run (marks the train stage done). Strict JSON: a
    figure that is missing, infinite or NaN (no dev set scored) is written as null."""
    seconds = _finite(result.seconds)
    path.write_text(json.dumps({
        "model": str(result.model_path), "best_dev_wer": _finite(result.best_dev_wer),
        "best_dev_cer": _finite(result.best_dev_cer), "epochs": result.epochs,
        "seconds": None if seconds is None else round(seconds, 1),
    }, indent=2, allow_nan=False) + "\n")


def _finite(value) -> float | None:
    """`value` as a float, or None when it is missing or not a finite number."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _installed() -> Path | None:
    try:
        import asr_recipes
    except ImportError:
        return None
    return Path(asr_recipes.__file__).parent
