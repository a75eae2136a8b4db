"""CMU AN4 (census / alphanumeric), 16 kHz, SphinxTrain layout.

    <src>/                      (or <src>/an4/, as the archives unpack)
      etc/an4_train.fileids     an4_clstk/fash/an251-fash-b       (one per line)
      etc/an4_train.transcription   <s> YES </s> (an251-fash-b)
      etc/an4_test.fileids      an4test_clstk/fcaw/an406-fcaw-b
      etc/an4_test.transcription    RUBOUT G M E F THREE NINE (an406-fcaw-b)
      wav/<fileid>.wav          (WAV edition) or wav/<fileid>.sph (NIST SPHERE)

The official train (948) and test (130, 10 other speakers) lists are kept;
dev is held out by speaker from train. The speaker is the folder above each
file. Transcripts keep their words (upper case: the trainer folds case);
`<s>`, `</s>`, `<sil>` and the `(id)` suffix are removed. Audio suffixes may
be upper case (.WAV, .SPH); a UTF-8 byte-order mark in the lists is
ignored. The headerless `.raw` edition cannot be read: use the WAV or
SPHERE one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError

LISTS = {"train": "an4_train", "test": "an4_test"}
SUFFIXES = (".wav", ".sph")
MARKERS = {"<s>", "</s>", "<sil>"}
LINE = re.compile(r"^(?P<text>.*)\((?P<id>[^()\s]+)\)\s*$")


def prepare(out: Path, src: Path | None, *, seed: int = 0, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "the an4 folder holding etc/ and wav/ (SphinxTrain WAV or NIST SPHERE edition)"
    root = common.descend(common.require_folder(src, "an4", expected), "etc", ["an4"])
    if not (root / "wav").is_dir():
        raise AsrError(f"{src}: no wav/ folder (an4 expects {expected})")
    kinds = {p.suffix.lower() for p in (root / "wav").rglob("*")}
    if not kinds & set(SUFFIXES) and ".raw" in kinds:
        raise AsrError(f"{root / 'wav'}: only headerless .raw audio, which cannot be read "
                       f"(use the NIST SPHERE edition, an4_sphere.tar.gz, or the WAV one)")
    with common.Skips(log) as skips:
        splits = {split: common.measure(_sources(root, stem, skips), skips) for split, stem in LISTS.items()}
        return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _sources(root: Path, stem: str, skips: common.Skips) -> list[common.Source]:
    """Sources of one list (an4_train or an4_test)."""
    texts = _transcripts(root / "etc" / f"{stem}.transcription")
    sources = []
    for fileid in _fileids(root / "etc" / f"{stem}.fileids"):
        uid, audio = Path(fileid).name, _audio(root / "wav" / fileid)
        if uid not in texts:
            skips(audio, f"no transcript for {uid} in {stem}.transcription", "no transcript for the key")
            continue
        sources.append(common.Source(id=uid, audio=audio, text=texts[uid], speaker=Path(fileid).parent.name))
    return sources


def _fileids(path: Path) -> list[str]:
    if not path.is_file():
        raise AsrError(f"{path}: missing (an4 expects etc/an4_train.fileids and etc/an4_test.fileids)")
    return [line.strip() for line in common.read_lines(path) if line.strip()]


def _transcripts(path: Path) -> dict[str, str]:
    """id -> words of a SphinxTrain transcription file."""
    if not path.is_file():
        raise AsrError(f"{path}: missing (an4 expects etc/an4_{{train,test}}.transcription)")
    return {uid: words for uid, words in transcription(common.read_lines(path)) if uid}


def transcription(lines: list[str]) -> list[tuple[str | None, str]]:
    """(id or None, words) of each non-blank line of a SphinxTrain
    transcription ("<s> WORDS </s> (id)"); markers removed."""
    parsed = []
    for line in lines:
        match = LINE.match(line.strip())
        uid, text = (match["id"], match["text"]) if match else (None, line)
        if text.strip() or uid:
            parsed.append((uid, " ".join(w for w in text.split() if w.lower() not in MARKERS)))
    return parsed


def _audio(stem: Path) -> Path:
    """The .wav or .sph file (any case) of a file id (the .wav name when neither exists)."""
    return common.find_audio(stem, SUFFIXES) or stem.with_name(stem.name + SUFFIXES[0])
