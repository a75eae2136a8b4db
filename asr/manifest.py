"""Manifests: one utterance per JSON line.

    {"id": "an251-fash-b", "audio": "wav/an251.wav", "duration": 1.6,
     "text": "yes", "speaker": "fash", "offset": 0.0}

`audio` is relative to the manifest's folder (or absolute); `duration` and
`offset` are seconds. `offset` + `duration` select a segment of a longer
recording. Unknown keys are kept in `extra` so that later tools (alignments,
language tags) can add fields without breaking older readers.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from asr.errors import ManifestError

REQUIRED = ("id", "audio", "duration", "text")


@dataclass
class Utterance:
    """One utterance; `audio` is an absolute path once read from a manifest."""

    id: str
    audio: str
    duration: float
    text: str
    speaker: str | None = None
    offset: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_json(self, relative_to: Path | None = None) -> str:
        audio = self.audio
        if relative_to is not None:
            audio = _relative(Path(audio), relative_to)
        record = {"id": self.id, "audio": audio, "duration": round(self.duration, 4), "text": self.text}
        if self.speaker is not None:
            record["speaker"] = self.speaker
        if self.offset:
            record["offset"] = round(self.offset, 4)
        record.update(self.extra)
        return json.dumps(record, ensure_ascii=False)


def read(path: str | Path) -> list[Utterance]:
    """Read a manifest; audio paths are made absolute.

    Raises ManifestError naming the file and line of the first malformed record.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest (make one with `asr prep`)")
    base = path.resolve().parent
    utterances = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                utterances.append(_parse(line, base, f"{path}:{number}"))
    return utterances


def write(path: str | Path, utterances: Iterable[Utterance]) -> None:
    """Write a manifest atomically, audio paths relative to its folder when inside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = path.resolve().parent
    text = "".join(u.to_json(relative_to=base) + "\n" for u in utterances)
    atomic_write_text(path, text)


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _parse(line: str, base: Path, where: str) -> Utterance:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(record, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(record).__name__}")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ManifestError(f"{where}: missing key(s) {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    try:
        duration = float(record.pop("duration"))
        offset = float(record.pop("offset", 0.0) or 0.0)
    except (TypeError, ValueError):
        raise ManifestError(f"{where}: 'duration' and 'offset' must be numbers of seconds") from None
    if not (math.isfinite(duration) and math.isfinite(offset)) or duration < 0 or offset < 0:
        raise ManifestError(f"{where}: 'duration' and 'offset' must be finite, non-negative seconds")
    uid, audio, text = record.pop("id"), record.pop("audio"), record.pop("text")
    if not isinstance(audio, str) or not audio:
        raise ManifestError(f"{where}: 'audio' must be a non-empty path")
    if not isinstance(text, str):
        raise ManifestError(f"{where}: 'text' must be a string")
    speaker = record.pop("speaker", None)
    return Utterance(
        id=str(uid),
        audio=str(base / audio) if not os.path.isabs(audio) else audio,
        duration=duration,
        text=text,
        speaker=None if speaker is None else str(speaker),
        offset=offset,
        extra=record,
    )


def _relative(audio: Path, base: Path) -> str:
    try:
        return audio.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(audio)
