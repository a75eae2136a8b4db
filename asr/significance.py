"""Is B better than A on the same utterances? Paired bootstrap and sign test.

    c = compare(read_results("a.jsonl"), read_results("b.jsonl"))
    c.verdict  # "B is better than A: WER 7.24 % vs 9.18 %, p = 0.003 (paired bootstrap)"

Both tests pair the two systems' errors utterance by utterance, in the headline unit
(words, or characters for unspaced scripts: `metrics.headline_metric`):

- paired bootstrap (Bisani & Ney 2004): the utterances are resampled with replacement
  `resamples` times (a fixed seed); p is twice the share of resamples in which B's error
  count is not on the same side of A's as observed (two-sided, at most 1).
- sign test: the utterances one system gets fewer errors on than the other, ties dropped;
  p is the exact two-sided binomial probability of a split at least as uneven (math.comb).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from asr.analysis import score, unit_of
from asr.errors import AsrError

RESAMPLES = 1000
SEED = 0
ALPHA = 0.05


def sign_test(wins: int, losses: int) -> float:
    """Exact two-sided binomial p of `wins` against `losses` (ties already dropped) when either
    side is equally likely: 2 P(X <= min) for X ~ Binomial(wins + losses, 1/2), at most 1."""
    n, k = wins + losses, min(wins, losses)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2 ** n)


def paired_bootstrap(errors_a: Sequence[int], errors_b: Sequence[int], lengths: Sequence[int],
                     resamples: int = RESAMPLES, seed: int = SEED) -> tuple[float, tuple[float, float]]:
    """(two-sided p, 95 % interval of B's rate minus A's) by resampling utterances with replacement.

    p: twice the share of resamples whose error difference is zero or of the other sign than
    the observed one (1.0 when the observed difference is zero). The interval is of the
    difference of error rates (errors / reference tokens of each resample).
    """
    a, b, n = np.asarray(errors_a, np.int64), np.asarray(errors_b, np.int64), np.asarray(lengths, np.int64)
    if not len(a) == len(b) == len(n) or len(a) == 0:
        raise ValueError("paired_bootstrap needs the same, non-zero number of errors_a, errors_b and lengths")
    delta = b - a
    observed = int(delta.sum())
    rng = np.random.default_rng(seed)
    flips, diffs = 0, []
    chunk = max(1, 2_000_000 // len(a))  # resamples drawn at once: bounded memory for large test sets
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, len(a), size=(min(chunk, resamples - start), len(a)))
        d = delta[idx].sum(axis=1)
        flips += int(np.count_nonzero(d * np.sign(observed) <= 0))
        diffs.append(d / np.maximum(n[idx].sum(axis=1), 1))
    rates = np.concatenate(diffs)
    interval = (float(np.percentile(rates, 2.5)), float(np.percentile(rates, 97.5)))
    p = 1.0 if observed == 0 else min(1.0, 2 * flips / resamples)
    return p, interval


@dataclass(frozen=True)
class System:
    """One side of a comparison: its name, errors and reference tokens in the headline unit."""

    name: str
    errors: int
    length: int

    @property
    def rate(self) -> float:
        return self.errors / max(self.length, 1)


@dataclass(frozen=True)
class Comparison:
    metric: str  # "wer" or "cer"
    a: System
    b: System
    utterances: int
    b_better: int  # utterances where B has fewer errors than A
    a_better: int
    ties: int
    bootstrap_p: float
    interval: tuple[float, float]  # 95 %, B's rate minus A's
    sign_p: float
    resamples: int
    seed: int
    alpha: float

    @property
    def verdict(self) -> str:
        m = self.metric.upper()
        p = f"p < {1 / self.resamples:g}" if self.bootstrap_p == 0 else f"p = {self.bootstrap_p:.3g}"
        if self.bootstrap_p < self.alpha and self.a.errors != self.b.errors:
            better, worse = (self.b, self.a) if self.b.errors < self.a.errors else (self.a, self.b)
            return (f"{better.name} is better than {worse.name}: {m} {100 * better.rate:.2f} % vs "
                    f"{100 * worse.rate:.2f} %, {p} (paired bootstrap)")
        return (f"no significant difference: {m} {100 * self.a.rate:.2f} % ({self.a.name}) vs "
                f"{100 * self.b.rate:.2f} % ({self.b.name}), {p} (paired bootstrap)")

    def to_dict(self) -> dict:
        out = asdict(self)
        for side in ("a", "b"):
            out[side]["rate"] = getattr(self, side).rate
        out["interval"] = list(self.interval)
        out["verdict"] = self.verdict
        return out


def pair(a: Sequence[dict], b: Sequence[dict]) -> list[tuple[dict, dict]]:
    """A's and B's results matched by id (A's order); AsrError if the utterances or references differ."""
    by_id = {}
    for name, records in (("A", a), ("B", b)):
        ids = [str(r["id"]) for r in records]
        if len(set(ids)) != len(ids):
            raise AsrError(f"{name} has several results with one id (were two manifests' results joined?)")
        by_id[name] = dict(zip(ids, records))
    only_a, only_b = by_id["A"].keys() - by_id["B"].keys(), by_id["B"].keys() - by_id["A"].keys()
    if only_a or only_b:
        example = sorted(only_a or only_b)[0]
        raise AsrError(f"A and B are results of different utterances ({len(only_a)} only in A, {len(only_b)} only "
                       f"in B, e.g. {example!r}): compare them on the same manifest")
    pairs = [(r, by_id["B"][str(r["id"])]) for r in a]
    differ = [ra["id"] for ra, rb in pairs if ra["ref"] != rb["ref"]]
    if differ:
        raise AsrError(f"{len(differ)} utterance(s) have different references in A and B (e.g. {differ[0]!r}): "
                       "the systems normalise text differently, so their error rates do not compare")
    return pairs


def compare(a: Sequence[dict], b: Sequence[dict], names: tuple[str, str] = ("A", "B"),
            resamples: int = RESAMPLES, seed: int = SEED, alpha: float = ALPHA) -> Comparison:
    """Compare two systems' per-utterance results (records with id, ref, hyp) on the same utterances."""
    pairs = pair(a, b)
    if not pairs:
        raise AsrError("no utterances to compare")
    unit = unit_of([ra["ref"] for ra, _ in pairs])
    sa, sb = score([ra for ra, _ in pairs], unit), score([rb for _, rb in pairs], unit)
    ea, eb = [s.edits(unit).errors for s in sa], [s.edits(unit).errors for s in sb]
    lengths = [s.edits(unit).length for s in sa]
    b_better = sum(y < x for x, y in zip(ea, eb))
    a_better = sum(x < y for x, y in zip(ea, eb))
    p, interval = paired_bootstrap(ea, eb, lengths, resamples, seed)
    return Comparison("wer" if unit == "word" else "cer", System(names[0], sum(ea), sum(lengths)),
                      System(names[1], sum(eb), sum(lengths)), len(pairs), b_better, a_better,
                      len(pairs) - b_better - a_better, p, interval, sign_test(b_better, a_better), resamples, seed,
                      alpha)
