"""NeMo JSON-lines manifests.

    <src>/train*.json           {"audio_filepath": "wavs/a.wav", "duration": 2.1, "text": "..."}
    <src>/dev*.json or val*.json      optional keys: "offset", "speaker"
    <src>/test*.json            (.jsonl is read too; several files per split are joined)

The manifests are found by those names unless options name them:
`train=a.json dev=b.json test=c.json` (relative to --src or absolute;
several comma-separated files are joined). A folder with a single manifest
of another name uses it as train. A missing dev or test split is held out by
speaker from train; `split=speaker` or `split=utterance` holds out both
from the train manifest alone, by speaker or by utterance.

`audio_filepath` is absolute, relative to the manifest's folder, or relative
to the folder given as `root=`. Manifests copied from another machine name
paths that do not exist here: then the path is tried under the manifest's
folder and each folder above it (and `root=`), whole and with its leading
folders dropped one at a time (`/home/me/corpus/wavs/a.wav` is found as
`wavs/a.wav` beside the manifest's folder). How many files each rule found
is logged per manifest.

A record with an "offset" (0 included) is a segment of its file: offset and
duration come from the record. Otherwise the whole file is the utterance
and its duration is read from the header (NeMo's are often rounded). The id
is the file's name without suffix, plus the offset in centiseconds for
segments.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError, ConfigError, ManifestError

PATTERNS = {"train": ("train*",), "dev": ("dev*", "val*"), "test": ("test*",)}
SUFFIXES = (".json", ".jsonl")
SPLIT_BY = ("speaker", "utterance")
Log = Callable[[str], None]


def prepare(out: Path, src: Path | None, *, train: str = "", dev: str = "", test: str = "", split: str = "",
            root: str = "", seed: int = 0, log: Log = lambda s: None) -> dict[str, Path]:
    expected = "a folder of NeMo manifests train*.json, dev*.json (or val*.json), test*.json"
    src = common.require_folder(src, "nemo", expected)
    if split not in ("", *SPLIT_BY):
        raise ConfigError(f"nemo: option split must be one of {', '.join(SPLIT_BY)}, got {split!r}")
    if root and not Path(root).is_dir():
        raise ConfigError(f"nemo: option root={root}: no such folder")
    manifests = _manifests(src, {"train": train, "dev": dev, "test": test}, split, log)
    if "train" not in manifests:
        raise AsrError(f"{src}: no train*.json manifest (nemo expects {expected}, or name it with --set train=FILE)")
    find = _Finder(Path(root) if root else None, log)
    with common.Skips(log) as skips:
        splits = {name: common.measure([s for f in files for s in _records(f, find, skips)], skips)
                  for name, files in manifests.items()}
        if split:
            splits = _split(splits["train"], split, seed, log)
        return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _manifests(src: Path, named: dict[str, str], split: str, log: Log) -> dict[str, list[Path]]:
    """The manifest files of each split: those the options name, else those found by name."""
    if split and (named["dev"] or named["test"]):
        raise ConfigError(f"nemo: split={split} holds dev and test out of the train manifest; "
                          f"leave out dev= and test=, or leave out split=")
    manifests = {}
    for name, patterns in PATTERNS.items():
        if named[name]:
            manifests[name] = [_named(src, name, f.strip()) for f in named[name].split(",") if f.strip()]
        elif not split or name == "train":
            found = sorted({p for pattern in patterns for s in SUFFIXES for p in src.glob(pattern + s)})
            if found:
                manifests[name] = found
    if "train" not in manifests:
        every = sorted(p for s in SUFFIXES for p in src.glob(f"*{s}") if p.is_file())
        if len(every) == 1:
            log(f"{every[0]}: the only manifest in {src}, read as train")
            manifests["train"] = every
    return manifests


def _named(src: Path, option: str, name: str) -> Path:
    path = Path(name) if Path(name).is_absolute() else src / name
    if not path.is_file():
        raise ConfigError(f"nemo: option {option}={name}: no such manifest ({path})")
    return path


def _split(utts: list, how: str, seed: int, log: Log) -> dict[str, list]:
    """Hold dev and test out of train, by speaker or by utterance."""
    shares = {"dev": common.HELD_OUT_SHARE, "test": common.HELD_OUT_SHARE}
    if how == "speaker":
        if utts and all(u.speaker is None for u in utts):
            log("split=speaker: no record has a speaker, so each utterance counts as its own")
        return common.speaker_split(utts, shares, seed, log)
    return common.utterance_split(utts, {k: max(1, round(v * len(utts))) for k, v in shares.items()}, seed)


def _records(path: Path, find: _Finder, skips: common.Skips) -> list[common.Source]:
    """Sources of one manifest; ManifestError names the line of malformed JSON."""
    sources = []
    for number, line in enumerate(common.read_lines(path), start=1):
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
        audio = find(record["audio_filepath"], path)
        if not isinstance(record.get("text"), str):
            skips(audio, f"no transcript ({where})", "no transcript")
            continue
        try:
            offset = float(record["offset"]) if record.get("offset") is not None else None
            duration = float(record["duration"]) if offset is not None else None
        except (KeyError, TypeError, ValueError):
            skips(audio, f"a segment needs numeric offset and duration ({where})", "segment without numbers")
            continue
        uid = audio.stem if offset is None else f"{audio.stem}-{round(offset * 100):07d}"
        speaker = record.get("speaker")
        sources.append(common.Source(id=uid, audio=audio, text=record["text"], offset=offset,
                                     duration=duration, speaker=None if speaker is None else str(speaker)))
    find.report(path)
    return sources


class _Finder:
    """Finds the audio file an `audio_filepath` names, also when the manifest
    was written on another machine; counts which rule found each file."""

    def __init__(self, root: Path | None, log: Log):
        self.root, self.log = root, log
        self.counts: dict[str, int] = {}
        self.learned: list[tuple[Path, int]] = []  # (base, folders dropped) that found a file, latest first

    def __call__(self, written: str, manifest: Path) -> Path:
        path, rule = self._find(written, manifest.parent.absolute())
        self.counts[rule] = self.counts.get(rule, 0) + 1
        return path

    def report(self, manifest: Path) -> None:
        """Log how many files of `manifest` each rule found, then start counting afresh."""
        if self.counts:
            self.log(f"{manifest}: audio files " + ", ".join(f"{n} {rule}" for rule, n in self.counts.items()))
        self.counts = {}

    def _find(self, written: str, folder: Path) -> tuple[Path, str]:
        path = Path(written)
        if path.is_absolute():
            if path.is_file():
                return path, "absolute as written"
        elif self.root is not None and (self.root / path).is_file():
            return self.root / path, f"relative to root {self.root}"
        elif (folder / path).is_file():
            return folder / path, "relative to the manifest"
        parts = _parts(written)
        bases = ([self.root] if self.root is not None else []) + [folder, *folder.parents]
        rules = [*self.learned, *((b, d) for d in range(len(parts)) for b in bases)]
        for base, dropped in rules:
            candidate = base.joinpath(*parts[dropped:])
            if candidate.is_file():
                self.learned = [(base, dropped), *(r for r in self.learned if r != (base, dropped))][:4]
                return candidate, f"under {base}" + (f" with {dropped} leading folder(s) dropped" if dropped else "")
        return (path if path.is_absolute() else (self.root or folder) / path), "not found"


def _parts(written: str) -> tuple[str, ...]:
    """The folders and name of a path as written, without its root (POSIX or Windows)."""
    pure = PureWindowsPath(written) if "\\" in written and "/" not in written else PurePosixPath(written)
    return tuple(p for p in pure.parts if p != pure.anchor and p not in ("", "."))
