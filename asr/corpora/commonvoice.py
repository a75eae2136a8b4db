"""Mozilla Common Voice, one language (MP3 clips, 48 kHz).

    <src>/                      (the language folder, e.g. cv-corpus-17.0/en)
      train.tsv dev.tsv test.tsv     (the official splits), or only validated.tsv
      clips/<path>                   e.g. clips/common_voice_en_123.mp3

The TSV files are tab-separated with a header row naming at least
`client_id`, `path` and `sentence` (no quoting; UTF-8, a byte-order mark
is ignored). The speaker is the
`client_id`. Without train.tsv, validated.tsv is the training set; a missing
dev.tsv or test.tsv is held out by speaker from it. Sentences are kept as
written (the trainer normalises case and punctuation).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError

COLUMNS = ("client_id", "path", "sentence")


def prepare(out: Path, src: Path | None, *, seed: int = 0, log: Callable[[str], None] = lambda s: None) -> dict[str, Path]:
    expected = "a Common Voice language folder with train.tsv, dev.tsv, test.tsv (or validated.tsv) and clips/"
    root = common.require_folder(src, "commonvoice", expected)
    tables = {name: root / f"{name}.tsv" for name in common.SPLITS if (root / f"{name}.tsv").is_file()}
    if "train" not in tables:
        if not (root / "validated.tsv").is_file():
            raise AsrError(f"{root}: no train.tsv or validated.tsv (commonvoice expects {expected})")
        tables["train"] = root / "validated.tsv"
    with common.Skips(log) as skips:
        splits = {name: common.measure(_rows(table, root / "clips", skips), skips) for name, table in tables.items()}
        return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _rows(table: Path, clips: Path, skips: common.Skips) -> list[common.Source]:
    """Sources of one TSV file; rows without a clip or sentence are skipped."""
    sources = []
    reader = csv.DictReader(io.StringIO(common.read_text(table), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise AsrError(f"{table}: no column(s) {', '.join(missing)} in the header row (expected {', '.join(COLUMNS)})")
    for row in reader:
        where = f"{table.name}:{reader.line_num}"
        if not row["path"]:
            skips(where, "no clip path")
        elif row["sentence"] is None:
            skips(clips / row["path"], f"no sentence ({where})", "no sentence")
        else:
            sources.append(common.Source(id=Path(row["path"]).stem, audio=clips / row["path"],
                                         text=row["sentence"], speaker=row["client_id"] or None))
    return sources
