"""Subword units: byte-pair encoding over characters, learnt from the training text.

    vocab = SubwordVocabulary.train(texts, size=150)
    vocab.encode("seventy five")   # e.g. ids of ["▁seventy", "▁five"]
    vocab.decode(ids)              # "seventy five"

A word is its characters with `▁` glued to the first ("▁s", "e", "v", ...),
so word boundaries travel inside the tokens and decoding needs no separator.
Training starts from every character in both forms (word-initial and not)
and merges the most frequent neighbouring pair, counted over word types
weighted by frequency, until the vocabulary has `size` tokens or no pair
occurs twice. Encoding applies the merges in the order they were learnt
(Sennrich et al. 2016), so a word never seen in training (AN4's test has
"november"; training has "september" and "december") is still spelt out of
learnt pieces. Frequent words become one token each: a greedy CTC decoder
cannot then misspell them.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Sequence

from asr.errors import AsrError
from asr.text import BLANK, VOCAB_FORMAT, Vocabulary

WORD_START = "▁"


class SubwordVocabulary(Vocabulary):
    """BPE tokens <-> ids; id 0 is the CTC blank. Same interface as the character Vocabulary."""

    kind = "bpe"

    def __init__(self, tokens: Sequence[str], merges: Sequence[tuple[str, str]]):
        super().__init__(tokens)
        self.merges = [tuple(m) for m in merges]
        self._rank = {m: i for i, m in enumerate(self.merges)}
        self._chars = {t[-1] for t in self.tokens[1:] if len(t.lstrip(WORD_START)) == 1}
        self._words: dict[str, list[int]] = {}

    @classmethod
    def train(cls, texts: Iterable[str], size: int) -> "SubwordVocabulary":
        """Learn merges from normalised texts until there are `size` tokens (blank included)."""
        words = Counter(w for text in texts for w in text.split())
        if not words:
            raise AsrError("cannot learn subword units from an empty training text")
        spelt = {w: _spell(w) for w in words}
        chars = sorted({c for w in words for c in w})
        tokens = [BLANK] + [WORD_START + c for c in chars] + chars
        merges: list[tuple[str, str]] = []
        while len(tokens) < size:
            pairs: Counter = Counter()
            for w, n in words.items():
                s = spelt[w]
                for pair in zip(s, s[1:]):
                    pairs[pair] += n
            if not pairs:
                break
            best, count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
            if count < 2:
                break
            merges.append(best)
            if best[0] + best[1] not in tokens:  # ("a", "bc") and ("ab", "c") both make "abc"
                tokens.append(best[0] + best[1])
            spelt = {w: _merge(s, best) for w, s in spelt.items()}
        return cls(tokens, merges)

    @property
    def separator(self) -> str | None:
        return None

    @property
    def word_start(self) -> str | None:
        return WORD_START

    def is_separator(self, token: int) -> bool:
        return False

    def starts_word(self, token: int) -> bool:
        return self.tokens[token].startswith(WORD_START)

    def spell(self, word: str) -> list[str] | None:
        """The pieces the learnt merges cut `word` into, or None when a character has no token."""
        return self._pieces(word) if word and not self.unknown(word) and " " not in word else None

    def unknown(self, text: str) -> set[str]:
        return {c for c in text if c != " " and c not in self._chars}

    def encode(self, text: str, skip_unknown: bool = False) -> list[int]:
        ids: list[int] = []
        for word in self._known(text, skip_unknown).split():
            if word not in self._words:
                self._words[word] = [self._ids[t] for t in self._pieces(word)]
            ids.extend(self._words[word])
        return ids

    def _pieces(self, word: str) -> list[str]:
        pieces = _spell(word)
        while len(pieces) > 1:
            ranked = [(self._rank.get(p, len(self._rank)), i) for i, p in enumerate(zip(pieces, pieces[1:]))]
            rank, i = min(ranked)
            if rank == len(self._rank):
                break
            pieces = pieces[:i] + [pieces[i] + pieces[i + 1]] + pieces[i + 2:]
        return pieces

    def decode(self, ids: Iterable[int]) -> str:
        text = "".join(self.tokens[int(i)] for i in ids if int(i) != 0)
        return re.sub(" +", " ", text.replace(WORD_START, " ")).strip()

    def to_dict(self) -> dict:
        return {"format": VOCAB_FORMAT, "kind": self.kind, "tokens": list(self.tokens),
                "merges": [list(m) for m in self.merges]}


def _spell(word: str) -> list[str]:
    return [WORD_START + word[0]] + list(word[1:])


def _merge(pieces: list[str], pair: tuple[str, str]) -> list[str]:
    out, i = [], 0
    while i < len(pieces):
        if i + 1 < len(pieces) and (pieces[i], pieces[i + 1]) == pair:
            out.append(pieces[i] + pieces[i + 1])
            i += 2
        else:
            out.append(pieces[i])
            i += 1
    return out
