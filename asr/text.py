"""Text normalisation: what a transcript becomes before it is tokenised (asr.vocab).

Everything works on Unicode code points, so any script can be normalised.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from asr.errors import ConfigError


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
    # characters: one token per character; bpe or unigram: word pieces of a
    # sentencepiece model of that type learnt from the training text
    # (asr.vocab.SubwordVocabulary), at most `bpe_size` tokens in all, blank
    # included (the key kept its first name when unigram came)
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


UNITS = ("characters", "bpe", "unigram")
