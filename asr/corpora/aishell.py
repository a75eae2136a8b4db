"""AISHELL-1: Mandarin read speech, 16 kHz, 400 speakers (OpenSLR 33).

    <src>/                      (data_aishell, or its parent)
      wav/{train,dev,test}/<speaker>/<id>.wav
      transcript/aishell_transcript_v0.8.txt     lines "ID 词 词 ..."

The official splits are kept. Spaces of the word segmentation are removed,
so that each Han character is one token. Recordings without a transcript
line (there are some) are skipped. The distribution packs each speaker as
wav/<speaker>.tar.gz: unpack those first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError

TRANSCRIPT = Path("transcript") / "aishell_transcript_v0.8.txt"


def prepare(out: Path, src: Path | None, *, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "the data_aishell folder holding wav/{train,dev,test}/ and transcript/"
    root = common.descend(common.require_folder(src, "aishell", expected), str(TRANSCRIPT), ["data_aishell"])
    if not (root / TRANSCRIPT).is_file():
        raise AsrError(f"{src}: no {TRANSCRIPT} (aishell expects {expected})")
    if not any((root / "wav" / name).is_dir() for name in common.SPLITS):
        packed = "; unpack wav/*.tar.gz there first" if any((root / "wav").glob("*.tar.gz")) else ""
        raise AsrError(f"{root / 'wav'}: no train/, dev/ or test/ folder{packed}")
    texts = {}
    for line in (root / TRANSCRIPT).read_text(encoding="utf-8").splitlines():
        uid, _, words = line.strip().partition(" ")
        if uid:
            texts[uid] = "".join(words.split())
    skips = common.Skips(log)
    splits = {}
    for name in common.SPLITS:
        sources = []
        for path in sorted((root / "wav" / name).glob("*/*.wav")):
            if path.stem not in texts:
                skips(path, f"no transcript line in {TRANSCRIPT.name}")
                continue
            sources.append(common.Source(id=path.stem, audio=path, text=texts[path.stem], speaker=path.parent.name))
        splits[name] = common.measure(sources, skips)
    return common.write_splits(out, splits, skips)
