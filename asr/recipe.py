"""Recipes: named stages prep -> train -> evaluate, each skipped when its output exists.

A recipe is a folder `recipes/<name>/` holding
    prep.yaml   {corpus: <name>, options: {...}}  the importer and its options
    train.yaml  training settings (see asr.config)
    README.md   the measured result and the command that produced it
Data goes to `<root>/data/<name>/`, the model to `<root>/exp/<name>/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from asr import checkpoint, config, corpora
from asr.errors import ConfigError
from asr.evaluate import EvalReport, evaluate
from asr.progress import Reporter
from asr.train import train


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
    raise ConfigError(f"unknown recipe {name!r} (known: {', '.join(available(root)) or 'none found'})")


def available(root: Path) -> list[str]:
    names = set()
    for base in (root / "recipes", Path(__file__).resolve().parent.parent / "recipes", _installed()):
        if base is not None and base.is_dir():
            names.update(p.parent.name for p in base.glob("*/train.yaml"))
    return sorted(names)


def run(name: str, root: Path = Path("."), src: Path | None = None, overrides: list[str] = (),
        reporter: Reporter | None = None, device: str = "cpu") -> RecipeResult:
    """Run the stages of recipe `name`; see the module docstring."""
    reporter = reporter or Reporter()
    folder = find(name, root)
    prep = yaml.safe_load((folder / "prep.yaml").read_text(encoding="utf-8")) or {}
    settings = config.load(folder / "train.yaml", overrides)
    data_dir, exp_dir = root / "data" / name, root / "exp" / name

    if corpora.is_prepared(data_dir):
        reporter.log(f"stage 1 prep: {data_dir} exists, skipped")
    else:
        reporter.log(f"stage 1 prep: {prep['corpus']} -> {data_dir}")
        corpora.prepare(prep["corpus"], data_dir, src, prep.get("options", {}), log=reporter.log)

    done = exp_dir / "result.json"
    if done.is_file():
        reporter.log(f"stage 2 train: {done} exists, skipped")
    else:
        resume = checkpoint.newest(exp_dir / "checkpoints") is not None
        reporter.log(f"stage 2 train: {data_dir} -> {exp_dir}{' (resuming)' if resume else ''}")
        result = train(data_dir, settings, exp_dir, reporter, resume=resume)
        write_result(done, result)

    reporter.log("stage 3 evaluate: test set")
    report = evaluate(data_dir / "test.jsonl", exp_dir / "model.pt", device, reporter)
    return RecipeResult(data_dir, exp_dir / "model.pt", report, data_dir / "test.jsonl")


def write_result(path: Path, result) -> None:
    """Summary of a finished training run (marks the train stage done)."""
    path.write_text(json.dumps({
        "model": str(result.model_path), "best_dev_wer": result.best_dev_wer,
        "best_dev_cer": result.best_dev_cer, "epochs": result.epochs, "seconds": round(result.seconds, 1),
    }, indent=2) + "\n")


def _installed() -> Path | None:
    try:
        import asr_recipes
    except ImportError:
        return None
    return Path(asr_recipes.__file__).parent
