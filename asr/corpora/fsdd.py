"""Free Spoken Digit Dataset: single English digits, 8 kHz, 6 speakers.

    <src>/recordings/{digit}_{speaker}_{index}.wav     e.g. 7_jackson_32.wav
    (or --src the recordings/ folder itself)

The text is the digit's word ("zero" .. "nine"). Splits are by speaker: all of
`test_speaker` is test, all of `dev_speaker` is dev, the others train.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import ConfigError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
NAME = re.compile(r"^(?P<digit>[0-9])_(?P<speaker>[^_]+)_(?P<index>[0-9]+)$")


def prepare(out: Path, src: Path | None, *, test_speaker: str = "theo", dev_speaker: str = "yweweler",
            log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    root = common.require_folder(src, "fsdd", "the free-spoken-digit-dataset folder (or its recordings/ folder)")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    if test_speaker == dev_speaker:
        raise ConfigError(f"fsdd: test_speaker and dev_speaker must differ (both {test_speaker!r})")
    skips = common.Skips(log)
    sources = []
    for path in sorted(folder.glob("*.wav")):
        match = NAME.match(path.stem)
        if not match:
            skips(path, "the name is not {digit}_{speaker}_{index}.wav")
            continue
        sources.append(common.Source(id=path.stem, audio=path, text=WORDS[int(match["digit"])],
                                     speaker=match["speaker"]))
    speakers = sorted({s.speaker for s in sources})
    for option, name in (("test_speaker", test_speaker), ("dev_speaker", dev_speaker)):
        if name not in speakers:
            raise ConfigError(f"fsdd: {option} {name!r} has no recordings in {folder} "
                              f"(speakers: {', '.join(speakers) or 'none'})")
    utts = common.measure(sources, skips)
    side = {test_speaker: "test", dev_speaker: "dev"}
    splits = {name: [u for u in utts if side.get(u.speaker, "train") == name] for name in common.SPLITS}
    return common.write_splits(out, splits, skips)
