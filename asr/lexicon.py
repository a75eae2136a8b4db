"""Lexicons for lexicon-constrained beam search: each word and its spelling in model tokens.

    write_lexicon(words, spell, "lexicon.txt")      # "seventy\t▁seven ty" per line
    read_lexicon("lexicon.txt", tokens)              # {"seventy": [["▁seven", "ty"]]}

One line per spelling: the word, a tab (or spaces), then the tokens separated
by spaces. A word may have several lines (several spellings). A spelling is the
word's own tokens: no word separator at its end (a trailing `|`, the wav2letter
habit, is accepted and dropped); the beam decoder ends every word of a
vocabulary with a separator with one itself. Words are spelt by the caller's `spell` (the model's
vocabulary), or by `greedy_speller` when there is nothing better.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asr.errors import ConfigError

Speller = Callable[[str], "list[str] | None"]


@dataclass
class LexiconCounts:
    """What write_lexicon did: words written, words skipped (no spelling) and a few of them."""

    written: int
    skipped: int
    skipped_examples: list[str] = field(default_factory=list)


def write_lexicon(words: Iterable[str], spell: Speller, path: str | Path) -> LexiconCounts:
    """Write one line "word<TAB>tok tok ..." per distinct word that `spell` can spell.

    `spell(word)` gives the word's tokens, or None (or []) when the model cannot spell it
    (a character it has no token for): such words are skipped and counted, not errors.
    Words containing whitespace are skipped too (a lexicon entry is one word).
    """
    path = Path(path)
    seen: set[str] = set()
    lines: list[str] = []
    skipped: list[str] = []
    for word in words:
        if word in seen or not word:
            continue
        seen.add(word)
        spelling = None if any(c.isspace() for c in word) else spell(word)
        if not spelling or any(not t or any(c.isspace() for c in t) for t in spelling):
            skipped.append(word)
            continue
        lines.append(f"{word}\t{' '.join(spelling)}\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(lines), encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot write the lexicon ({e.strerror or e})") from None
    return LexiconCounts(len(lines), len(skipped), skipped[:5])


def read_lexicon(path: str | Path, tokens: Sequence[str] | None = None,
                 separator: str | None = None) -> dict[str, list[list[str]]]:
    """word -> its spellings (lists of tokens), in file order, from a lexicon file.

    With `tokens`, every token of every spelling must be one of them: an error names the
    file, line and token (a lexicon written for another model's vocabulary). A trailing
    `separator` is dropped from a spelling. Blank lines are skipped.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: lexicon not found "
                          "(give a lexicon file, or none for lexicon-free decoding)") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: a lexicon must be UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the lexicon ({e.strerror or e})") from None
    known = set(tokens) if tokens is not None else None
    lexicon: dict[str, list[list[str]]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        word, spelling = fields[0], fields[1:]
        if separator is not None and spelling and spelling[-1] == separator:
            spelling = spelling[:-1]
        if not spelling:
            raise ConfigError(f"{path}:{number}: {word!r} has no spelling "
                              "(each line is a word, then its tokens separated by spaces)")
        if known is not None:
            unknown = [t for t in spelling if t not in known]
            if unknown:
                raise ConfigError(f"{path}:{number}: {word!r} is spelt with {unknown[0]!r}, which is not a token "
                                  "of this model (was the lexicon written for another vocabulary?)")
        spellings = lexicon.setdefault(word, [])
        if spelling not in spellings:
            spellings.append(spelling)
    if not lexicon:
        raise ConfigError(f"{path}: the lexicon has no words")
    return lexicon


def greedy_speller(tokens: Sequence[str], word_start: str | None = None) -> Speller:
    """A speller that cuts a word into the longest tokens first, left to right.

    With `word_start` (word pieces' "▁") the first token carries the mark ("seven" -> "▁seven",
    or "▁se" "ven"). Characters are the special case of one-character tokens. This is a
    fallback: the model's own tokenizer (Vocabulary.spell, by the sentencepiece model it was
    trained with) spells words as the model emits them, and greedy cutting may not.
    """
    vocab = set(tokens)
    longest = max((len(t) for t in tokens), default=1)

    def spell(word: str) -> list[str] | None:
        out: list[str] = []
        i = 0
        while i < len(word):
            mark = word_start if (word_start and i == 0) else ""
            for j in range(min(len(word), i + longest), i, -1):
                if mark + word[i:j] in vocab:
                    out.append(mark + word[i:j])
                    i = j
                    break
            else:
                return None
        return out or None

    return spell
