"""Vocabularies: normalised text <-> token ids, one interface, two kinds.

    vocab = build_vocabulary(texts, settings.text)   # characters, or BPE units
    ids = vocab.encode("one two"); vocab.decode(ids)  # "one two"
    Vocabulary.from_dict(vocab.to_dict())            # either kind, as saved in a model record

Token id 0 is the CTC blank. Characters: spaces become the word-separator
token `|` when the training text has any; Mandarin text (written without
spaces) therefore gets one token per Han character and no separator. Subword
units (`SubwordVocabulary`): byte-pair encoding over characters, learnt from
the training text, with `▁` glued to each word's first piece instead of a
separator. Both tell decoders and aligners where words begin (`separator`,
`word_start`; with neither, every token is a word) and spell a word in their
tokens (`spell`, for lexicons).

A word is its characters with `▁` glued to the first ("▁s", "e", "v", ...),
so word boundaries travel inside the tokens and decoding needs no separator.
BPE training starts from every character in both forms (word-initial and not)
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

from asr.errors import AsrError, ConfigError
from asr.text import UNITS, TextSettings

BLANK = "<blank>"
SEPARATOR = "|"
WORD_START = "▁"
VOCAB_FORMAT = 1


def build_vocabulary(texts: Iterable[str], settings: TextSettings) -> "Vocabulary":
    """The output tokens for normalised training texts: characters, or BPE units."""
    if settings.units == "characters":
        return Vocabulary.build(texts)
    if settings.units == "bpe":
        return SubwordVocabulary.train(texts, settings.bpe_size)
    raise ConfigError(f"text.units must be one of {', '.join(UNITS)}, not {settings.units!r}")


class Vocabulary:
    """Characters <-> token ids; id 0 is the CTC blank."""

    kind = "characters"

    def __init__(self, tokens: Sequence[str]):
        if not tokens or tokens[0] != BLANK:
            raise AsrError(f"a vocabulary must start with the blank token {BLANK!r}")
        if len(set(tokens)) != len(tokens):
            raise AsrError("a vocabulary must not repeat a token")
        self.tokens = list(tokens)
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, texts: Iterable[str]) -> "Vocabulary":
        """Every character of the (normalised) texts, sorted; spaces map to `|`."""
        chars = set()
        for text in texts:
            chars.update(text)
        has_space = " " in chars
        chars.discard(" ")
        chars.discard(SEPARATOR)
        return cls([BLANK] + ([SEPARATOR] if has_space else []) + sorted(chars))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def blank(self) -> int:
        return 0

    @property
    def has_separator(self) -> bool:
        return SEPARATOR in self._ids

    @property
    def separator(self) -> str | None:
        """The word-separator token, if words are separated by one."""
        return SEPARATOR if self.has_separator else None

    @property
    def word_start(self) -> str | None:
        """The mark glued to the first token of each word (subword units), if any."""
        return None

    def spell(self, word: str) -> list[str] | None:
        """The tokens of one word as this vocabulary writes it (a lexicon entry), or None when
        a character of it has no token."""
        return list(word) if word and not self.unknown(word) and " " not in word else None

    def unknown(self, text: str) -> set[str]:
        """Characters of `text` the vocabulary cannot encode."""
        return {c for c in text if c != " " and c not in self._ids} | (
            {" "} if " " in text and not self.has_separator else set()
        )

    def encode(self, text: str, skip_unknown: bool = False) -> list[int]:
        """Token ids of a normalised text; unknown characters raise AsrError
        (or are left out with `skip_unknown`)."""
        return [self._ids[SEPARATOR if c == " " else c] for c in self._known(text, skip_unknown)]

    def _known(self, text: str, skip_unknown: bool) -> str:
        """`text` if every character is encodable; else without the unknown ones
        (`skip_unknown`) or an AsrError naming them. Shared by every kind of vocabulary."""
        missing = self.unknown(text)
        if missing and skip_unknown:
            return "".join(c for c in text if c not in missing)
        if missing:
            shown = ", ".join(repr(c) for c in sorted(missing))
            raise AsrError(f"characters not in the vocabulary: {shown} in {text!r}")
        return text

    def decode(self, ids: Iterable[int]) -> str:
        """Text of token ids (blanks skipped, separators become spaces)."""
        out = []
        for i in ids:
            i = int(i)
            if i == 0:
                continue
            token = self.tokens[i]
            out.append(" " if token == SEPARATOR else token)
        return re.sub(" +", " ", "".join(out)).strip()

    def to_dict(self) -> dict:
        return {"format": VOCAB_FORMAT, "kind": "characters", "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: dict) -> "Vocabulary":
        """Either kind (characters, or BPE units) from its to_dict()."""
        if d.get("format") == VOCAB_FORMAT and d.get("kind") == "bpe":
            return SubwordVocabulary(d["tokens"], d["merges"])
        if d.get("format") != VOCAB_FORMAT or d.get("kind") != "characters":
            raise AsrError(f"unsupported vocabulary format {d.get('format')!r} kind {d.get('kind')!r}")
        return cls(d["tokens"])


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
