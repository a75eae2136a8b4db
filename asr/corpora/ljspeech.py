"""LJ Speech: one American English speaker reading non-fiction, 22.05 kHz.

    <src>/                      (LJSpeech-1.1, or its parent)
      metadata.csv              id|transcription|normalized transcription
      wavs/<id>.wav

The normalised column (numbers and abbreviations spelled out) is used, the
raw one where it is empty. With a single speaker, `dev` and `test`
utterances are drawn at random (by `seed`); the rest is train. metadata.csv
is UTF-8 (a byte-order mark is ignored); wavs may be .wav or .WAV.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError, ConfigError

SPEAKER = "LJ"


def prepare(out: Path, src: Path | None, *, dev: int = 100, test: int = 500, seed: int = 0,
            log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "the LJSpeech-1.1 folder holding metadata.csv and wavs/"
    root = common.descend(common.require_folder(src, "ljspeech", expected), "metadata.csv", ["LJSpeech-1.1"])
    table = root / "metadata.csv"
    if not table.is_file():
        raise AsrError(f"{src}: no metadata.csv (ljspeech expects {expected})")
    for name, value in (("dev", dev), ("test", test)):
        if value < 1:
            raise ConfigError(f"ljspeech: option {name} must be at least 1 utterance, got {value}")
    sources = []
    for row in csv.reader(io.StringIO(common.read_text(table), newline=""), delimiter="|", quoting=csv.QUOTE_NONE):
        if not row or not row[0].strip():
            continue
        uid, text = row[0].strip(), (row[2] if len(row) > 2 and row[2].strip() else "".join(row[1:2]))
        audio = common.find_audio(root / "wavs" / uid, (".wav",)) or root / "wavs" / f"{uid}.wav"
        sources.append(common.Source(id=uid, audio=audio, text=text, speaker=SPEAKER))
    with common.Skips(log) as skips:
        utts = common.measure(sources, skips)
        return common.write_splits(out, common.utterance_split(utts, {"dev": dev, "test": test}, seed), skips)
