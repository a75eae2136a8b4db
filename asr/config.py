"""Settings: dataclasses loaded from recipe YAML plus `key=value` overrides.

    settings = load("recipes/digits/train.yaml", ["train.epochs=5", "model.cell=gru"])

An unknown key, in the file or in an override, is an error that lists the
known ones; values are checked against the field's type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asr.augment import AugmentSettings
from asr.errors import ConfigError
from asr.features import FeatureSettings, SpecAugmentSettings
from asr.model import ModelSettings
from asr.text import TextSettings


@dataclass(frozen=True)
class TrainSettings:
    """The optimisation. Durations in seconds, `max_frames` in feature frames
    (input frames of all the utterances of a batch, padding included)."""

    epochs: int = 20
    max_frames: int = 20000
    max_batch: int = 64
    bucket_size: int = 0  # utterances sorted together; 0: 8 x max_batch
    sortagrad: int = 0  # the first N epochs go from the shortest utterances to the longest
    accumulate: int = 1  # batches per optimizer step
    lr: float = 2e-3
    weight_decay: float = 1e-2
    schedule: str = "cosine"  # cosine | noam | plateau
    warmup_steps: int = 200
    final_lr_ratio: float = 0.05
    plateau_patience: int = 1
    clip_norm: float = 5.0
    seed: int = 0
    specaugment: bool = True
    max_duration: float = 30.0
    log_every: int = 25
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto (bf16 on CUDA, else fp32) | fp32 | bf16 | fp16
    compile: bool = False  # torch.compile the model
    workers: int = 0  # data-loader processes computing features
    cache_features: bool = True  # keep log-mels in memory (small corpora, workers=0)
    stats_utterances: int = 500  # utterances for the normalisation statistics
    checkpoint_every: int = 0  # optimizer steps between checkpoints (0: epoch ends only)
    keep: int = 3  # step checkpoints kept
    max_bad_steps: int = 20  # consecutive non-finite steps before giving up
    early_stop: int = 0  # epochs without a better dev WER before stopping (0: never)
    average: int = 0  # model.pt = the average of the last N epoch checkpoints (0/1: off: the best dev epoch)


@dataclass(frozen=True)
class Settings:
    """Everything `asr train` needs besides the data."""

    text: TextSettings = field(default_factory=TextSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    specaugment: SpecAugmentSettings = field(default_factory=SpecAugmentSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    train: TrainSettings = field(default_factory=TrainSettings)


def load(path: str | Path | None = None, overrides: list[str] = ()) -> Settings:
    """Settings from a YAML file (or the defaults) with `a.b=value` overrides applied."""
    data: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such settings file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value (e.g. train.epochs=5)")
        _assign(data, key.strip().split("."), yaml.safe_load(value) if value.strip() else None, item)
    return from_dict(Settings, data, where=str(path) if path else "settings")


def from_dict(cls, data: dict, where: str = "settings"):
    """Build dataclass `cls` from a nested dict, rejecting unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    values = {}
    for key, value in data.items():
        values[key] = _coerce(hints[key], value, f"{where}: {key}")
    try:
        return cls(**values)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None


def to_dict(settings) -> dict:
    return dataclasses.asdict(settings)


def _coerce(tp, value, where: str):
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{where} must be a non-empty list, e.g. [0.9, 1.0, 1.1], got {value!r}")
        return tuple(_coerce(args[0], v, where) for v in value)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        # YAML 1.1 reads 1e-3 (no dot) as a string; it is a float to anyone who writes it.
        try:
            return float(value)
        except ValueError:
            pass
    if tp in (int, str, bool) and type(value) is tp:
        return value
    if tp is float and isinstance(value, float):
        return value
    raise ConfigError(f"{where} must be {tp.__name__}, got {value!r}")


def _assign(data: dict, keys: list[str], value, item: str) -> None:
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {k} is not a group of settings")
    node[keys[-1]] = value
