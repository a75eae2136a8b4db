"""What every corpus importer does once it has found its utterances.

An importer reads its text files with `read_text`/`read_lines` (a UTF-8
byte-order mark is dropped; other encodings are an error naming the file and
line), lists `Source`s (id, audio file, transcript, speaker, optional
segment), then `measure` reads the audio headers in a small thread pool and
keeps what is usable, `speaker_split`/`utterance_split`/`fill_missing` hold
out dev and test where the corpus has none, and `write_splits` writes the
three manifests last. Everything left out goes through `Skips`, which logs
the file and the reason, counts it by reason, and ends every import (also a
failed one) with a report: utterances kept, skipped, and each reason with
its count and an example.

Held-out sets are chosen by a hash of (seed, speaker) or (seed, id), so they
are the same on every machine and a speaker keeps its side when others are
added.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from asr import audio, manifest
from asr.errors import AsrError, AudioError, ConfigError, UsageError
from asr.manifest import Utterance

SPLITS = ("train", "dev", "test")
HELD_OUT_SHARE = 0.08  # of the speakers, when a corpus has no dev (or test) split
THREADS = 4  # header reads are I/O: a few threads, never more
SLACK = 0.01  # seconds a segment may run past the end of its recording (rounding)
LISTED = 10  # skips logged one by one per reason; the rest are only counted
BOM = b"\xef\xbb\xbf"

Log = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    """An utterance found in a corpus, before its audio header is read.

    offset None: the whole file (its length from the header). A float, 0.0
    included: a segment starting there, `duration` seconds long (None: to the
    end of the recording).
    """

    id: str
    audio: Path
    text: str
    speaker: str | None = None
    offset: float | None = None
    duration: float | None = None


class Skips:
    """Logs and counts what an importer leaves out, by reason, and counts what
    `measure` keeps.

    `skips(what, message, reason)` logs "skipped WHAT: MESSAGE" (the first
    LISTED of each reason) and counts it under `reason`, a short category
    such as "no transcript for the key" (default: the message itself). Used
    as a context manager around an import, it logs the report at the end
    also when the import fails; `write_splits` logs it on success.
    """

    def __init__(self, log: Log):
        self.log = log
        self.kept = 0
        self.reasons: dict[str, list] = {}  # reason -> [count, example]
        self.reported = False

    def __call__(self, what: str | Path, message: str, reason: str | None = None) -> None:
        reason = reason or message
        entry = self.reasons.setdefault(reason, [0, what if message == reason else f"{what}: {message}"])
        entry[0] += 1
        if entry[0] <= LISTED:
            self.log(f"skipped {what}: {message}")
        if entry[0] == LISTED:
            self.log(f"(further skips for {reason!r} are counted, not listed)")

    def __enter__(self) -> Skips:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if not self.reported and (self.kept or self.count):
            self.report()

    @property
    def count(self) -> int:
        return sum(n for n, _ in self.reasons.values())

    def ranked(self) -> list[tuple[str, int, str]]:
        """(reason, count, example), the commonest reason first."""
        return sorted(((r, n, str(e)) for r, (n, e) in self.reasons.items()), key=lambda x: (-x[1], x[0]))

    def report(self) -> None:
        self.reported = True
        self.log(f"kept {self.kept} utterances, skipped {self.count}")
        for reason, n, example in self.ranked():
            self.log(f"  {reason}: {n} (example: {example})")

    def nothing_kept(self) -> str:
        """Why an import kept nothing: every reason, the commonest first."""
        if not self.count:
            return "no utterances found (check --src and the corpus layout it expects)"
        ranked = self.ranked()
        if len(ranked) == 1:
            reasons = f"{ranked[0][0]} (example: {ranked[0][2]})"
        else:
            reasons = "; ".join(f"{r} ({n}, example: {e})" for r, n, e in ranked)
        return f"{self.count} of {self.count} skipped: {reasons}"


def read_text(path: Path) -> str:
    """A text file's contents without a UTF-8 byte-order mark; AsrError naming
    the file and line when it is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise AsrError(f"{path}: cannot read it ({e.strerror})") from None
    data = data.removeprefix(BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise AsrError(f"{path}: UTF-16 text; save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)") from None
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - data.rfind(b"\n", 0, e.start)
        raise AsrError(f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at column {column}); "
                       f"save it as UTF-8, e.g. iconv -f LATIN1 -t UTF-8") from None


def read_lines(path: Path) -> list[str]:
    """The lines of a text file (see `read_text`), without line ends; line N is [N - 1]."""
    lines = [line.removesuffix("\r") for line in read_text(path).split("\n")]
    return lines[:-1] if lines and not lines[-1] else lines


def find_audio(stem: Path, suffixes: Sequence[str]) -> Path | None:
    """The file `stem` + one of `suffixes` (lower or upper case) that exists, else None."""
    for suffix in suffixes:
        for variant in (suffix.lower(), suffix.upper()):
            path = stem.with_name(stem.name + variant)
            if path.is_file():
                return path
    return None


def glob_audio(folder: Path, pattern: str, suffixes: Sequence[str]) -> list[Path]:
    """Files matching `pattern` (without suffix, e.g. "*/*") whose suffix is one
    of `suffixes` in any case (.wav, .WAV), sorted."""
    wanted = {s.lower() for s in suffixes}
    return sorted(p for p in folder.glob(pattern) if p.suffix.lower() in wanted and p.is_file())


def require_folder(src: Path | None, corpus: str, expected: str) -> Path:
    """`src` as a folder, or AsrError saying which folder `corpus` expects."""
    if src is None:
        raise UsageError(f"{corpus} needs --src: {expected}")
    if not src.is_dir():
        raise UsageError(f"{src}: no such folder ({corpus} expects {expected})")
    return src


def descend(src: Path, marker: str, names: Sequence[str]) -> Path:
    """`src` if it holds `marker`, else the first `src/<name>` that does (a
    corpus as unpacked from its archive), else `src` (the caller reports it)."""
    for folder in (src, *(src / n for n in names)):
        if (folder / marker).exists():
            return folder
    return src


def clean(text: str) -> str:
    """Collapse whitespace; case and punctuation are left to the trainer."""
    return re.sub(r"\s+", " ", text).strip()


def measure(sources: Iterable[Source], skips: Skips, threads: int = THREADS) -> list[Utterance]:
    """Utterances of the usable sources, durations from the audio headers;
    `offset` stays None for whole files and a float for segments.

    Skipped (and logged): duplicate ids, empty transcripts, unreadable or
    empty audio, segments outside their recording.
    """
    seen, todo = set(), []
    for s in sources:
        if s.id in seen:
            skips(s.audio, f"id {s.id} appears twice (kept the first)", "duplicate id")
        elif not clean(s.text):
            skips(s.audio, f"empty transcript for {s.id}", "empty transcript")
        else:
            seen.add(s.id)
            todo.append(s)
    files = sorted({s.audio for s in todo})
    with ThreadPoolExecutor(max_workers=max(1, min(threads, THREADS))) as pool:
        headers = dict(zip(files, pool.map(_header, files)))
    utts = []
    for s in todo:
        header = headers[s.audio]
        if isinstance(header, str):
            skips(s.audio, header, header.split(" (")[0])
            continue
        info, absolute = header
        start = s.offset or 0.0
        duration = info.duration - start if s.duration is None else s.duration
        if duration <= 0 or start + duration > info.duration + SLACK:
            skips(s.audio, f"segment {s.id} ({start:g} s + {duration:g} s) is outside the "
                           f"recording ({info.duration:g} s)", "segment outside its recording")
            continue
        utts.append(Utterance(id=s.id, audio=absolute, duration=duration, text=clean(s.text),
                              speaker=s.speaker, offset=s.offset))
    skips.kept += len(utts)
    return utts


def _header(path: Path) -> tuple[audio.AudioInfo, str] | str:
    """Header and absolute path of an audio file, or why it cannot be used."""
    try:
        info = audio.info(path)
    except AudioError as e:
        return str(e).removeprefix(f"{path}: ")
    if info.frames == 0:
        return "no audio samples (the file is empty)"
    return info, str(path.resolve())


def _rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def speaker_split(utts: list[Utterance], shares: dict[str, float], seed: int = 0,
                  log: Log = lambda s: None) -> dict[str, list[Utterance]]:
    """Hold out about `share` of the speakers (at least one) for each named split;
    the rest is "train". Utterances without a speaker count as their own.

    With too few speakers to leave one for training, splits by utterance instead.
    """
    if not utts:  # nothing to split: write_splits says why
        return {"train": [], **{name: [] for name in shares}}
    speakers = sorted({u.speaker or u.id for u in utts}, key=lambda s: _rank(seed, s))
    if len(speakers) <= len(shares):
        log(f"{len(speakers)} speaker(s): held-out sets are drawn by utterance instead")
        return utterance_split(utts, {k: max(1, round(v * len(utts))) for k, v in shares.items()}, seed)
    counts = [max(1, round(share * len(speakers))) for share in shares.values()]
    while sum(counts) >= len(speakers):  # keep at least one training speaker
        counts[counts.index(max(counts))] -= 1
    side, start = {}, 0
    for name, count in zip(shares, counts):
        side.update({s: name for s in speakers[start:start + count]})
        start += count
    parts = {"train": [], **{name: [] for name in shares}}
    for u in utts:
        parts[side.get(u.speaker or u.id, "train")].append(u)
    return parts


def utterance_split(utts: list[Utterance], counts: dict[str, int], seed: int = 0) -> dict[str, list[Utterance]]:
    """Hold out `counts[name]` utterances drawn at random (by seed) for each
    named split; the rest is "train". Nothing to split gives empty splits
    (`write_splits` then says why)."""
    if not utts:
        return {"train": [], **{name: [] for name in counts}}
    if sum(counts.values()) >= len(utts):
        wanted = ", ".join(f"{n} {k}" for k, n in counts.items())
        raise AsrError(f"only {len(utts)} usable utterances: too few to hold out {wanted} and keep some for training")
    ranked = sorted(utts, key=lambda u: _rank(seed, u.id))
    parts, start = {}, 0
    for name, count in counts.items():
        parts[name], start = ranked[start:start + count], start + count
    parts["train"] = ranked[start:]
    return parts


def fill_missing(splits: dict[str, list[Utterance]], seed: int = 0, log: Log = lambda s: None) -> dict[str, list[Utterance]]:
    """Hold out dev and/or test by speaker from train where the corpus has none
    (no key in `splits`; a split that is present but empty stays an error)."""
    missing = [name for name in ("dev", "test") if name not in splits]
    if not missing:
        return splits
    parts = speaker_split(splits.get("train", []), {name: HELD_OUT_SHARE for name in missing}, seed, log)
    for name in missing:
        log(f"{name}: none in the corpus, held out {len(parts[name])} utterances of train "
            f"({len({u.speaker for u in parts[name]})} speaker(s))")
    return {**splits, **parts}


def check_share(name: str, value: float) -> None:
    """ConfigError unless 0 < value < 1."""
    if not 0 < value < 1:
        raise ConfigError(f"option {name} must be a fraction between 0 and 1, got {value!r}")


def write_splits(out: Path, splits: dict[str, list[Utterance]], skips: Skips) -> dict[str, Path]:
    """Report the skips, then write out/{train,dev,test}.jsonl (sorted by id).
    Nothing kept, or an empty split, is an AsrError raised before anything is
    written; when nothing was kept it names the commonest reason first."""
    skips.report()
    if not any(splits.get(name) for name in SPLITS):
        raise AsrError(skips.nothing_kept())
    for name in SPLITS:
        if not splits.get(name):
            raise AsrError(f"the {name} split is empty: no usable utterances for it (see the skipped files above)")
    paths = {}
    for name in SPLITS:
        items = sorted(splits[name], key=lambda u: u.id)
        paths[name] = out / f"{name}.jsonl"
        manifest.write(paths[name], items)
        hours = sum(u.duration for u in items) / 3600
        skips.log(f"{name}: {len(items)} utterances, {hours:.2f} h, "
                  f"{len({u.speaker for u in items})} speaker(s) -> {paths[name]}")
    return paths
