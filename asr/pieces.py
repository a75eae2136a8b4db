"""Word pieces learnt by sentencepiece (Kudo & Richardson 2018), the library the field uses.

    model = train(texts, "bpe", 149)       # the model as bytes (a serialized ModelProto)
    sp = load(model)                       # sentencepiece.SentencePieceProcessor
    sp.encode("seventy five", out_type=str) # ["▁seventy", "▁five"]

A model is learnt in memory from normalised transcripts and lives as bytes
inside the model record (asr.vocab.SubwordVocabulary): no file beside it.
The choices, each for a reason:

- `normalization_rule_name="identity"`: the text was normalised by
  asr.text.normalize already; sentencepiece's own NFKC rule would change some
  characters again and decoding would no longer give back the text encoded.
- `character_coverage=1.0`: every character of the training text is a piece.
  0.9995 (sentencepiece's advice for Chinese and Japanese) maps the rarest
  characters to the unknown piece, which CTC would then be trained to emit
  instead: the transcripts would lose those characters for good, where a rare
  character as a piece of its own can still be learnt. (A text with more
  distinct characters than `size` is refused by the caller, asr.vocab.)
- The unknown piece is piece 0 (sentencepiece requires one) and <s>, </s>,
  <pad> are turned off: CTC has no use for them. The vocabulary shifts every
  piece id by one so that the blank is id 0 and the unknown piece an output of
  its own (asr.vocab). It is written `⁇` (what sentencepiece decodes it to),
  not `<unk>`: that is an n-gram LM's own word, and a token of that name would
  clash with it in lexicon-free decoding with a token LM.
- Text with spaces gets `▁` at the front of each word (`add_dummy_prefix`,
  pieces never cross a space). Text without any (Mandarin) gets no `▁` at all:
  pieces may then run across words, and each piece is a "word" of the
  recogniser, as each character is with a character vocabulary.
- `hard_vocab_limit=False`: `size` is an upper bound; a training text too small
  to give that many pieces gives fewer (as asr's own BPE learner did).
- One thread and a fixed random seed, so that the same texts give the same
  bytes: resuming a training checks that the vocabulary is the same.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import sentencepiece

from asr.errors import AsrError

MODEL_TYPES = ("bpe", "unigram")
WORD_START = "▁"  # sentencepiece's mark of a word's first piece (U+2581)
UNKNOWN = "⁇"  # the unknown piece (U+2047)


def train(texts: Sequence[str], model_type: str, size: int) -> bytes:
    """A sentencepiece model of at most `size` pieces (the unknown one included) learnt from
    normalised, non-empty `texts`; the caller checks that `size` covers every character and
    the unknown piece, and that no text holds `UNKNOWN`."""
    if model_type not in MODEL_TYPES:
        raise AsrError(f"sentencepiece model type must be one of {', '.join(MODEL_TYPES)}, not {model_type!r}")
    spaced = any(" " in t for t in texts)
    out = io.BytesIO()
    sentencepiece.set_random_generator_seed(0)
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(texts), model_writer=out, model_type=model_type, vocab_size=size,
            hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="identity",
            add_dummy_prefix=spaced, unk_id=0, unk_piece=UNKNOWN, bos_id=-1, eos_id=-1, pad_id=-1,
            # sentencepiece skips longer sentences (4192 bytes by default): keep them all
            max_sentence_length=max(4192, max(len(t.encode()) for t in texts)),
            num_threads=1, minloglevel=2)
    except RuntimeError as e:
        raise AsrError(f"sentencepiece could not learn {size} pieces ({str(e).splitlines()[0]})") from None
    return out.getvalue()


def load(model: bytes) -> sentencepiece.SentencePieceProcessor:
    """The processor of a model's bytes; an AsrError if they are not a sentencepiece model."""
    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(model)
    except (RuntimeError, OSError, TypeError) as e:
        raise AsrError(f"not a sentencepiece model ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    return sp


def pieces(sp: sentencepiece.SentencePieceProcessor) -> list[str]:
    """Every piece of a model, by its sentencepiece id."""
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
