"""Corpus importers: one module per corpus, each with

    prepare(out: Path, src: Path | None, *, <options>, log) -> {"train": path, "dev": path, "test": path}

writing `out/{train,dev,test}.jsonl`. Safe to re-run: manifests are written
last and atomically, so an existing manifest means a finished split.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Callable

import yaml

from asr.errors import ConfigError, UsageError

CORPORA = {
    "digits": "connected digit strings synthesised with eSpeak NG (offline, no --src)",
    "cmn": "Mandarin digit strings and short phrases (好棒, 好棒棒, ...) synthesised with eSpeak NG (offline, no --src)",
    "yesno": "Kaldi/OpenSLR yesno (--src: the waves_yesno folder)",
    "an4": "CMU AN4 alphanumeric, SphinxTrain WAV or NIST SPHERE edition (--src: the an4 folder)",
    "librispeech": "LibriSpeech read audiobooks (--src: the LibriSpeech folder or one subset folder)",
    "commonvoice": "Mozilla Common Voice, one language (--src: the folder with the .tsv files and clips/)",
    "ljspeech": "LJ Speech, one speaker (--src: the LJSpeech-1.1 folder)",
    "kaldi": "Kaldi data folders, piped wav.scp commands included (--src: a data folder, or one holding train/, dev/, test/)",
    "nemo": "NeMo JSON-lines manifests (--src: the folder with train*.json, dev*.json, test*.json, or name them: --set train=FILE)",
    "folder": "any tree of audio files with .txt/.lab transcripts beside them or a transcript table per folder (--src: the tree)",
    "aishell": "AISHELL-1 Mandarin (--src: the data_aishell folder)",
    "fsdd": "Free Spoken Digit Dataset (--src: the dataset folder or its recordings/)",
}

SPLITS = ("train", "dev", "test")


def prepare(name: str, out: str | Path, src: str | Path | None = None, options: dict | None = None,
            log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    """Run corpus `name`'s importer; `options` are its keyword settings."""
    if name not in CORPORA:
        raise UsageError(f"unknown corpus {name!r} (known: {', '.join(CORPORA)})")
    module = importlib.import_module(f"asr.corpora.{name}")
    options = dict(options or {})
    params = inspect.signature(module.prepare).parameters
    allowed = [p for p, v in params.items() if v.kind == inspect.Parameter.KEYWORD_ONLY and p != "log"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UsageError(f"corpus {name}: unknown option(s) {', '.join(unknown)} (known: {', '.join(allowed) or 'none'})")
    options = {key: _typed(name, key, value, params[key]) for key, value in options.items()}
    return module.prepare(Path(out), None if src is None else Path(src), **options, log=log)


def _typed(corpus: str, key: str, value, param: inspect.Parameter):
    """Option `key`'s value as the importer's parameter takes it. Text from the command line
    (`--set key=value`) is kept as written for a text option (a pattern such as `[A-Z]\\d+` or a
    speaker called `007`) and read as YAML for a number or a flag; a recipe's values are typed."""
    default = param.default
    kind = type(default) if default is not None else str if "str" in str(param.annotation) else None
    if isinstance(value, str) and kind not in (str, None):
        try:
            value = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            pass  # judged below, as text
    if kind is None or (value is None and default is None):
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ConfigError(f"corpus {corpus}: option {key} must be {kind.__name__}, got {value!r}"
                      + (" (quote it in YAML to keep it as text)" if kind is str else ""))


def is_prepared(out: str | Path) -> bool:
    return all((Path(out) / f"{s}.jsonl").is_file() for s in SPLITS)
