"""The an4 and fsdd importers on the real corpora in ../shared/data (skipped where absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asr import corpora, manifest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def prepared(name: str, src: Path, out: Path) -> dict[str, list[manifest.Utterance]]:
    if not src.is_dir():
        pytest.skip(f"{name} corpus not found at {src} (see ../shared/data/README.md)")
    lines: list[str] = []
    paths = corpora.prepare(name, out, src, log=lines.append)
    assert not [line for line in lines if line.startswith("skipped ")]
    return {split: manifest.read(path) for split, path in paths.items()}


def speakers(utts: list[manifest.Utterance]) -> set[str]:
    return {u.speaker for u in utts}


def test_an4(tmp_path):
    splits = prepared("an4", DATA / "an4", tmp_path)
    train, dev, test = splits["train"], splits["dev"], splits["test"]
    assert len(train) + len(dev) == 948 and len(test) == 130
    assert len(speakers(test)) == 10 and not speakers(test) & speakers(train + dev)
    assert len(speakers(train)) + len(speakers(dev)) == 74 and not speakers(train) & speakers(dev)
    assert 1 <= len(speakers(dev)) <= 8
    assert all(u.text and u.text == u.text.strip() and "<s>" not in u.text and "(" not in u.text
               for u in train + dev + test)
    assert all(0.1 < u.duration < 20 for u in train + dev + test)


def test_fsdd(tmp_path):
    splits = prepared("fsdd", DATA / "fsdd", tmp_path)
    assert sum(len(v) for v in splits.values()) == 3000
    assert speakers(splits["test"]) == {"theo"} and speakers(splits["dev"]) == speakers(splits["train"])
    assert "theo" not in speakers(splits["train"] + splits["dev"]) and len(speakers(splits["train"])) == 5
    assert [len(splits[k]) for k in ("train", "dev", "test")] == [2250, 250, 500]
