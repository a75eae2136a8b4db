"""What every corpus importer does once it has found its utterances.

An importer lists `Source`s (id, audio file, transcript, speaker, optional
segment), then `measure` reads the audio headers in a small thread pool and
keeps what is usable, `speaker_split`/`utterance_split`/`fill_missing` hold
out dev and test where the corpus has none, and `write_splits` writes the
three manifests last. Everything left out goes through `Skips`, which logs the
file and the reason and counts it.

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

Log = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    """An utterance found in a corpus, before its audio header is read.

    duration None: the whole file from `offset` on, length from the header.
    """

    id: str
    audio: Path
    text: str
    speaker: str | None = None
    offset: float = 0.0
    duration: float | None = None


class Skips:
    """Logs and counts what an importer leaves out."""

    def __init__(self, log: Log):
        self.log = log
        self.count = 0

    def __call__(self, what: str | Path, reason: str) -> None:
        self.count += 1
        self.log(f"skipped {what}: {reason}")

    def report(self, kept: int) -> None:
        self.log(f"kept {kept} utterances, skipped {self.count}")


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
    """Utterances of the usable sources, durations from the audio headers.

    Skipped (and logged): duplicate ids, empty transcripts, unreadable or
    empty audio, segments outside their recording.
    """
    seen, todo = set(), []
    for s in sources:
        if s.id in seen:
            skips(s.audio, f"id {s.id} appears twice (kept the first)")
        elif not clean(s.text):
            skips(s.audio, f"empty transcript for {s.id}")
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
            skips(s.audio, header)
            continue
        info, absolute = header
        duration = info.duration - s.offset if s.duration is None else s.duration
        if duration <= 0 or s.offset + duration > info.duration + SLACK:
            skips(s.audio, f"segment {s.id} ({s.offset:g} s + {duration:g} s) is outside the "
                           f"recording ({info.duration:g} s)")
            continue
        utts.append(Utterance(id=s.id, audio=absolute, duration=duration, text=clean(s.text),
                              speaker=s.speaker, offset=s.offset))
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
    named split; the rest is "train"."""
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
    """Report the skips, then write out/{train,dev,test}.jsonl (sorted by id);
    an empty split is an AsrError raised before anything is written."""
    skips.report(sum(len(splits.get(name, [])) for name in SPLITS))
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
