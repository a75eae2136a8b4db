"""AISHELL-1: Mandarin read speech, 16 kHz, 400 speakers (OpenSLR 33).

    <src>/                      (data_aishell, or its parent)
      wav/{train,dev,test}/<speaker>/<id>.wav     (.WAV too)
      transcript/aishell_transcript_v0.8.txt     lines "ID 词 词 ..." (UTF-8, a byte-order mark is ignored)

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
    for line in common.read_lines(root / TRANSCRIPT):
        fields = line.split(maxsplit=1)  # "ID words", separated by spaces or a tab
        if fields:
            texts[fields[0]] = "".join(fields[1].split()) if len(fields) > 1 else ""
    with common.Skips(log) as skips:
        splits = {}
        for name in common.SPLITS:
            sources = []
            for path in common.glob_audio(root / "wav" / name, "*/*", (".wav",)):
                if path.stem not in texts:
                    skips(path, f"no transcript line in {TRANSCRIPT.name}", "no transcript for the key")
                    continue
                sources.append(common.Source(id=path.stem, audio=path, text=texts[path.stem],
                                             speaker=path.parent.name))
            splits[name] = common.measure(sources, skips)
        return common.write_splits(out, splits, skips)
