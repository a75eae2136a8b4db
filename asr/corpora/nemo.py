"""NeMo JSON-lines manifests.

    <src>/train*.json           {"audio_filepath": "wavs/a.wav", "duration": 2.1, "text": "..."}
    <src>/dev*.json or val*.json      optional keys: "offset", "speaker"
    <src>/test*.json            (.jsonl is read too; several files per split are joined)

`audio_filepath` is absolute or relative to the manifest's folder. A record
with an "offset" is a segment of its file: offset and duration come from the
record. Otherwise the whole file is the utterance and its duration is read
from the header (NeMo's are often rounded). The id is the file's name
without suffix, plus the offset in centiseconds for segments. A missing dev
or test split is held out by speaker from train.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError, ManifestError

PATTERNS = {"train": ("train*",), "dev": ("dev*", "val*"), "test": ("test*",)}


def prepare(out: Path, src: Path | None, *, seed: int = 0, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "a folder of NeMo manifests train*.json, dev*.json (or val*.json), test*.json"
    src = common.require_folder(src, "nemo", expected)
    skips = common.Skips(log)
    splits = {}
    for name, patterns in PATTERNS.items():
        files = sorted({p for pattern in patterns for suffix in (".json", ".jsonl") for p in src.glob(pattern + suffix)})
        if files:
            splits[name] = common.measure([s for f in files for s in _records(f, skips)], skips)
    if "train" not in splits:
        raise AsrError(f"{src}: no train*.json manifest (nemo expects {expected})")
    return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _records(path: Path, skips: common.Skips) -> list[common.Source]:
    """Sources of one manifest; ManifestError names the line of malformed JSON."""
    sources = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ManifestError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict) or not isinstance(record.get("audio_filepath"), str):
            skips(where, "no audio_filepath")
            continue
        audio = path.parent / record["audio_filepath"]  # an absolute path stays as it is
        if not isinstance(record.get("text"), str):
            skips(audio, f"no transcript ({where})")
            continue
        try:
            offset = float(record["offset"]) if "offset" in record else None
            duration = float(record["duration"]) if offset is not None else None
        except (KeyError, TypeError, ValueError):
            skips(audio, f"a segment needs numeric offset and duration ({where})")
            continue
        uid = audio.stem if offset is None else f"{audio.stem}-{round(offset * 100):07d}"
        speaker = record.get("speaker")
        sources.append(common.Source(id=uid, audio=audio, text=record["text"], offset=offset or 0.0,
                                     duration=duration, speaker=None if speaker is None else str(speaker)))
    return sources
