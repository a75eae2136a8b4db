"""Free Spoken Digit Dataset: single English digits, 8 kHz, 6 speakers.

    <src>/recordings/{digit}_{speaker}_{index}.wav     e.g. 7_jackson_32.wav (.WAV too)
    (or --src the recordings/ folder itself)

The text is the digit's word ("zero" .. "nine"). Test is every clip of
`test_speaker`, a voice the model never hears in training. Dev is, by default,
FSDD's own held-out share of the other five speakers (indices 0-4 of each
digit, 10 %), so all five train; with `dev_speaker`, that speaker's clips are
dev instead and four speakers train.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError, ConfigError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NAME = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>[^_]+)_(?P<index>[0-9]+)$")


DEV_INDICES = 5  # FSDD's README: recordings 0-4 of each digit and speaker are its test share


def prepare(out: Path, src: Path | None, *, test_speaker: str = "theo", dev_speaker: str | None = None,
            log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    root = common.require_folder(src, "fsdd", "the free-spoken-digit-dataset folder (or its recordings/ folder)")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    if test_speaker == dev_speaker:
        raise ConfigError(f"fsdd: test_speaker and dev_speaker must differ (both {test_speaker!r})")
    with common.Skips(log) as skips:
        sources = []
        for path in common.glob_audio(folder, "*", (".wav",)):
            match = NAME.match(path.stem)
            if not match:
                skips(path, "the name is not {digit}_{speaker}_{index}.wav")
                continue
            sources.append(common.Source(id=path.stem, audio=path, text=WORDS[int(match["digit"])],
                                         speaker=match["speaker"]))
        if not sources:
            raise AsrError(skips.nothing_kept())
        speakers = sorted({s.speaker for s in sources})
        for option, name in (("test_speaker", test_speaker), ("dev_speaker", dev_speaker)):
            if name is not None and name not in speakers:
                raise ConfigError(f"fsdd: {option} {name!r} has no recordings in {folder} "
                                  f"(speakers: {', '.join(speakers) or 'none'})")
        utts = common.measure(sources, skips)
        splits = {name: [u for u in utts if _split(u, test_speaker, dev_speaker) == name] for name in common.SPLITS}
        return common.write_splits(out, splits, skips)


def _split(u, test_speaker: str, dev_speaker: str | None) -> str:
    if u.speaker == test_speaker:
        return "test"
    if dev_speaker is not None:
        return "dev" if u.speaker == dev_speaker else "train"
    return "dev" if int(NAME.match(u.id)["index"]) < DEV_INDICES else "train"

