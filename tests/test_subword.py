"""Subword (BPE) units: learnt merges, lossless encode/decode, checkpoints, training."""

from __future__ import annotations

import pytest

from asr.errors import AsrError, ConfigError
from asr.vocab import WORD_START, SubwordVocabulary
from asr.text import TextSettings
from asr.vocab import Vocabulary, build_vocabulary

TEXTS = ["seventy five", "seventy seven", "five five", "september", "december", "enter seventy", "seven", "oh no"]


def test_frequent_words_become_single_tokens():
    vocab = SubwordVocabulary.train(TEXTS * 3, size=60)
    pieces = [vocab.tokens[i] for i in vocab.encode("seventy five")]
    assert pieces == [WORD_START + "seventy", WORD_START + "five"]


def test_the_first_merge_is_the_most_frequent_pair():
    vocab = SubwordVocabulary.train(["ab ab ab cd"], size=100)
    assert vocab.merges[0] == (WORD_START + "a", "b")
    assert vocab.encode("ab") == [vocab.tokens.index(WORD_START + "ab")]


def test_an_unseen_word_is_spelt_from_learnt_pieces():
    vocab = SubwordVocabulary.train(TEXTS * 3, size=60)
    ids = vocab.encode("november five")
    assert vocab.decode(ids) == "november five"
    assert len(ids) < len("november") + 1  # some pieces are longer than a character


@pytest.mark.parametrize("text", ["seventy five", "seven", "d e c", "vents", "five seventy seventy five"])
def test_decode_inverts_encode(text):
    vocab = SubwordVocabulary.train(TEXTS, size=40)
    assert vocab.decode(vocab.encode(text)) == text


def test_vocabulary_has_the_requested_size_and_a_blank():
    vocab = SubwordVocabulary.train(TEXTS * 3, size=45)
    assert len(vocab) == 45 and vocab.tokens[0] == "<blank>" and vocab.blank == 0
    tiny = SubwordVocabulary.train(["ab"], size=1000)  # stops when no pair occurs twice
    assert len(tiny) < 1000


def test_unknown_characters_are_reported_or_skipped():
    vocab = SubwordVocabulary.train(TEXTS, size=40)
    assert vocab.unknown("five q") == {"q"}
    with pytest.raises(AsrError, match="'q'"):
        vocab.encode("five q")
    assert vocab.decode(vocab.encode("five q", skip_unknown=True)) == "five"


def test_dict_round_trip_through_the_vocabulary_loader():
    vocab = SubwordVocabulary.train(TEXTS * 3, size=50)
    again = Vocabulary.from_dict(vocab.to_dict())
    assert isinstance(again, SubwordVocabulary) and again.tokens == vocab.tokens
    assert again.encode("november seventy") == vocab.encode("november seventy")


def test_ctc_collapse_keeps_a_repeated_word_apart():
    """"five five": two "▁five" tokens; with a blank between them greedy CTC gives both."""
    vocab = SubwordVocabulary.train(TEXTS * 3, size=60)
    five = vocab.encode("five")
    assert len(five) == 1
    assert vocab.decode(five + five) == "five five"


def test_build_vocabulary_follows_the_settings():
    assert type(build_vocabulary(TEXTS, TextSettings())) is Vocabulary
    assert isinstance(build_vocabulary(TEXTS, TextSettings(units="bpe", bpe_size=40)), SubwordVocabulary)
    with pytest.raises(ConfigError, match="text.units"):
        build_vocabulary(TEXTS, TextSettings(units="words"))


def test_training_with_subword_units_transcribes(tiny_digits, tmp_path):
    from asr import config, manifest
    from asr.train import train
    from asr.transcribe import transcribe

    settings = config.load(None, ["model.hidden=16", "model.layers=1", "features.n_mels=20", "train.epochs=1",
                                  "train.max_batch=8", "text.units=bpe", "text.bpe_size=30"])
    train(tiny_digits, settings, tmp_path)
    texts = [o.transcript.text for o in transcribe([manifest.read(tiny_digits / "dev.jsonl")[0].audio], tmp_path / "model.pt")]
    assert len(texts) == 1 and isinstance(texts[0], str)
