"""Manifests: one utterance per JSON line.

    {"id": "an251-fash-b", "audio": "wav/an251.wav", "duration": 1.6,
     "text": "yes", "speaker": "fash"}
    {"id": "rec1-0000000", "audio": "wav/rec1.wav", "duration": 2.5,
     "text": "hello", "offset": 0.0}

`audio` is relative to the manifest's folder (or absolute); `duration` and
`offset` are seconds. A line has an `offset` key iff it is a segment: then
`offset` + `duration` select a stretch of a longer recording (an offset of 0
included); without one the utterance is the whole file. Unknown keys are
kept in `extra` so that later tools (alignments, language tags) can add
fields without breaking older readers.

Reading checks every line (UTF-8, JSON, keys and their types; a byte-order
mark is ignored) and raises ManifestError naming `file:line`. A file that is
another tool's manifest (NeMo, Common Voice, LJSpeech, a Kaldi table) is
recognised at its first line, and the error names the `asr prep` importer
that reads it.
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
BOM = b"\xef\xbb\xbf"
AUDIO_SUFFIXES = (".wav", ".flac", ".sph", ".mp3", ".ogg")
KALDI_TABLES = ("wav.scp", "text", "segments", "utt2spk", "spk2utt", "reco2file_and_channel")


@dataclass
class Utterance:
    """One utterance; `audio` is an absolute path once read from a manifest.

    offset None: the whole file. A float (0.0 included): a segment of
    `duration` seconds starting there. `where` is "manifest:line" when the
    utterance was read from a manifest (for error messages); it is not
    written and not compared.
    """

    id: str
    audio: str
    duration: float
    text: str
    speaker: str | None = None
    offset: float | None = None
    extra: dict = field(default_factory=dict)
    where: str = field(default="", compare=False, repr=False)

    @property
    def is_segment(self) -> bool:
        return self.offset is not None

    def to_json(self, relative_to: Path | None = None) -> str:
        audio = self.audio
        if relative_to is not None:
            audio = _relative(Path(audio), relative_to)
        record = {"id": self.id, "audio": audio, "duration": round(self.duration, 4), "text": self.text}
        if self.speaker is not None:
            record["speaker"] = self.speaker
        if self.offset is not None:
            record["offset"] = round(self.offset, 4)
        record.update(self.extra)
        return json.dumps(record, ensure_ascii=False)


def read(path: str | Path) -> list[Utterance]:
    """Read a manifest; audio paths are made absolute, `where` is "path:line".

    Raises ManifestError naming the file and line of the first malformed
    record (or the importer to use when the file is another tool's manifest).
    """
    return [u for _, u in read_numbered(path)]


def read_numbered(path: str | Path) -> list[tuple[int, Utterance]]:
    """(line number, utterance) of each non-blank line of a manifest (see `read`)."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest (make one with `asr prep`)")
    try:
        data = path.read_bytes().removeprefix(BOM)
    except OSError as e:
        raise ManifestError(f"{path}: cannot read it ({e.strerror})") from None
    base = path.resolve().parent
    out: list[tuple[int, Utterance]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = _decode(raw, f"{path}:{number}", first=number == 1)
        if not line.strip():
            continue
        try:
            out.append((number, _parse(line, base, f"{path}:{number}")))
        except ManifestError:
            hint = None if out else _foreign(path, line)
            if hint:
                raise ManifestError(f"{path}: {hint}") from None
            raise
    return out


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


def _decode(raw: bytes, where: str, first: bool) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if first and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise ManifestError(f"{where}: UTF-16 text, not UTF-8 (re-save as UTF-8, "
                                "e.g. iconv -f UTF-16 -t UTF-8)") from None
        raise ManifestError(f"{where}: not UTF-8 text (byte 0x{raw[e.start]:02x} at column {e.start + 1}; "
                            "re-save as UTF-8, e.g. iconv -f LATIN1 -t UTF-8)") from None


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
    uid, audio, text = record.pop("id"), record.pop("audio"), record.pop("text")
    speaker = record.pop("speaker", None)
    if not (isinstance(uid, str) or _is_number(uid)):
        raise ManifestError(f"{where}: 'id' must be a string or a number, not {_shown(uid)}")
    if not isinstance(audio, str) or not audio:
        raise ManifestError(f"{where}: 'audio' must be a non-empty path, not {_shown(audio)}")
    if not isinstance(text, str):
        raise ManifestError(f"{where}: 'text' must be a string, not {_shown(text)}")
    if not (speaker is None or isinstance(speaker, str) or _is_number(speaker)):
        raise ManifestError(f"{where}: 'speaker' must be a string (or left out), not {_shown(speaker)}")
    duration = _seconds(record.pop("duration"), "duration", where)
    offset = record.pop("offset", None)
    return Utterance(
        id=str(uid),
        audio=str(base / audio) if not os.path.isabs(audio) else audio,
        duration=duration,
        text=text,
        speaker=None if speaker is None else str(speaker),
        offset=None if offset is None else _seconds(offset, "offset", where),
        extra=record,
        where=where,
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _seconds(value, key: str, where: str) -> float:
    if not _is_number(value):
        raise ManifestError(f"{where}: '{key}' must be a number of seconds, not {_shown(value)}")
    if not math.isfinite(value) or value < 0:
        raise ManifestError(f"{where}: '{key}' must be finite, non-negative seconds, not {value!r}")
    return float(value)


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _foreign(path: Path, line: str) -> str | None:
    """Which importer reads `path`, judged from its first line; None: not recognised."""
    folder = path.parent if str(path.parent) else Path(".")
    stripped = line.strip()
    try:
        record = json.loads(stripped)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict) and "audio_filepath" in record:
        return (f"this is a NeMo manifest, not an asr one: import it with "
                f"`asr prep nemo OUT --src {folder} --set train={path.name}`")
    if stripped.startswith(("{", "[")):
        return None
    if {"path", "sentence"} <= set(stripped.split("\t")):
        return (f"this is a Common Voice table, not an asr manifest: import its folder with "
                f"`asr prep commonvoice OUT --src {folder}`")
    fields = stripped.split("|")
    if len(fields) >= 2 and fields[0] and not fields[0].count(" "):
        return (f"this looks like LJSpeech's metadata.csv (id|text|normalized text), not an asr manifest: "
                f"import its folder with `asr prep ljspeech OUT --src {folder}`")
    key_value = stripped.split(maxsplit=1)
    audio_value = len(key_value) == 2 and key_value[1].lower().endswith(AUDIO_SUFFIXES + ("|",))
    if len(key_value) == 2 and (path.name in KALDI_TABLES or audio_value or (folder / "wav.scp").is_file()):
        return (f"this is a Kaldi table (\"key value\" lines), not an asr manifest: import its data folder "
                f"with `asr prep kaldi OUT --src {folder}`")
    return None


def _relative(audio: Path, base: Path) -> str:
    try:
        return audio.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(audio)
