"""The typed model record (asr.record) and the Recognizer built from it: round trips, version 1
files, decoding settings from the record or the caller, and words with times from hypotheses."""

from __future__ import annotations

import pytest
import torch

from asr import checkpoint, record
from asr.config import to_dict
from asr.decoding import DecodingSettings, Hypothesis
from asr.errors import CheckpointError, ConfigError
from asr.features import FeatureSettings, Normalizer
from asr.model import AcousticModel, ModelSettings
from asr.recognizer import Recognizer
from asr.vocab import SubwordVocabulary
from asr.text import TextSettings
from asr.vocab import Vocabulary

SMALL = ModelSettings(hidden=8, layers=1, subsample=3)
FEATURES = FeatureSettings(n_mels=20)


def make(vocab: Vocabulary | None = None, **kw) -> record.ModelRecord:
    vocab = vocab or Vocabulary.build(["one two three"])
    torch.manual_seed(0)
    model = AcousticModel(FEATURES.n_mels, len(vocab), SMALL)
    return record.ModelRecord(TextSettings(), FEATURES, SMALL, vocab, Normalizer(torch.zeros(20), torch.ones(20)),
                              model.state_dict(), **kw)


def test_round_trip_through_a_file(tmp_path):
    rec = make(decoding=DecodingSettings(beam_size=8, lm_weight=0.7), info={"model": "epoch 3"})
    record.save(tmp_path / "model.pt", rec)
    raw = checkpoint.load(tmp_path / "model.pt")
    assert raw["version"] == checkpoint.VERSION == 2 and "train" not in raw  # no optimizer state in model.pt
    back = record.load(tmp_path / "model.pt")
    assert back.decoding == rec.decoding and back.info == {"model": "epoch 3"}
    assert back.vocab.tokens == rec.vocab.tokens and back.text == rec.text and back.model == rec.model
    assert all(torch.equal(back.weights[k], v) for k, v in rec.weights.items())
    assert back.frame_seconds == pytest.approx(0.03)  # 10 ms hop x subsample 3
    x = torch.randn(1, 30, 20)
    assert torch.equal(back.build_model()(x, torch.tensor([30]))[0], rec.build_model()(x, torch.tensor([30]))[0])


def test_a_version_1_file_loads_with_greedy_decoding(tmp_path):
    """What `asr train` wrote before the record existed: settings at the top, training state in model.pt."""
    rec = make()
    old = {k: v for k, v in rec.to_dict().items() if k not in ("kind", "decoding", "info")}
    settings = {"train": {"max_duration": 12.5}}
    torch.save({"format": checkpoint.FORMAT, "version": 1, **old, "settings": settings,
                "train": {"step": 4, "optimizer": {}}}, tmp_path / "old.pt")
    back = record.load(tmp_path / "old.pt")
    assert back.decoding == DecodingSettings() and back.decoding.decoder == "greedy"
    assert back.info == {"settings": settings}
    rec_ = Recognizer.load(tmp_path / "old.pt")
    assert isinstance(rec_.decode_features([torch.randn(40, 20)])[0], str)
    assert torch.equal(rec_.model(torch.ones(1, 9, 20), torch.tensor([9]))[0],
                       rec.build_model()(torch.ones(1, 9, 20), torch.tensor([9]))[0])


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.pop("vocab"), "incomplete or inconsistent (missing 'vocab')"),
    (lambda d: d["model"]["settings"].update(cell="transformer"), "model.cell must be one of"),
    (lambda d: d["decoding"].update(decoder="psychic"), "decoding.decoder must be one of"),
    (lambda d: d["model"].update(vocab_size=99), "its vocabulary and model disagree"),
])
def test_a_damaged_record_is_a_checkpoint_error_naming_the_file(tmp_path, damage, message):
    d = make().to_dict()
    damage(d)
    checkpoint.save(tmp_path / "model.pt", d)
    with pytest.raises(CheckpointError) as e:
        record.load(tmp_path / "model.pt")
    assert str(e.value).startswith(str(tmp_path / "model.pt")) and message in str(e.value)


def test_weights_that_do_not_fit_are_a_checkpoint_error():
    rec = make()
    rec.weights = {k: v[..., :1] if v.dim() else v for k, v in rec.weights.items()}
    with pytest.raises(CheckpointError, match="the weights do not fit the model settings"):
        rec.build_model()


def test_recognizer_takes_decoding_from_the_record_unless_given(tmp_path):
    record.save(tmp_path / "model.pt", make(decoding=DecodingSettings(decoder="beam", nbest=2, beam_size=4)))
    rec = Recognizer.load(tmp_path / "model.pt")
    assert rec.decoding.nbest == 2 and type(rec.decoder).__name__ == "BeamDecoder"
    (result,) = rec.recognize([torch.randn(60, 20)])
    assert 1 <= len(result.nbest) <= 2 and result.best is result.nbest[0]
    assert Recognizer.load(tmp_path / "model.pt", nbest=1).decoding == DecodingSettings("beam", nbest=1, beam_size=4)
    assert type(Recognizer.load(tmp_path / "model.pt", decoder="greedy", nbest=1).decoder).__name__ == "GreedyDecoder"
    with pytest.raises(ConfigError, match="decoding.nbest \\(5\\) cannot exceed decoding.beam_size \\(4\\)"):
        Recognizer.load(tmp_path / "model.pt", nbest=5)
    # --decoder greedy leaves the record's beam settings aside; asking for an LM with it does not
    assert Recognizer.load(tmp_path / "model.pt", decoder="greedy").decoding.nbest == 1
    with pytest.raises(ConfigError, match="needs decoding.decoder=beam"):
        Recognizer.load(tmp_path / "model.pt", decoder="greedy", nbest=2)
    tuned = Recognizer.load(tmp_path / "model.pt", unk_score=-5.0, beam_size_token=3, lm_weight=None)
    assert (tuned.decoder.settings.unk_score, tuned.decoder.settings.beam_size_token) == (-5.0, 3)
    assert Recognizer.load(tmp_path / "model.pt").decoder.settings.unk_score == float("-inf")  # None: no unknown words
    with pytest.raises(ConfigError, match="no such LM file"):
        Recognizer.load(tmp_path / "model.pt", lm=str(tmp_path / "nope.arpa"))


# ---- words and times from hypotheses ---------------------------------------------------------

def words(vocab, tokens: list[str], frames: list[int], words_: list[str] = ()) -> list[tuple]:
    rec = Recognizer(make(vocab))
    ids = [vocab.tokens.index(t) for t in tokens]
    result = rec.result([Hypothesis(ids, frames, 0.0, list(words_))])
    return result.text, [(w.word, round(w.start, 3), round(w.end, 3)) for w in result.words]


def test_words_of_a_character_model_split_at_the_separator():
    vocab = Vocabulary.build(["one two"])
    # o n e | t w o at output frames 2 4 5 9 12 13 15 (30 ms each)
    text, found = words(vocab, list("one|two"), [2, 4, 5, 9, 12, 13, 15])
    assert text == "one two"
    assert found == [("one", 0.06, 0.18), ("two", 0.36, 0.48)]


def test_each_mandarin_character_is_a_word_and_doubled_ones_stay_two():
    vocab = Vocabulary.build(["好棒棒"])
    text, found = words(vocab, ["好", "棒", "棒"], [1, 3, 5])
    assert text == "好棒棒" and [w for w, _, _ in found] == ["好", "棒", "棒"]
    assert found[2] == ("棒", 0.15, 0.18)


def test_subword_words_begin_at_the_word_start_mark():
    vocab = SubwordVocabulary.train(["seventy five", "seventy six", "five six"] * 3, 30)
    ids = vocab.encode("seventy five")
    pieces = [vocab.tokens[i] for i in ids]
    frames = list(range(0, 3 * len(ids), 3))
    text, found = words(vocab, pieces, frames)
    assert text == "seventy five" and [w for w, _, _ in found] == ["seventy", "five"]
    assert found[0][1] == 0.0 and found[1][1] == pytest.approx(frames[pieces.index(next(
        p for p in pieces[1:] if p.startswith("▁")))] * 0.03)


def test_words_from_the_decoder_are_used_when_it_knows_them():
    vocab = Vocabulary.build(["one two"])
    text, found = words(vocab, list("on|tw"), [1, 2, 4, 5, 6], ["one", "two"])
    assert text == "one two" and [w for w, _, _ in found] == ["one", "two"]


def test_info_carries_the_training_settings():
    """`asr check --model` reads max_duration from there."""
    rec = make(info={"settings": {"train": {"max_duration": 9.0}}})
    assert rec.to_dict()["info"]["settings"]["train"]["max_duration"] == 9.0
    assert rec.to_dict()["text"] == to_dict(TextSettings())
