"""Text normalisation and the character vocabulary.

Token id 0 is the CTC blank. Spaces become the word-separator token `|` when
the training text has any; Mandarin text (written without spaces) therefore
gets one token per Han character and no separator. Everything works on
Unicode code points, so any script is a vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from asr.errors import AsrError, ConfigError

BLANK = "<blank>"
SEPARATOR = "|"
VOCAB_FORMAT = 1


@dataclass(frozen=True)
class TextSettings:
    """How transcripts are normalised before tokenisation.

    lowercase: fold case. remove_punctuation: drop Unicode punctuation except
    apostrophes inside words (don't, o'clock). nfkc: Unicode NFKC folding
    (full-width digits and letters to ASCII). units / bpe_size: what the
    model's output tokens are (see `build_vocabulary`).
    """

    lowercase: bool = True
    remove_punctuation: bool = True
    nfkc: bool = True
    # characters: one token per character; bpe: subword units learnt from the
    # training text (asr.subword), `bpe_size` tokens in all
    units: str = "characters"
    bpe_size: int = 150

    def check(self) -> None:
        """Raise ConfigError naming the first setting out of its range."""
        if self.units not in UNITS:
            raise ConfigError(f"text.units must be one of {', '.join(UNITS)}, not {self.units!r}")
        if not 2 <= self.bpe_size <= 100_000:  # the blank and at least one token; each one a model output
            raise ConfigError(f"text.bpe_size must be between 2 and 100000, got {self.bpe_size}")


def normalize(text: str, settings: TextSettings = TextSettings()) -> str:
    """Normalise one transcript; whitespace is collapsed to single spaces."""
    if settings.nfkc:
        text = unicodedata.normalize("NFKC", text)
    if settings.lowercase:
        text = text.lower()
    if settings.remove_punctuation:
        text = "".join(_keep(text, i) for i in range(len(text)))
    return re.sub(r"\s+", " ", text).strip()


def _keep(text: str, i: int) -> str:
    c = text[i]
    if not unicodedata.category(c).startswith("P"):
        return c
    # Beside Chinese or Japanese characters punctuation separates nothing: drop it.
    if any(0 <= j < len(text) and unicodedata.east_asian_width(text[j]) in "WF" and text[j].isalpha()
           for j in (i - 1, i + 1)):
        return ""
    # An apostrophe between two letters is part of the word.
    if c in "'’" and 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
        return "'"
    return " "


UNITS = ("characters", "bpe")


def build_vocabulary(texts: Iterable[str], settings: TextSettings) -> "Vocabulary":
    """The output tokens for normalised training texts: characters, or BPE units."""
    if settings.units == "characters":
        return Vocabulary.build(texts)
    if settings.units == "bpe":
        from asr.subword import SubwordVocabulary

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

    def is_separator(self, token: int) -> bool:
        return self.tokens[token] == SEPARATOR

    def starts_word(self, token: int) -> bool:
        """Whether token id `token` begins a word by itself: without a separator (Mandarin)
        every character is a word; with one, words begin after a separator."""
        return not self.has_separator

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
            from asr.subword import SubwordVocabulary

            return SubwordVocabulary(d["tokens"], d["merges"])
        if d.get("format") != VOCAB_FORMAT or d.get("kind") != "characters":
            raise AsrError(f"unsupported vocabulary format {d.get('format')!r} kind {d.get('kind')!r}")
        return cls(d["tokens"])
