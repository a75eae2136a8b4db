"""Kaldi/OpenSLR "yesno": 60 recordings of eight Hebrew yes/no words, one speaker, 8 kHz.

Labels are in the file names: `0_0_1_0_1_0_1_1.wav` is "no no yes no yes no
yes yes". 29 files drawn at random (fixed seed) test, as many as in Kaldi's
recipe, and every eighth of the other 31 is held out as dev. Kaldi's split by
sorted name would put every recording that starts with "yes" in test and
none in train, which a bidirectional model rightly finds surprising. Files
ending .wav or .WAV are read; those whose names are not 0/1 labels, or that
cannot be read, are skipped and reported.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable

from asr import audio, manifest
from asr.corpora import common
from asr.errors import AsrError

WORDS = {"0": "no", "1": "yes"}


def prepare(out: Path, src: Path | None, *, n_test: int = 29, seed: int = 0, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    src = common.require_folder(src, "yesno", "the waves_yesno folder (from https://www.openslr.org/1/)")
    with common.Skips(log) as skips:
        utts = _utterances(src, skips)
        if not utts and skips.count:
            raise AsrError(skips.nothing_kept())
        if len(utts) <= n_test + 1:
            raise AsrError(f"{src}: found {len(utts)} usable yesno recordings, need more than {n_test + 1}")
        skips.report()
    random.Random(seed).shuffle(utts)
    head, test = sorted(utts[n_test:], key=lambda u: u.id), sorted(utts[:n_test], key=lambda u: u.id)
    splits = {"train": [u for i, u in enumerate(head) if i % 8 != 7],
              "dev": [u for i, u in enumerate(head) if i % 8 == 7], "test": test}
    paths = {}
    for name, items in splits.items():
        paths[name] = out / f"{name}.jsonl"
        manifest.write(paths[name], items)
        log(f"{name}: {len(items)} utterances -> {paths[name]}")
    return paths


def _utterances(src: Path, skips: common.Skips) -> list[manifest.Utterance]:
    """The recordings whose names are 0/1 labels and whose headers can be read."""
    utts = []
    for path in common.glob_audio(src, "*", (".wav",)):
        labels = path.stem.split("_")
        if not labels or any(x not in WORDS for x in labels):
            skips(path.name, "the name is not a sequence of 0/1 labels")
            continue
        try:
            info = audio.info(path)
        except AsrError as e:
            why = str(e).removeprefix(f"{path}: ")
            skips(path.name, why, why.split(" (")[0])
            continue
        utts.append(manifest.Utterance(
            id=path.stem, audio=str(path.resolve()), duration=info.duration,
            text=" ".join(WORDS[x] for x in labels), speaker="yesno",
        ))
    skips.kept += len(utts)
    return utts
