"""asr.pieces: sentencepiece models learnt in memory, the same bytes every time, every character
kept as it was normalised, and no piece but the unknown one besides the text's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asr import pieces
from asr.errors import AsrError

TEXTS = ["seventy five", "seventy seven", "five five", "september", "december", "enter seventy", "seven", "oh no"] * 3
MANDARIN = ["北京大学很好", "我爱北京", "大学生活好", "北京的大学"] * 3


@pytest.mark.parametrize("model_type", pieces.MODEL_TYPES)
def test_the_same_texts_give_the_same_bytes_in_another_process(model_type):
    """Resuming a training compares the vocabulary with the one it saved."""
    model = pieces.train(TEXTS, model_type, 30)
    assert pieces.train(TEXTS, model_type, 30) == model
    script = ("import sys; from asr import pieces; "
              f"sys.stdout.buffer.write(pieces.train({TEXTS!r}, {model_type!r}, 30))")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout == model


@pytest.mark.parametrize("model_type", pieces.MODEL_TYPES)
def test_only_the_unknown_piece_is_special(model_type):
    sp = pieces.load(pieces.train(TEXTS, model_type, 30))
    found = pieces.pieces(sp)
    assert found[0] == pieces.UNKNOWN == sp.id_to_piece(sp.unk_id()) and sp.unk_id() == 0
    assert sp.bos_id() == sp.eos_id() == sp.pad_id() == -1
    assert not any(p in found for p in ("<s>", "</s>", "<pad>", "<unk>"))
    assert not any(" " in p for p in found)


@pytest.mark.parametrize("model_type", pieces.MODEL_TYPES)
def test_every_character_is_a_piece_even_a_rare_one(model_type):
    """character_coverage 1.0: a character seen once is not left to the unknown piece."""
    texts = MANDARIN + ["龘"]
    sp = pieces.load(pieces.train(texts, model_type, 40))
    assert "龘" in pieces.pieces(sp) and 0 not in sp.encode("北京龘")


def test_text_is_kept_as_normalised():
    """No second normalisation by sentencepiece: "ﬁ" (a ligature NFKC would fold to "fi") and a
    full-width digit stay what they are."""
    sp = pieces.load(pieces.train(["ﬁve １ five", "ﬁve five"] * 3, "bpe", 20))
    assert sp.decode(sp.encode("ﬁve １ five")) == "ﬁve １ five" and 0 not in sp.encode("ﬁve １")


def test_text_without_spaces_has_no_word_start():
    sp = pieces.load(pieces.train(MANDARIN, "bpe", 20))
    assert pieces.WORD_START not in "".join(pieces.pieces(sp))
    assert "".join(sp.encode("我爱北京", out_type=str)) == "我爱北京"
    # With spaces, a word's first piece, and only that one, begins with the mark.
    spaced = pieces.load(pieces.train(TEXTS, "bpe", 30)).encode("seventy november", out_type=str)
    assert spaced[0].startswith(pieces.WORD_START) and sum(p.startswith(pieces.WORD_START) for p in spaced) == 2


def test_a_long_sentence_is_learnt_too():
    """sentencepiece drops sentences over 4192 bytes by default: a character only there would be lost."""
    long = " ".join(["seventy five"] * 400) + " zebra"
    sp = pieces.load(pieces.train(TEXTS + [long], "bpe", 40))
    assert "z" in pieces.pieces(sp)


def test_errors_say_what_went_wrong():
    with pytest.raises(AsrError, match="model type must be one of bpe, unigram"):
        pieces.train(TEXTS, "word", 30)
    with pytest.raises(AsrError, match="not a sentencepiece model"):
        pieces.load(b"garbage")
    with pytest.raises(AsrError, match="sentencepiece could not learn 5 pieces"):
        pieces.train(TEXTS, "bpe", 5)
