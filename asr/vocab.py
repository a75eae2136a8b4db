"""Vocabularies: normalised text <-> token ids, one interface, three kinds.

    vocab = build_vocabulary(texts, settings.text)   # characters, or word pieces
    ids = vocab.encode("one two"); vocab.decode(ids)  # "one two"
    Vocabulary.from_dict(vocab.to_dict())            # any kind, as saved in a model record

Token id 0 is the CTC blank. Characters: spaces become the word-separator
token `|` when the training text has any; Mandarin text (written without
spaces) therefore gets one token per Han character and no separator. Word
pieces (`SubwordVocabulary`, `text.units=bpe` or `unigram`): a sentencepiece
model learnt from the training text (asr.pieces), with `▁` glued to each
word's first piece instead of a separator. All kinds tell decoders and
aligners where words begin (`separator`, `word_start`; with neither, every
token is a word) and spell a word in their tokens (`spell`, for lexicons).

Pieces: a word is cut into pieces learnt from the training text (byte-pair
merges, Sennrich et al. 2016, or a unigram language model, Kudo 2018), so a
word never seen in training (AN4's test has "november"; training has
"september" and "december") is still spelt out of learnt pieces, and frequent
words become one token each: a greedy CTC decoder cannot then misspell them.
Token ids are sentencepiece's piece ids plus one: the blank is 0, and
sentencepiece's unknown piece (`⁇`) is 1, an output no target uses (every
character of the training text is a piece; other characters are refused
before encoding, as with characters). Training text without any space
(Mandarin; also a corpus of single words) gets pieces without `▁` and no
word-start mark: as each character with a character vocabulary, every piece
is a word, and words are joined without spaces. Such pieces may run across
words ("北京大学" one piece), which a lexicon of shorter words cannot follow.

`MergesVocabulary` (kind "bpe") is asr's own BPE learner's, from before
sentencepiece: records holding one still load and decode as they did; new
ones are not learnt.
"""

from __future__ import annotations

import base64
import re
from typing import Iterable, Sequence

from asr import pieces
from asr.errors import AsrError, ConfigError
from asr.text import UNITS, TextSettings

BLANK = "<blank>"
SEPARATOR = "|"
WORD_START = pieces.WORD_START
VOCAB_FORMAT = 1


def build_vocabulary(texts: Iterable[str], settings: TextSettings) -> "Vocabulary":
    """The output tokens for normalised training texts: characters, or word pieces."""
    if settings.units == "characters":
        return Vocabulary.build(texts)
    if settings.units in pieces.MODEL_TYPES:
        return SubwordVocabulary.train(texts, settings.bpe_size, settings.units)
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
        """Any kind (characters, word pieces, or the old BPE merges) from its to_dict()."""
        kind = d.get("kind")
        if d.get("format") != VOCAB_FORMAT or kind not in ("characters", "sentencepiece", "bpe"):
            raise AsrError(f"unsupported vocabulary format {d.get('format')!r} kind {kind!r}")
        if kind == "sentencepiece":
            return SubwordVocabulary.from_dict(d)
        if kind == "bpe":
            return MergesVocabulary(d["tokens"], d["merges"])
        return Vocabulary(d["tokens"])


class SubwordVocabulary(Vocabulary):
    """Word pieces of a sentencepiece model <-> token ids (piece id + 1; id 0 is the CTC blank).
    Same interface as the character Vocabulary; the model's bytes travel in `to_dict()`."""

    kind = "sentencepiece"

    def __init__(self, model: bytes, model_type: str):
        self.model, self.model_type = bytes(model), model_type
        self._sp = pieces.load(self.model)
        super().__init__([BLANK] + pieces.pieces(self._sp))
        # With spaces in the training text, `▁` (a space) is a piece and begins every word.
        self._spaced = WORD_START in self._ids
        self._chars = {t for t in self.tokens[2:] if len(t) == 1 and t != WORD_START}

    @classmethod
    def train(cls, texts: Iterable[str], size: int, model_type: str = "bpe") -> "SubwordVocabulary":
        """Learn a sentencepiece model (`model_type` bpe or unigram) from normalised texts: `size`
        tokens, the blank and the unknown piece included, or fewer when the texts have no more
        pieces to give."""
        texts = [t for t in texts if t.strip()]
        if not texts:
            raise AsrError("cannot learn subword units from an empty training text")
        chars = {c for t in texts for c in t}
        if pieces.UNKNOWN in chars or WORD_START in chars:
            c = pieces.UNKNOWN if pieces.UNKNOWN in chars else WORD_START
            raise ConfigError(f"the training text holds {c!r}, which sentencepiece keeps for itself "
                              "(remove it from the transcripts, or use text.units=characters)")
        if size < len(chars) + 2:
            raise ConfigError(f"{size} tokens are too few for the training text: each of its {len(chars)} "
                              f"characters is a token, and so are the blank and the unknown piece (set "
                              f"text.bpe_size to {len(chars) + 2} or more)")
        return cls(pieces.train(texts, model_type, size - 1), model_type)

    @property
    def separator(self) -> str | None:
        return None

    @property
    def word_start(self) -> str | None:
        """`▁` when the training text had spaces; None for text without them (every piece a word)."""
        return WORD_START if self._spaced else None

    def spell(self, word: str) -> list[str] | None:
        """The pieces sentencepiece cuts `word` into, or None when a character has no token."""
        if not word or " " in word or self.unknown(word):
            return None
        return [self.tokens[i] for i in self.encode(word)]

    def unknown(self, text: str) -> set[str]:
        """Characters without a piece (`⁇` and `▁` among them: sentencepiece's own); a space too
        when the training text had none."""
        return {c for c in text if c != " " and c not in self._chars} | (
            {" "} if " " in text and not self._spaced else set())

    def encode(self, text: str, skip_unknown: bool = False) -> list[int]:
        return [i + 1 for i in self._sp.encode(self._known(text, skip_unknown))]

    def decode(self, ids: Iterable[int]) -> str:
        text = "".join(self.tokens[int(i)] for i in ids if int(i) != 0)
        return re.sub(" +", " ", text.replace(WORD_START, " ")).strip()

    def to_dict(self) -> dict:
        """The model's bytes as base64 text (torch.load(weights_only=True) and the JSON of an ONNX
        export both take a string); the tokens for a reader, checked against the model on loading."""
        return {"format": VOCAB_FORMAT, "kind": self.kind, "model_type": self.model_type,
                "model": base64.b64encode(self.model).decode("ascii"), "tokens": list(self.tokens)}

    @classmethod
    def from_dict(cls, d: dict) -> "SubwordVocabulary":
        if d.get("model_type") not in pieces.MODEL_TYPES or not isinstance(d.get("model"), str):
            raise AsrError(f"a sentencepiece vocabulary needs its model_type ({', '.join(pieces.MODEL_TYPES)}) "
                           "and its model (base64 text)")
        vocab = cls(base64.b64decode(d["model"], validate=True), d["model_type"])
        if d.get("tokens", vocab.tokens) != vocab.tokens:
            raise AsrError("the vocabulary's tokens are not its sentencepiece model's pieces")
        return vocab


class MergesVocabulary(Vocabulary):
    """BPE tokens <-> ids by the merges of asr's own learner (kind "bpe", before sentencepiece): loaded
    from model records and decoded exactly as before; new ones are learnt by SubwordVocabulary.

    A word is its characters with `▁` glued to the first ("▁s", "e", "v", ...); the merges
    are applied in the order they were learnt."""

    kind = "bpe"

    def __init__(self, tokens: Sequence[str], merges: Sequence[tuple[str, str]]):
        super().__init__(tokens)
        self.merges = [tuple(m) for m in merges]
        self._rank = {m: i for i, m in enumerate(self.merges)}
        self._chars = {t[-1] for t in self.tokens[1:] if len(t.lstrip(WORD_START)) == 1}
        self._words: dict[str, list[int]] = {}

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
        out = [WORD_START + word[0]] + list(word[1:])
        while len(out) > 1:
            ranked = [(self._rank.get(p, len(self._rank)), i) for i, p in enumerate(zip(out, out[1:]))]
            rank, i = min(ranked)
            if rank == len(self._rank):
                break
            out = out[:i] + [out[i] + out[i + 1]] + out[i + 2:]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        text = "".join(self.tokens[int(i)] for i in ids if int(i) != 0)
        return re.sub(" +", " ", text.replace(WORD_START, " ")).strip()

    def to_dict(self) -> dict:
        return {"format": VOCAB_FORMAT, "kind": self.kind, "tokens": list(self.tokens),
                "merges": [list(m) for m in self.merges]}
