"""What `train --resume` continues from, and the settings it may not change."""

from __future__ import annotations

import json
from pathlib import Path

from asr import checkpoint
from asr.config import Settings, to_dict
from asr.errors import AsrError, ConfigError


def newest(out_dir: Path) -> tuple[Path, dict]:
    """The newest checkpoint of the run in `out_dir` to resume, and its record."""
    path = checkpoint.newest(out_dir / "checkpoints")
    if path is None:
        raise AsrError(f"nothing to resume: no checkpoint in {out_dir / 'checkpoints'} (train without --resume)")
    return path, checkpoint.load(path)


def check_same_settings(path: Path, record: dict, settings: Settings) -> None:
    """Refuse to resume with other text, feature or model settings than the checkpoint's (a
    model trained on 80 mels cannot continue on 40), listing each; train settings may change."""
    saved = {"text": record["text"], "features": record["features"]["settings"], "model": record["model"]["settings"]}
    now = {"text": to_dict(settings.text), "features": to_dict(settings.features), "model": to_dict(settings.model)}
    show = lambda v: v if isinstance(v, str) else json.dumps(list(v) if isinstance(v, tuple) else v)  # noqa: E731
    # A setting the checkpoint lacks is newer than it; the run used what is now its default.
    changed = [f"{group}.{key}: {show(saved[group][key])} in the checkpoint, {show(value)} now"
               for group in now for key, value in now[group].items()
               if key in saved[group] and show(saved[group][key]) != show(value)]
    if changed:
        raise ConfigError(f"{path}: cannot resume with other settings than the checkpoint's: {'; '.join(changed)} "
                          "(resume with the checkpoint's settings, or train into another --out)")
