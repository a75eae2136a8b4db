"""Kaldi data folders.

    <data>/wav.scp      utt path            (or rec path, with segments)
    <data>/text         utt word word ...
    <data>/utt2spk      utt speaker         (optional; else each utterance is its own speaker)
    <data>/segments     utt rec start end   (optional; seconds, end -1 = to the end)

--src is one data folder (dev and test are then held out from it by
speaker) or a folder holding train/, dev/ and test/ data folders (a missing
dev/ or test/ is held out from train/). wav.scp must list files: piped
commands (`utt sox ... |`) are refused; convert the audio to files first.
Relative paths are taken from the data folder, else from two folders up (the
recipe folder of `s5/data/train`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError


def prepare(out: Path, src: Path | None, *, seed: int = 0, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "a Kaldi data folder (wav.scp, text[, utt2spk, segments]) or one holding train/, dev/, test/ data folders"
    src = common.require_folder(src, "kaldi", expected)
    skips = common.Skips(log)
    if (src / "wav.scp").is_file():
        splits = {"train": common.measure(_sources(src, skips), skips)}
    elif (src / "train" / "wav.scp").is_file():
        splits = {name: common.measure(_sources(src / name, skips), skips)
                  for name in common.SPLITS if (src / name / "wav.scp").is_file()}
    else:
        raise AsrError(f"{src}: no wav.scp here or in train/ (kaldi expects {expected})")
    return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _table(path: Path) -> dict[str, str]:
    """First field -> rest of the line, of a Kaldi table file ({} when absent)."""
    table = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                table[key] = value.strip()
    return table


def _recordings(data: Path) -> dict[str, Path]:
    """wav.scp as recording id -> audio file; AsrError on a piped command."""
    recordings = {}
    for number, line in enumerate((data / "wav.scp").read_text(encoding="utf-8").splitlines(), start=1):
        key, _, value = line.strip().partition(" ")
        if not key:
            continue
        if value.strip().endswith("|"):
            raise AsrError(f"{data / 'wav.scp'}:{number}: {line.strip()!r} is a piped command, not a file "
                           f"(convert the audio to files first, e.g. with sox, and list their paths)")
        recordings[key] = _locate(data, value.strip())
    return recordings


def _locate(data: Path, path: str) -> Path:
    candidates = [Path(path)] if Path(path).is_absolute() else [data / path, data.parent.parent / path]
    return next((p for p in candidates if p.exists()), candidates[0])


def _sources(data: Path, skips: common.Skips) -> list[common.Source]:
    """Utterances of one data folder: segments of recordings, or whole recordings."""
    recordings, texts, speakers = _recordings(data), _table(data / "text"), _table(data / "utt2spk")
    if (data / "segments").is_file():
        spans = {}
        for seg, value in _table(data / "segments").items():
            fields = value.split()
            try:
                rec, start, end = fields[0], float(fields[1]), float(fields[2])
            except (IndexError, ValueError):
                skips(data / "segments", f"malformed line for {seg}: {value!r}")
                continue
            spans[seg] = (rec, start, None if end < 0 else end - start)
    else:
        spans = {rec: (rec, 0.0, None) for rec in recordings}
    sources = []
    for uid, (rec, offset, duration) in spans.items():
        if rec not in recordings:
            skips(data / "segments", f"recording {rec} of {uid} is not in wav.scp")
        elif uid not in texts:
            skips(recordings[rec], f"no transcript for {uid} in {data / 'text'}")
        else:
            sources.append(common.Source(id=uid, audio=recordings[rec], text=texts[uid], speaker=speakers.get(uid),
                                         offset=offset, duration=duration))
    return sources
