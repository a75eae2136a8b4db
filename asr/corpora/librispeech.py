"""LibriSpeech (read English audiobooks, 16 kHz FLAC).

    <src>/                              (LibriSpeech root, or its parent)
      <subset>/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac
      <subset>/<spk>/<chapter>/<spk>-<chapter>.trans.txt   lines "ID TEXT"

With a root, `subsets` (comma-separated) picks the subsets: every train-* is
train, every dev-* dev, every test-* test. A test-* subset is required, so
that results are measured on an official test set; without a dev-* subset,
dev is held out by speaker from train. With --src one subset folder (e.g.
dev-clean), that subset alone is the corpus and dev and test are held out
from it by speaker (`subsets` is then not used). Transcripts stay upper case
(the trainer folds case). Audio may be .flac or .FLAC; a UTF-8 byte-order
mark in a .trans.txt is ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError, ConfigError

KINDS = ("train", "dev", "test")
SUFFIXES = (".flac",)


def prepare(out: Path, src: Path | None, *, subsets: str = "train-clean-100,dev-clean,test-clean", seed: int = 0,
            log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "the LibriSpeech folder holding subsets such as train-clean-100/, or one subset folder"
    src = common.require_folder(src, "librispeech", expected)
    with common.Skips(log) as skips:
        if _kind(src.name):
            log(f"{src.name}: one subset, dev and test held out from it by speaker (option subsets not used)")
            train = common.measure(_subset(src, skips), skips)
            splits = common.speaker_split(train, {"dev": common.HELD_OUT_SHARE, "test": common.HELD_OUT_SHARE},
                                          seed, log)
            return common.write_splits(out, splits, skips)
        root = common.descend(src, subsets.split(",")[0].strip(), ["LibriSpeech"])
        chosen = _choose(subsets, root)
        splits = {kind: common.measure([s for name in names for s in _subset(root / name, skips)], skips)
                  for kind, names in chosen.items()}
        return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _kind(name: str) -> str | None:
    """"train", "dev" or "test" for a subset name like train-clean-100."""
    return next((k for k in KINDS if name.startswith(f"{k}-")), None)


def _choose(subsets: str, root: Path) -> dict[str, list[str]]:
    """Subset names by split; AsrError when one is missing or there is no train or test."""
    names = [n.strip() for n in subsets.split(",") if n.strip()]
    chosen: dict[str, list[str]] = {}
    for name in names:
        if not _kind(name):
            raise ConfigError(f"librispeech: subset {name!r} is not train-*, dev-* or test-*")
        if not (root / name).is_dir():
            found = sorted(p.name for p in root.iterdir() if p.is_dir() and _kind(p.name)) if root.is_dir() else []
            raise AsrError(f"{root / name}: no such subset folder (found: {', '.join(found) or 'none'})")
        chosen.setdefault(_kind(name), []).append(name)
    for kind in ("train", "test"):
        if kind not in chosen:
            raise ConfigError(f"librispeech: option subsets={subsets!r} names no {kind}-* subset "
                              f"(add e.g. {kind}-clean{'-100' if kind == 'train' else ''})")
    return chosen


def _subset(folder: Path, skips: common.Skips) -> list[common.Source]:
    """Sources of one subset folder; audio without a transcript line is skipped."""
    sources = []
    for chapter in sorted(p for p in folder.glob("*/*") if p.is_dir()):
        trans, speaker = chapter / f"{chapter.parent.name}-{chapter.name}.trans.txt", chapter.parent.name
        lines = common.read_lines(trans) if trans.is_file() else []
        listed = set()
        for line in lines:
            fields = line.split(maxsplit=1)
            if fields:
                uid = fields[0]
                listed.add(uid)
                audio = common.find_audio(chapter / uid, SUFFIXES) or chapter / f"{uid}{SUFFIXES[0]}"
                sources.append(common.Source(id=uid, audio=audio, text="".join(fields[1:]), speaker=speaker))
        for flac in common.glob_audio(chapter, "*", SUFFIXES):
            if flac.stem not in listed:
                skips(flac, f"no transcript line in {trans.name}{'' if trans.is_file() else ' (no such file)'}",
                      "no transcript for the key")
    return sources
