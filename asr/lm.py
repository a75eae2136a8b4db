"""N-gram language models estimated from text: interpolated modified Kneser-Ney, as KenLM's lmplz does it.

    model = build(sentences, order=3)          # sentences: sequences of units
    model.write_arpa("lm.arpa")                # for torchaudio's CTC beam decoder (KenLM)
    perplexity(model, held_out)

Units are whatever the caller spells sentences with: words for a word LM, a
model's tokens (e.g. characters with "|" between words) for a token LM.
Normalisation is the caller's; `read_corpus` only reads lines.

The estimate, step by step (Chen & Goodman 1998; Heafield et al. 2013, lmplz):

1. Counts. Each sentence is padded as `<s>`^(N-1) u1 .. un `</s>` and every
   N-gram window ending at a unit or `</s>` is counted. A window with
   two or more leading `<s>` (`<s> <s> a`) stands for the shorter n-gram
   `<s> a`: nothing can precede `<s>`.
2. Adjusted counts a(g). At the highest order, and for any n-gram starting
   with `<s>`, the raw count; below it, the number of distinct units x
   (`<s>` included) with `x g` seen: the continuation count.
3. Discounts per order k from the counts-of-counts n1..n4 of a at that order:
   Y = n1 / (n1 + 2 n2), D_j = j - (j + 1) Y n_(j+1) / n_j for j = 1, 2, 3
   (D_3 serves every count >= 3).
4. For each context h of order-k n-grams: u(w | h) = (a(h w) - D(a)) / sum_x a(h x),
   and the left-over mass gamma(h) = (D1 N1(h) + D2 N2(h) + D3 N3+(h)) / sum_x a(h x).
5. Interpolation, lowest order first: p(w) = u(w) + gamma() / (|V| - 1), where V
   counts every unigram, `<unk>` and `</s>` included, `<s>` excluded; `<unk>`
   has u = 0, so it receives exactly its uniform share. p(w | h) = u(w | h) +
   gamma(h) p(w | h[1:]). The ARPA backoff of h is gamma(h).

Pruning (lmplz's --prune): n-grams of order k >= 2 seen (raw count, as
windows) at most prune[k - 1] times are dropped; thresholds must not
decrease with the order, so no kept n-gram loses its prefix or suffix. The
counts of dropped n-grams join gamma(h), which keeps every context
normalised; discounts are estimated before pruning.

Differences from lmplz (0.3.0), both checked against it (tests/test_lm.py):
- `<s>` is written with log10 probability -99 (lmplz writes 0); it is never
  predicted, so no score changes.
- lmplz's counts-of-counts take the *raw* count, not the adjusted one, for
  the lower-order n-grams it flushes last (the suffixes of the last N-gram
  in its sort order; AdjustCounts::Run). Here every n-gram counts with its
  adjusted count, as in Chen & Goodman. On real corpora that moves at most
  one n-gram per order between counts-of-counts (the AN4 transcripts and
  bench/lm_build.py's 1M words give the same discounts to the 6 digits
  lmplz prints); on tiny corpora it can make lmplz refuse where this estimates.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

from asr import manifest
from asr.corpora.common import read_lines
from asr.errors import AsrError
from asr.lm_arpa import BOS, EOS, NO_PROB, UNK, Ngram, NgramModel, perplexity, read_arpa

__all__ = ["build", "discounts", "read_corpus", "CorpusLine", "NgramModel", "perplexity", "read_arpa",
           "FALLBACK_DISCOUNTS", "MAX_ORDER", "BOS", "EOS", "UNK"]

MAX_ORDER = 6  # the highest order the KenLM inside flashlight-text loads (its KENLM_MAX_ORDER)
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)  # lmplz's --discount_fallback default, for D1, D2, D3+
CHUNK = 1 << 20  # padded units counted at a time (bounds the memory of the window list)
SPECIAL = (BOS, EOS, UNK)
_SPACE = re.compile(r"\s")
_tail = itemgetter(slice(1, None))

Log = Callable[[str], None]


class CorpusLine(NamedTuple):
    """One sentence of raw text and where it comes from ("path:line")."""

    where: str
    text: str


def read_corpus(paths: Iterable[str | Path]) -> Iterator[CorpusLine]:
    """The sentences of text files (one per line, UTF-8, a byte-order mark
    dropped, blank lines skipped) and of asr manifests (`.jsonl`: each
    record's "text"), in the order given. Errors name the file and line."""
    for path in map(Path, paths):
        if path.suffix.lower() == ".jsonl":
            for number, utterance in manifest.read_numbered(path):
                yield CorpusLine(f"{path}:{number}", utterance.text)
            continue
        if not path.is_file():
            raise AsrError(f"{path}: no such file (give text files with one sentence per line, "
                           f"or .jsonl manifests)")
        for number, line in enumerate(read_lines(path), start=1):
            if line.strip():
                yield CorpusLine(f"{path}:{number}", line)


def discounts(n: Sequence[int]) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts (D1, D2, D3+) from the counts-of-counts
    n = (n1, n2, n3, n4) of one order (Chen & Goodman, eq. 26). AsrError when
    n1, n2 or n3 is 0 or a discount falls outside [0, j]."""
    n1, n2, n3, n4 = n
    for j, nj in enumerate((n1, n2, n3), start=1):
        if nj == 0:
            raise AsrError(f"no n-grams with adjusted count {j}, so discount D{j} cannot be estimated")
    y = n1 / (n1 + 2 * n2)
    ds = tuple(j - (j + 1) * y * nn / nj for j, nj, nn in ((1, n1, n2), (2, n2, n3), (3, n3, n4)))
    for j, d in enumerate(ds, start=1):
        if not 0.0 <= d <= j:
            raise AsrError(f"discount D{j} = {d:.4f} is outside [0, {j}] (counts-of-counts {n1}, {n2}, {n3}, {n4})")
    return ds


def build(sentences: Iterable[Sequence[str]], order: int, prune: Sequence[int] = (),
          discount_fallback: Sequence[float] | None = None, log: Log = lambda s: None) -> NgramModel:
    """An interpolated modified Kneser-Ney model of `order` over `sentences`
    (each a sequence of units: non-empty strings without whitespace, never
    <s>, </s> or <unk>, which the model adds itself). Orders 1..MAX_ORDER;
    the decoder's KenLM loads orders 2..6 (it refuses a unigram model).

    prune: lmplz-style count thresholds, one per order from 1 (which must be
    0: unigrams are never pruned), non-decreasing; the last one applies to the
    orders after it. () keeps everything.
    discount_fallback: (D1, D2, D3+) to use for an order whose discounts cannot
    be estimated (tiny or artificial corpora; lmplz's --discount_fallback, e.g.
    FALLBACK_DISCOUNTS); None makes that an AsrError.
    log: receives one line per order (n-gram count, counts-of-counts, discounts).
    """
    if isinstance(order, bool) or not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise AsrError(f"the n-gram order must be a whole number from 1 to {MAX_ORDER} (the highest the "
                       f"decoder's KenLM loads), got {order!r}")
    thresholds = _thresholds(prune, order)
    if discount_fallback is not None:
        discount_fallback = tuple(float(d) for d in discount_fallback)
        if len(discount_fallback) != 3 or not all(0.0 <= d <= j for j, d in enumerate(discount_fallback, 1)):
            raise AsrError(f"discount_fallback must be three discounts D1 in [0, 1], D2 in [0, 2], D3+ in [0, 3]; "
                           f"got {discount_fallback}")

    windows = _count(sentences, order)
    raw = _raw_counts(windows, order) if any(thresholds[1:order - 1]) else {}
    levels = _adjust(windows, order)

    ds = []
    for k, level in enumerate(levels, start=1):
        cc = Counter(level.values())
        n = [cc[j] for j in (1, 2, 3, 4)]
        try:
            d = discounts(n)
        except AsrError as e:
            if discount_fallback is None:
                raise AsrError(f"{k}-grams: {e}; the corpus is too small or too repetitive for Kneser-Ney "
                               f"discounts: give more text, or fallback discounts "
                               f"(e.g. {FALLBACK_DISCOUNTS}, as lmplz --discount_fallback)") from None
            log(f"{k}-grams: {e}; using the fallback discounts {discount_fallback}")
            d = discount_fallback
        ds.append((0.0, *d))
        log(f"{k}-grams: {len(level)}, counts-of-counts {n}, discounts " + " ".join(f"{x:.4f}" for x in d))

    probs: list[dict[Ngram, float]] = []
    backoffs: list[dict[Ngram, float]] = []
    lower = _unigrams(levels[0], ds[0], probs)
    for k in range(2, order + 1):
        counts = raw.get(k, levels[k - 1]) if thresholds[k - 1] else None
        lower = _interpolate(levels[k - 1], ds[k - 1], lower, thresholds[k - 1], counts, probs, backoffs)
    return NgramModel(probs, backoffs)


def _thresholds(prune: Sequence[int], order: int) -> list[int]:
    """Per-order pruning thresholds (index k - 1 for order k), checked as lmplz does."""
    prune = list(prune)
    if not prune:
        return [0] * order
    if len(prune) > order:
        raise AsrError(f"{len(prune)} pruning thresholds for a model of order {order}: give at most one per order")
    if any(isinstance(t, bool) or not isinstance(t, int) or t < 0 for t in prune):
        raise AsrError(f"pruning thresholds must be whole numbers >= 0, got {prune}")
    if prune[0] != 0:
        raise AsrError(f"pruning thresholds start with the unigrams, which are never pruned: the first must be 0, "
                       f"got {prune} (e.g. 0 0 1 drops trigrams and above seen once)")
    if any(a > b for a, b in zip(prune, prune[1:])):
        raise AsrError(f"pruning thresholds must not decrease with the order, got {prune} "
                       f"(else an n-gram could outlive its prefix)")
    return prune + [prune[-1]] * (order - len(prune))


def _count(sentences: Iterable[Sequence[str]], order: int) -> Counter:
    """Counts of every padded N-gram window (N = order) ending at a unit or </s>."""
    pad = [BOS] * (order - 1)
    counts: Counter = Counter()
    buffer: list[str] = []
    seen: set[str] = set()
    number = units = 0
    for number, sentence in enumerate(sentences, start=1):
        if isinstance(sentence, str):
            raise AsrError(f"sentence {number} is a string ({_shown(sentence)}); give each sentence as a "
                           f"sequence of units, e.g. text.split() for words or list(text) for characters")
        if not seen.issuperset(sentence):
            for unit in sentence:
                if unit not in seen:
                    _check_unit(unit, number, sentence)
                    seen.add(unit)
        buffer += pad
        buffer += sentence
        buffer.append(EOS)
        units += len(sentence)
        if len(buffer) >= CHUNK:
            counts.update(zip(*(islice(buffer, i, None) for i in range(order))))
            buffer.clear()
    counts.update(zip(*(islice(buffer, i, None) for i in range(order))))
    if not number:
        raise AsrError("the corpus has no sentences: nothing to estimate a language model from")
    if not units:
        raise AsrError(f"all {number} sentences of the corpus are empty: nothing to estimate a language model from")
    if order > 1:  # windows ending on the next sentence's padding span two sentences
        for gram in [g for g in counts if g[-1] == BOS]:
            del counts[gram]
    return counts


def _check_unit(unit, number: int, sentence: Sequence[str]) -> None:
    where = f"sentence {number} ({_shown(' '.join(map(str, sentence)))})"
    if not isinstance(unit, str):
        raise AsrError(f"{where}: units must be strings, got {type(unit).__name__} {unit!r}")
    if not unit:
        raise AsrError(f"{where}: an empty unit; split the text so that every unit has characters")
    if unit in SPECIAL:
        raise AsrError(f"{where}: {unit} is a unit the model adds itself (sentence start, end, unknown); "
                       f"remove it from the text or spell it differently")
    if _SPACE.search(unit):
        raise AsrError(f"{where}: the unit {unit!r} contains whitespace, which separates units in an ARPA "
                       f"file; split on it or replace it")


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _adjust(windows: Counter, order: int) -> list[dict[Ngram, int]]:
    """Adjusted counts per order (index k - 1 for order k), after folding the
    windows with several leading <s> into the shorter n-grams they stand for.
    Unigrams start with <unk> and <s> (count 0), then </s>."""
    levels: list = [None] * order
    levels[order - 1] = higher = windows
    for k in range(order - 1, 0, -1):
        folded = [g for g in higher if g[1] == BOS]  # <s> <s> ... : really the k-gram g[1:]
        lower = Counter(map(_tail, higher))  # continuation counts: one per distinct left unit
        for gram in folded:
            lower[gram[1:]] = higher.pop(gram)  # nothing precedes <s>: its raw count
        levels[k - 1] = higher = lower
    unigrams = {(UNK,): 0, (BOS,): 0, (EOS,): levels[0].pop((EOS,), 0)}
    unigrams.update(levels[0])
    levels[0] = unigrams
    return levels


def _raw_counts(windows: Counter, order: int) -> dict[int, dict[Ngram, int]]:
    """Raw counts (occurrences as windows) of the orders 2..N-1, which pruning compares to its thresholds."""
    raw: dict[int, dict[Ngram, int]] = {}
    higher = windows
    for k in range(order - 1, 1, -1):
        lower: dict[Ngram, int] = defaultdict(int)
        for gram, c in higher.items():
            lower[gram[1:]] += c
        raw[k] = higher = lower
    return raw


def _unigrams(counts: dict[Ngram, int], d: tuple, probs: list) -> dict[Ngram, float]:
    """Unigram probabilities, interpolated with the uniform distribution over
    every unit but <s>; appends the log10 values to `probs`, returns the linear ones."""
    total = sum(counts.values())
    gamma = sum(d[min(c, 3)] for c in counts.values()) / total
    share = gamma / (len(counts) - 1)
    p = {g: (c - d[min(c, 3)]) / total + share for g, c in counts.items()}
    del p[(BOS,)]
    logs = {g: min(0.0, math.log10(x)) for g, x in p.items()}
    logs[(BOS,)] = NO_PROB
    probs.append({g: logs[g] for g in counts})  # file order: <unk>, <s>, </s>, units
    return p


def _interpolate(level: dict[Ngram, int], d: tuple, lower: dict[Ngram, float], threshold: int,
                 raw: dict[Ngram, int] | None, probs: list, backoffs: list) -> dict[Ngram, float]:
    """Probabilities of one order k >= 2 interpolated with `lower` (order k - 1,
    linear); appends the log10 values to `probs` and the contexts' log10 gamma
    to `backoffs` (as the backoffs of order k - 1). Returns the linear ones.

    An n-gram whose raw count (`raw`) is at most `threshold` is dropped and
    its whole count goes to gamma of its context."""
    denominator: dict[Ngram, int] = defaultdict(int)
    left: dict[Ngram, float] = defaultdict(float)  # sum of D(a) over kept n-grams + a of pruned ones, per context
    if threshold:
        for gram, c in level.items():
            context = gram[:-1]
            denominator[context] += c
            left[context] += c if raw[gram] <= threshold else (d[c] if c < 3 else d[3])
        kept = {g: c for g, c in level.items() if raw[g] > threshold}
    else:
        for gram, c in level.items():
            context = gram[:-1]
            denominator[context] += c
            left[context] += d[c] if c < 3 else d[3]
        kept = level
    gamma = {h: left[h] / n for h, n in denominator.items()}
    p = {}
    for gram, c in kept.items():
        context = gram[:-1]
        p[gram] = (c - (d[c] if c < 3 else d[3])) / denominator[context] + gamma[context] * lower[gram[1:]]
    probs.append({g: min(0.0, math.log10(x)) for g, x in p.items()})
    previous = probs[-2]
    backoffs.append({h: _log10(g) for h, g in gamma.items() if g != 1.0 and h in previous})
    return p


def _log10(x: float) -> float:
    return math.log10(x) if x > 0.0 else NO_PROB
