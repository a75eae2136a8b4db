"""What a manifest holds: hours, utterances, speakers, durations, transcript
lengths and the character inventory. Manifest data only; no audio is read."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Sequence

from asr import manifest
from asr.text import TextSettings, normalize


def stats(manifest_path: str | Path, text_settings: TextSettings | None = TextSettings(), bins: int = 10) -> dict:
    """Summary of one manifest as plain data (JSON-ready).

    Args:
        manifest_path: a JSON-lines manifest.
        text_settings: normalisation applied before counting characters and
            lengths (the training default); None counts the texts as written.
        bins: number of bins of the transcript-length histogram.

    Returns:
        {"manifest", "utterances", "hours", "speakers" (distinct, None when no
        utterance names one), "duration": {"min","mean","max","total"} seconds,
        "text_length": {"unit": "characters", "edges", "counts"} (see
        `histogram`; edges has one more entry than counts),
        "characters": {char: count} most frequent first (space included)}.
    """
    utts = manifest.read(manifest_path)
    texts = [u.text if text_settings is None else normalize(u.text, text_settings) for u in utts]
    durations = [u.duration for u in utts]
    speakers = {u.speaker for u in utts if u.speaker is not None}
    chars = Counter(c for t in texts for c in t)
    total = sum(durations)
    return {
        "manifest": str(manifest_path),
        "utterances": len(utts),
        "hours": total / 3600,
        "speakers": len(speakers) if speakers else None,
        "duration": {
            "min": min(durations, default=0.0),
            "mean": total / len(utts) if utts else 0.0,
            "max": max(durations, default=0.0),
            "total": total,
        },
        "text_length": {"unit": "characters", **histogram([len(t) for t in texts], bins)},
        "characters": dict(sorted(chars.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def histogram(values: Sequence[int], bins: int = 10) -> dict:
    """Histogram of non-negative integers in at most `bins` bins of equal integer
    width: bin i counts edges[i] <= v < edges[i + 1]; {"edges", "counts"}."""
    if not values:
        return {"edges": [], "counts": []}
    lo, hi = min(values), max(values)
    width = max(1, math.ceil((hi - lo + 1) / bins))
    counts = [0] * math.ceil((hi - lo + 1) / width)
    for v in values:
        counts[(v - lo) // width] += 1
    return {"edges": [lo + i * width for i in range(len(counts) + 1)], "counts": counts}
