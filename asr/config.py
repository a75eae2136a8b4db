"""Settings: dataclasses loaded from recipe YAML plus `key=value` overrides.

    settings = load("recipes/digits/train.yaml", ["train.epochs=5", "model.cell=gru"])

An unknown key, in the file or in an override, is an error that lists the
known ones; a missing required key is an error naming it; values are checked
against the field's type (floats must be finite), then against their range:
`from_dict` calls the `check()` method of every settings class it builds
(`train.accumulate must be >= 1, got 0`), so out-of-range settings are found
when they are loaded, before any work. `read_yaml` and `load` also read other
settings files (a recipe's prep.yaml) through the same rules.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asr.augment import AugmentSettings
from asr.errors import ConfigError
from asr.features import FeatureSettings, SpecAugmentSettings
from asr.model import ModelSettings
from asr.schedule import KINDS as SCHEDULES
from asr.text import TextSettings

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SEED_LIMIT = 10_000_000  # per-utterance seeds are seed x 10^12 + ...: they must fit torch's 64 bits


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
    device: str = "auto"  # auto | cpu | cuda | cuda:N
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
    tensorboard: bool = False  # also log the metrics' scalars to OUT/tensorboard (pip install "asr[tensorboard]")

    def check(self) -> None:
        """Raise ConfigError naming the first setting out of its range."""
        at_least = {"epochs": 1, "max_frames": 1, "max_batch": 1, "bucket_size": 0, "sortagrad": 0, "accumulate": 1,
                    "warmup_steps": 0, "plateau_patience": 1, "log_every": 1, "workers": 0, "stats_utterances": 1,
                    "checkpoint_every": 0, "keep": 1, "max_bad_steps": 1, "early_stop": 0, "average": 0}
        for name, low in at_least.items():
            value = getattr(self, name)
            if not value >= low:
                raise ConfigError(f"train.{name} must be >= {low}, got {value}")
        for name in ("lr", "clip_norm", "max_duration"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"train.{name} must be a number > 0, got {value}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"train.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.final_lr_ratio <= 1:
            raise ConfigError(f"train.final_lr_ratio must be between 0 and 1, got {self.final_lr_ratio}")
        if not 0 <= self.seed < SEED_LIMIT:
            raise ConfigError(f"train.seed must be between 0 and {SEED_LIMIT - 1}, got {self.seed}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"train.schedule must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"train.device must be auto, cpu, cuda or cuda:N (N a GPU number), not {self.device!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"train.precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.precision == "fp16" and self.device == "cpu":
            raise ConfigError("train.precision=fp16 needs a CUDA device (use bf16 or fp32 with train.device=cpu)")


@dataclass(frozen=True)
class Settings:
    """Everything `asr train` needs besides the data."""

    text: TextSettings = field(default_factory=TextSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    specaugment: SpecAugmentSettings = field(default_factory=SpecAugmentSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    augment: AugmentSettings = field(default_factory=AugmentSettings)
    train: TrainSettings = field(default_factory=TrainSettings)

    def check(self) -> None:
        """Checks across groups (each group has checked its own settings already)."""
        for speed in self.augment.speeds:
            if round(self.features.sample_rate * speed) < 1:
                raise ConfigError(f"augment.speeds: {speed} is too slow a speed at features.sample_rate "
                                  f"{self.features.sample_rate} Hz")


def load(path: str | Path | None = None, overrides: list[str] = (), cls=Settings):
    """Settings `cls` from a YAML file (or the defaults) with `a.b=value` overrides applied."""
    data = read_yaml(path) if path is not None else {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} is not of the form key=value (e.g. train.epochs=5)")
        try:
            parsed = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            parsed = value  # e.g. `train.device=cuda:[0`: kept as text, for the type and range checks to judge
        _assign(data, key.strip().split("."), parsed, item)
    return from_dict(cls, data, where=str(path) if path is not None else "settings")


def read_yaml(path: str | Path) -> dict:
    """The top-level mapping of a YAML settings file (an empty file is an empty mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such settings file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (settings are YAML text)") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level, got {type(data).__name__}")
    return data


def from_dict(cls, data: dict, where: str = "settings", source: str | None = None):
    """Build dataclass `cls` from a nested dict: unknown keys, missing required keys and
    values of the wrong type are errors; then `check()` of each settings class built
    (nested ones first) checks the ranges. `where` names the place in error messages
    (`recipes/x/train.yaml: train`); `source`, the file, prefixes range errors (default: `where`)."""
    source = where if source is None else source
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping for {cls.__name__}, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    unknown = sorted(set(data) - names, key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(map(str, unknown))} "
                          f"(known: {', '.join(sorted(names))})")
    missing = [f.name for f in fields if f.name not in data and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"{where}: missing setting(s) {', '.join(missing)} (known: {', '.join(sorted(names))})")
    values = {key: _coerce(hints[key], value, f"{where}: {key}", source) for key, value in data.items()}
    try:
        settings = cls(**values)
    except TypeError as e:
        raise ConfigError(f"{where}: {e}") from None
    if callable(getattr(settings, "check", None)):
        try:
            settings.check()
        except ConfigError as e:
            raise ConfigError(f"{source}: {e}") from None
    return settings


def to_dict(settings) -> dict:
    return dataclasses.asdict(settings)


def _coerce(tp, value, where: str, source: str):
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where, source)
    args = typing.get_args(tp)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{where} must be a non-empty list, e.g. [0.9, 1.0, 1.1], got {value!r}")
        return tuple(_coerce(args[0], v, where, source) for v in value)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
    if tp is dict or typing.get_origin(tp) is dict:
        if value is None:  # `options:` with every entry commented out
            return {}
        if isinstance(value, dict):
            return dict(value)
        raise ConfigError(f"{where} must be a mapping (key: value lines), got {value!r}")
    if tp is float and not isinstance(value, bool) and isinstance(value, (int, float, str)):
        # YAML 1.1 reads 1e-3 (no dot) as a string; it is a float to anyone who writes it.
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
        if number is not None:
            if not math.isfinite(number):
                raise ConfigError(f"{where} must be a finite number, got {value!r}")
            return number
    if tp in (int, str, bool) and type(value) is tp:
        return value
    raise ConfigError(f"{where} must be {tp.__name__}, got {value!r}")


def _assign(data: dict, keys: list[str], value, item: str) -> None:
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {item!r}: {k} is not a group of settings")
    node[keys[-1]] = value
