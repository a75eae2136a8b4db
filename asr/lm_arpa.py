"""A backoff n-gram language model as an ARPA file holds it: scoring, writing, reading.

An ARPA file lists, for each order k = 1..N, every k-gram the model keeps
with its log10 probability and (below the highest order) its log10 backoff
weight. A k-gram missing from the file is scored by backing off:

    log10 p(w | h) = log10 p(h w)                          when h w is listed
                   = backoff(h) + log10 p(w | h[1:])       otherwise (backoff 0 when h is not listed)

Units (words, or a model's tokens) are whitespace-free strings. `<s>` starts
every sentence and is only ever a context (its unigram is written with
log10 probability -99), `</s>` ends every sentence, and a unit outside the
vocabulary is scored as `<unk>`. KenLM (inside flashlight-text, which
torchaudio's CTC beam decoder uses) loads these files and gives the same
scores, in log10.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from asr.errors import AsrError

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
NO_PROB = -99.0  # log10 probability written for <s>, which is never predicted (SRILM's convention)
MISSING_UNK = -100.0  # log10 probability of an unknown unit when the model has no <unk> (KenLM's default)

Ngram = tuple[str, ...]


@dataclass
class NgramModel:
    """A backoff n-gram model over string units.

    probs[k - 1] maps each kept k-gram (a tuple of k units) to its log10
    probability; backoffs[k - 1] maps k-grams to their log10 backoff weight
    (a k-gram left out has weight 0, i.e. 1.0); there is no backoff at the
    highest order, so len(backoffs) == len(probs) - 1.
    """

    probs: list[dict[Ngram, float]]
    backoffs: list[dict[Ngram, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.probs:
            raise AsrError("an n-gram model needs at least its unigrams")
        while len(self.backoffs) < len(self.probs) - 1:
            self.backoffs.append({})

    @property
    def order(self) -> int:
        """The highest n-gram order N."""
        return len(self.probs)

    @property
    def counts(self) -> list[int]:
        """Number of k-grams kept, k = 1..N (the `ngram k=` lines of the ARPA header)."""
        return [len(p) for p in self.probs]

    @property
    def vocabulary(self) -> list[str]:
        """Every unit with a unigram, <unk>, <s> and </s> included, in file order."""
        return [gram[0] for gram in self.probs[0]]

    def logprob(self, unit: str, context: Sequence[str] = ()) -> float:
        """log10 p(unit | context), backing off as the ARPA format defines.

        `context` is what came before, most recent last, starting with "<s>" at
        a sentence start; only its last N - 1 units matter. Units outside the
        vocabulary (in `unit` or `context`) are read as <unk>; a model without
        <unk> gives them MISSING_UNK.
        """
        unigrams = self.probs[0]
        if (unit,) not in unigrams:
            if (UNK,) not in unigrams:
                return MISSING_UNK
            unit = UNK
        n = self.order - 1
        history = tuple(u if (u,) in unigrams else UNK for u in context[-n:]) if n else ()
        backoff = 0.0
        while True:
            prob = self.probs[len(history)].get(history + (unit,))
            if prob is not None:
                return backoff + prob
            backoff += self.backoffs[len(history) - 1].get(history, 0.0)
            history = history[1:]

    def score(self, sentence: Sequence[str]) -> float:
        """log10 probability of a whole sentence: each unit after "<s>" and the
        previous ones, then "</s>" (as KenLM scores a sentence)."""
        units = [BOS, *sentence]
        total = 0.0
        for i in range(1, len(units)):
            total += self.logprob(units[i], units[:i])
        return total + self.logprob(EOS, units)

    def write_arpa(self, path: str | Path) -> None:
        """Write the model as an ARPA file (UTF-8), atomically: a temporary file
        beside `path` renamed over it. Probabilities and backoffs keep 8
        significant digits; every k-gram below the highest order gets a backoff
        column (0 when it has none), as KenLM's lmplz writes them."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        except OSError as e:
            raise AsrError(f"{path}: cannot write it ({e.strerror}); choose a writable folder") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
                f.write("\\data\\\n")
                f.writelines(f"ngram {k}={n}\n" for k, n in enumerate(self.counts, start=1))
                for k, probs in enumerate(self.probs, start=1):
                    f.write(f"\n\\{k}-grams:\n")
                    if k < self.order:
                        backoffs = self.backoffs[k - 1]
                        f.writelines(f"{_num(p)}\t{' '.join(g)}\t{_num(backoffs.get(g, 0.0))}\n"
                                     for g, p in probs.items())
                    else:
                        f.writelines(f"{_num(p)}\t{' '.join(g)}\n" for g, p in probs.items())
                f.write("\n\\end\\\n")
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise AsrError(f"{path}: cannot write it ({e.strerror})") from None
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def perplexity(model: NgramModel, sentences: Iterable[Sequence[str]]) -> float:
    """10 ** (-(sum of sentence log10 probabilities) / (units + sentences)):
    every unit and each sentence's </s> is predicted once; units outside the
    vocabulary count, scored as <unk> (KenLM's "perplexity including OOVs")."""
    total, predicted = 0.0, 0
    for sentence in sentences:
        total += model.score(sentence)
        predicted += len(sentence) + 1
    if not predicted:
        raise AsrError("perplexity of no sentences: give at least one sentence")
    return 10.0 ** (-total / predicted)


def read_arpa(path: str | Path) -> NgramModel:
    """Read an ARPA file (as written by `NgramModel.write_arpa`, KenLM's lmplz or
    SRILM). Lines before \\data\\ are ignored; a malformed line, a section
    whose size differs from its `ngram k=` line or a missing \\end\\ is an
    AsrError naming the file and line."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise AsrError(f"{path}: cannot read it ({e.strerror})") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise AsrError(f"{path}:{line}: not UTF-8 text; is this an ARPA file?") from None
    lines = text.split("\n")
    number = 0

    def fail(message: str) -> AsrError:
        return AsrError(f"{path}:{number}: {message}")

    expected: list[int] = []
    probs: list[dict[Ngram, float]] = []
    backoffs: list[dict[Ngram, float]] = []
    state, order = "preamble", 0  # preamble -> header -> ngrams -> end
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if state == "preamble":
            if line == "\\data\\":
                state = "header"
            continue
        if not line:
            continue
        if state == "header" and line.startswith("ngram "):
            k, _, n = line[6:].partition("=")
            if not (k.strip().isdigit() and n.strip().isdigit()) or int(k) != len(expected) + 1:
                raise fail(f"expected 'ngram {len(expected) + 1}=COUNT', got {line!r}")
            expected.append(int(n))
        elif line.startswith("\\") and line.endswith("-grams:"):
            if state == "ngrams" and len(probs[-1]) != expected[order - 1]:
                raise fail(f"the {order}-gram section has {len(probs[-1])} entries, the header says "
                           f"{expected[order - 1]} (a truncated or edited file?)")
            k = line[1:-7]
            if not k.isdigit() or int(k) != order + 1 or int(k) > len(expected):
                raise fail(f"unexpected section {line!r} (the header lists orders 1..{len(expected)})")
            order, state = int(k), "ngrams"
            probs.append({})
            backoffs.append({})
        elif line == "\\end\\" and state == "ngrams":
            state = "end"
            break
        elif state == "ngrams":
            fields = line.split()
            if len(fields) not in (order + 1, order + 2):
                raise fail(f"expected a log10 probability, {order} unit(s) and an optional backoff, got {line!r}")
            try:
                prob = float(fields[0])
                backoff = float(fields[order + 1]) if len(fields) == order + 2 else 0.0
            except ValueError:
                raise fail(f"not a number in {line!r}") from None
            gram = tuple(fields[1:order + 1])
            probs[-1][gram] = prob
            if backoff:
                backoffs[-1][gram] = backoff
        else:
            raise fail(f"unexpected line {line!r} (an ARPA file has \\data\\, ngram counts, "
                       f"\\k-grams: sections and \\end\\)")
    if state == "preamble":
        raise AsrError(f"{path}: no \\data\\ line: not an ARPA file")
    if state != "end":
        raise AsrError(f"{path}: no \\end\\ line after the n-grams: the file is cut short (write it again)")
    if len(probs) != len(expected):
        raise AsrError(f"{path}: the header lists {len(expected)} orders, the file has {len(probs)} sections")
    if len(probs[-1]) != expected[-1]:
        raise fail(f"the {order}-gram section has {len(probs[-1])} entries, the header says {expected[-1]}")
    if backoffs[-1]:
        gram = next(iter(backoffs[-1]))
        raise AsrError(f"{path}: the highest-order n-gram {' '.join(gram)!r} has a backoff weight")
    return NgramModel(probs, backoffs[:-1])


def _num(x: float) -> str:
    """A log10 value with 8 significant digits, never '-0'."""
    return f"{x + 0.0:.8g}"
