"""Any tree of audio files with a transcript beside each.

    <src>/**/<name>.{wav,flac,ogg,mp3,sph}     the audio
    <src>/**/<name>.txt or <name>.lab          its transcript (one line of text)

The speaker is the name of the folder holding the file; the id is the path
under <src> without suffix (`alice/hello`). About `dev_share` and
`test_share` of the speakers (at least one each) are held out, chosen by a
hash of `seed`; with fewer than three speakers the shares are of utterances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from asr.corpora import common

AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".sph")
TRANSCRIPTS = (".txt", ".lab")


def prepare(out: Path, src: Path | None, *, dev_share: float = 0.1, test_share: float = 0.1, seed: int = 0,
            log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    src = common.require_folder(src, "folder", "a folder of audio files, each with a .txt or .lab transcript beside it")
    common.check_share("dev_share", dev_share)
    common.check_share("test_share", test_share)
    skips = common.Skips(log)
    sources = []
    for path in sorted(p for p in src.rglob("*") if p.suffix.lower() in AUDIO and p.is_file()):
        transcript = next((t for t in (path.with_suffix(s) for s in TRANSCRIPTS) if t.is_file()), None)
        if transcript is None:
            skips(path, f"no transcript ({path.stem}.txt or {path.stem}.lab beside it)")
            continue
        sources.append(common.Source(id=path.relative_to(src).with_suffix("").as_posix(), audio=path,
                                     text=transcript.read_text(encoding="utf-8"), speaker=path.parent.name))
    utts = common.measure(sources, skips)
    splits = common.speaker_split(utts, {"dev": dev_share, "test": test_share}, seed, log)
    return common.write_splits(out, splits, skips)
