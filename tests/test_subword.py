"""Word pieces (sentencepiece bpe and unigram) as a vocabulary: lossless encode/decode in English
and Mandarin, the blank apart from every piece, records (checkpoint, ONNX metadata), the old
hand-learnt BPE records, greedy and beam decoding, alignment, and training end to end."""

from __future__ import annotations

import json
import random

import pytest
import torch

from asr import checkpoint, record
from asr.align import align, word_spans
from asr.decoding import DecodingSettings
from asr.errors import AsrError, CheckpointError, ConfigError
from asr.export import from_json, to_json
from asr.features import FeatureSettings, Normalizer
from asr.lexicon import read_lexicon, write_lexicon
from asr.lmtools import build_lm
from asr.model import AcousticModel, ModelSettings
from asr.recognizer import Recognizer
from asr.text import TextSettings
from asr.vocab import (
    WORD_START,
    MergesVocabulary,
    SubwordVocabulary,
    Vocabulary,
    build_vocabulary,
)

TEXTS = ["seventy five", "seventy seven", "five five", "september", "december", "enter seventy", "seven", "oh no"]
MANDARIN = ["北京大学很好", "我爱北京", "大学生活好", "北京的大学", "我爱大学生活"]
TYPES = ["bpe", "unigram"]


@pytest.fixture(scope="module", params=TYPES)
def english(request) -> SubwordVocabulary:
    return SubwordVocabulary.train(TEXTS * 3, 40, request.param)


@pytest.fixture(scope="module", params=TYPES)
def mandarin(request) -> SubwordVocabulary:
    return SubwordVocabulary.train(MANDARIN * 3, 24, request.param)


# --- the vocabulary ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["seventy five", "seven", "d e c", "vents", "november five", "five seventy seventy five"])
def test_decode_inverts_encode_and_no_id_is_the_blank(english, text):
    ids = english.encode(text)
    assert english.decode(ids) == text
    assert all(i >= 2 for i in ids)  # neither the blank (0) nor the unknown piece (1)


@pytest.mark.parametrize("text", ["我爱北京大学", "北京", "学生很好", "的的"])
def test_mandarin_pieces_have_no_word_start_and_decode_exactly(mandarin, text):
    assert mandarin.decode(mandarin.encode(text)) == text and 0 not in mandarin.encode(text)
    assert not any(WORD_START in t for t in mandarin.tokens)
    assert mandarin.word_start is None and mandarin.separator is None
    assert any(len(t) > 1 for t in mandarin.tokens[2:])  # pieces, not just characters
    # Text without spaces was learnt: a space is unknown, as with a character vocabulary.
    assert mandarin.unknown("北京 大学") == {" "}
    assert mandarin.decode(mandarin.encode("北京 大学", skip_unknown=True)) == "北京大学"


def test_frequent_words_become_single_tokens():
    vocab = SubwordVocabulary.train(TEXTS * 3, 60, "bpe")
    assert [vocab.tokens[i] for i in vocab.encode("seventy five")] == [WORD_START + "seventy", WORD_START + "five"]
    assert vocab.spell("seventy") == [WORD_START + "seventy"]
    assert vocab.word_start == WORD_START and vocab.separator is None


def test_the_blank_and_the_unknown_piece_come_first(english):
    assert english.tokens[:2] == ["<blank>", "⁇"] and english.blank == 0
    assert "<unk>" not in english.tokens and "<s>" not in english.tokens


@pytest.mark.parametrize("model_type", TYPES)
def test_vocabulary_has_the_size_asked_for(model_type):
    words = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
             "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
             "thousand million billion oh and minus point").split()
    rng = random.Random(0)
    texts = [" ".join(rng.choice(words) for _ in range(1 + i % 6)) for i in range(400)]
    vocab = SubwordVocabulary.train(texts, 48, model_type)
    assert len(vocab) == 48
    # A text with fewer pieces to give gives fewer (the size is an upper bound).
    assert len(SubwordVocabulary.train(["ab ab ab cd"], 1000, model_type)) < 1000


def test_too_small_a_size_names_the_setting_and_the_least_that_fits():
    with pytest.raises(ConfigError, match=r"its 17 characters .* text.bpe_size to 19 or more"):  # the space too
        SubwordVocabulary.train(TEXTS, 18)
    assert len(SubwordVocabulary.train(TEXTS, 19)) == 19
    with pytest.raises(ConfigError, match="sentencepiece keeps for itself"):
        SubwordVocabulary.train(["what ⁇ is"], 30)
    with pytest.raises(AsrError, match="empty training text"):
        SubwordVocabulary.train(["", " "], 30)


def test_unknown_characters_are_reported_or_skipped(english):
    assert english.unknown("five q") == {"q"}
    assert english.unknown(f"five {WORD_START}") == {WORD_START}  # sentencepiece would read it as a space
    with pytest.raises(AsrError, match="'q'"):
        english.encode("five q")
    assert english.decode(english.encode("five q", skip_unknown=True)) == "five"
    assert english.spell("fiq") is None and english.spell("") is None and english.spell("five five") is None


def test_ctc_collapse_keeps_a_repeated_word_apart(english):
    five = english.encode("five")
    assert english.decode(five + five) == "five five"


def test_build_vocabulary_follows_the_settings():
    assert type(build_vocabulary(TEXTS, TextSettings())) is Vocabulary
    for units in TYPES:
        vocab = build_vocabulary(TEXTS * 3, TextSettings(units=units, bpe_size=30))
        assert isinstance(vocab, SubwordVocabulary) and vocab.model_type == units and len(vocab) <= 30
    with pytest.raises(ConfigError, match="text.units must be one of characters, bpe, unigram"):
        TextSettings(units="words").check()
    with pytest.raises(ConfigError, match="text.units"):
        build_vocabulary(TEXTS, TextSettings(units="words"))


# --- records ----------------------------------------------------------------------------------

def make_record(vocab: Vocabulary) -> record.ModelRecord:
    settings = ModelSettings(hidden=8, layers=1, subsample=3)
    torch.manual_seed(0)
    model = AcousticModel(20, len(vocab), settings)
    return record.ModelRecord(TextSettings(units="bpe"), FeatureSettings(n_mels=20), settings, vocab,
                              Normalizer(torch.zeros(20), torch.ones(20)), model.state_dict())


def same(a: Vocabulary, b: Vocabulary, text: str) -> bool:
    return type(a) is type(b) and a.tokens == b.tokens and a.encode(text) == b.encode(text) and a.to_dict() == b.to_dict()


def test_dict_round_trip_through_the_vocabulary_loader(english, mandarin):
    for vocab, text in ((english, "november seventy"), (mandarin, "我爱大学")):
        d = vocab.to_dict()
        assert d["kind"] == "sentencepiece" and d["model_type"] == vocab.model_type and isinstance(d["model"], str)
        assert same(Vocabulary.from_dict(d), vocab, text)
        assert same(Vocabulary.from_dict(json.loads(json.dumps(d))), vocab, text)  # plain JSON


def test_a_record_round_trips_through_a_checkpoint_and_onnx_metadata(english, tmp_path):
    rec = make_record(english)
    record.save(tmp_path / "model.pt", rec)
    torch.load(tmp_path / "model.pt", weights_only=True)  # nothing but plain data and tensors
    assert same(record.load(tmp_path / "model.pt").vocab, english, "seventy december")
    # What asr.export writes into the ONNX metadata: the record without weights as JSON.
    d = {k: v for k, v in rec.to_dict().items() if k != "model"}
    again = from_json(json.loads(json.dumps(to_json(d), ensure_ascii=False)))
    assert same(Vocabulary.from_dict(again["vocab"]), english, "seventy december")


def test_a_sentencepiece_vocabulary_travels_in_an_onnx_export(mandarin, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from asr.export import export_onnx
    from asr.onnxmodel import load

    record.save(tmp_path / "model.pt", make_record(mandarin))
    back, _ = load(export_onnx(tmp_path / "model.pt", tmp_path / "model.onnx"))
    assert same(back.vocab, mandarin, "我爱北京大学")


def test_an_altered_vocabulary_is_refused(english, tmp_path):
    d = english.to_dict()
    with pytest.raises(AsrError, match="not its sentencepiece model's pieces"):
        Vocabulary.from_dict({**d, "tokens": d["tokens"][:-1] + ["x"]})
    with pytest.raises(AsrError, match="not a sentencepiece model"):
        Vocabulary.from_dict({**d, "model": "Z2FyYmFnZQ=="})
    with pytest.raises(AsrError, match="model_type"):
        Vocabulary.from_dict({**d, "model_type": "word"})
    raw = make_record(english).to_dict()
    raw["vocab"]["model"] = raw["vocab"]["model"][:40]
    checkpoint.save(tmp_path / "bad.pt", raw)
    with pytest.raises(CheckpointError, match="bad.pt: the checkpoint is incomplete or inconsistent"):
        record.load(tmp_path / "bad.pt")


# A vocabulary of asr's own BPE learner, before sentencepiece (SubwordVocabulary.train(TEXTS * 3, 40)
# at 1d2d2f6), and what it made of three texts.
OLD_BPE = {"format": 1, "kind": "bpe", "tokens": [
    "<blank>", "▁b", "▁c", "▁d", "▁e", "▁f", "▁h", "▁i", "▁m", "▁n", "▁o", "▁p", "▁r", "▁s", "▁t", "▁v", "▁y", "b",
    "c", "d", "e", "f", "h", "i", "m", "n", "o", "p", "r", "s", "t", "v", "y", "ve", "▁se", "▁seve", "▁seven",
    "▁sevent", "▁seventy", "▁fi"],
    "merges": [["v", "e"], ["▁s", "e"], ["▁se", "ve"], ["▁seve", "n"], ["▁seven", "t"], ["▁sevent", "y"], ["▁f", "i"]]}
OLD_IDS = {"seventy five": [38, 39, 33], "november five": [9, 26, 33, 24, 17, 20, 28, 39, 33], "oh no seven": [10, 22, 9, 26, 36]}


def test_an_old_bpe_record_loads_and_decodes_as_before(tmp_path):
    vocab = Vocabulary.from_dict(OLD_BPE)
    assert isinstance(vocab, MergesVocabulary) and vocab.to_dict() == OLD_BPE
    for text, ids in OLD_IDS.items():
        assert vocab.encode(text) == ids and vocab.decode(ids) == text
    assert vocab.spell("seventy") == ["▁seventy"] and vocab.word_start == WORD_START
    rec = make_record(vocab)
    record.save(tmp_path / "old.pt", rec)
    rec_ = Recognizer(record.load(tmp_path / "old.pt"))
    result = rec_.decode(*posteriors(OLD_IDS["seventy five"], len(vocab)))[0]
    assert result.text == "seventy five" and [w.word for w in result.words] == ["seventy", "five"]


# --- decoding and alignment -------------------------------------------------------------------

def posteriors(ids: list[int], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, T, V) log-probabilities spelling `ids`: each token for a frame (0.9), then a blank frame."""
    frames = [f for i in ids for f in (i, 0)]
    probs = torch.full((len(frames), size), 0.1 / (size - 1))
    probs[torch.arange(len(frames)), torch.tensor(frames)] = 0.9
    return probs.log().unsqueeze(0), torch.tensor([len(frames)])


def recognizer(vocab: Vocabulary, **decoding) -> Recognizer:
    return Recognizer(make_record(vocab), decoding=DecodingSettings(**decoding))


def test_greedy_decoding_of_pieces_gives_the_text_and_words(english):
    ids = english.encode("seventy five")
    result = recognizer(english).decode(*posteriors(ids, len(english)))[0]
    assert result.text == "seventy five" and [w.word for w in result.words] == ["seventy", "five"]


def test_mandarin_pieces_are_words_joined_without_spaces(mandarin):
    ids = mandarin.encode("我爱北京大学")
    rec = recognizer(mandarin)
    result = rec.decode(*posteriors(ids, len(mandarin)))[0]
    assert rec.joiner == "" and result.text == "我爱北京大学"
    assert [w.word for w in result.words] == [mandarin.tokens[i] for i in ids]  # a piece is a word


@pytest.mark.parametrize("lexicon", [False, True])
def test_beam_search_with_and_without_a_lexicon_spelt_in_pieces(english, tmp_path, lexicon):
    path = None
    if lexicon:
        path = tmp_path / "lexicon.txt"
        write_lexicon(["seven", "seventy", "five", "fifty", "december"], english.spell, path)
        assert read_lexicon(path, english.tokens)["seventy"] == [english.spell("seventy")]
    rec = recognizer(english, decoder="beam", beam_size=10, lexicon=str(path or ""))
    result = rec.decode(*posteriors(english.encode("seventy five"), len(english)))[0]
    assert result.text == "seventy five" and [w.word for w in result.words] == ["seventy", "five"]


def test_lm_build_spells_the_lexicon_in_pieces(english, tmp_path):
    """`asr lm build --model` writes a lexicon in the model's pieces (Vocabulary.spell)."""
    (tmp_path / "text.txt").write_text("\n".join(TEXTS * 2) + "\n", encoding="utf-8")
    built = build_lm([tmp_path / "text.txt"], tmp_path / "words.arpa", order=2, record=make_record(english))
    assert read_lexicon(built.lexicon, english.tokens)["september"] == [english.spell("september")]
    rec = recognizer(english, decoder="beam", beam_size=10, lm=str(built.arpa), lexicon=str(built.lexicon))
    result = rec.decode(*posteriors(english.encode("seventy five"), len(english)))[0]
    assert result.text == "seventy five" and result.best.words == ["seventy", "five"]


def test_a_token_lm_over_pieces_loads_for_lexicon_free_decoding(english, tmp_path):
    """No piece is called <unk>, an n-gram LM's own word (KenLM's dictionary would hold it twice)."""
    pieces = english.tokens[1:]
    arpa = ["\\data\\", f"ngram 1={len(pieces) + 3}", "ngram 2=1", "", "\\1-grams:", "-2.0\t<unk>\t0",
            "-99\t<s>\t0", "-1.0\t</s>\t0", *[f"-1.0\t{p}\t0" for p in pieces], "", "\\2-grams:",
            f"-0.5\t<s> {pieces[-1]}", "", "\\end\\", ""]
    (tmp_path / "tokens.arpa").write_text("\n".join(arpa), encoding="utf-8")
    rec = recognizer(english, decoder="beam", beam_size=10, lm=str(tmp_path / "tokens.arpa"), lm_weight=0.5)
    assert rec.decode(*posteriors(english.encode("seventy five"), len(english)))[0].text == "seventy five"


def test_mandarin_beam_with_a_lexicon_spelt_in_pieces(mandarin, tmp_path):
    """Text without spaces: `asr lm build --model` takes each sentence for a word and spells it as
    the model was trained to write it. (A lexicon of shorter words cannot follow a piece that
    runs across two of them, "北京大学" as one piece: see asr.vocab.)"""
    (tmp_path / "text.txt").write_text("\n".join(MANDARIN) + "\n", encoding="utf-8")
    built = build_lm([tmp_path / "text.txt"], tmp_path / "lm.arpa", order=2, record=make_record(mandarin))
    for lm in ("", str(built.arpa)):
        rec = recognizer(mandarin, decoder="beam", beam_size=10, lexicon=str(built.lexicon), lm=lm)
        for sentence in ("我爱北京", "大学生活好", "北京的大学"):
            result = rec.decode(*posteriors(mandarin.encode(sentence), len(mandarin)))[0]
            assert result.text == sentence and result.best.words == [sentence]
            # Timed words are pieces, as they are characters for a character model (Recognizer._timed).
            assert "".join(w.word for w in result.words) == sentence
    free = recognizer(mandarin, decoder="beam", beam_size=10).decode(*posteriors(mandarin.encode("我爱北京大学"), len(mandarin)))[0]
    assert free.text == "我爱北京大学" and [w.word for w in free.words] == mandarin.spell("我爱北京大学")


def test_forced_alignment_groups_pieces_into_words(english, mandarin):
    for vocab, text, words in ((english, "seventy december five", ["seventy", "december", "five"]),
                               (mandarin, "我爱北京大学", None)):
        ids = vocab.encode(text)
        lp, _ = posteriors(ids, len(vocab))
        spans = align(lp[0], ids, vocab.blank)
        found = word_spans(spans, vocab.tokens, vocab.separator, vocab.word_start)
        assert [w.word for w in found] == (words or [vocab.tokens[i] for i in ids])
        assert all(a.end <= b.start for a, b in zip(found, found[1:]))


# --- training end to end ----------------------------------------------------------------------

@pytest.mark.parametrize("units", TYPES)
def test_training_with_word_pieces_transcribes(tiny_digits, tmp_path, units):
    from asr import config, manifest
    from asr.train import train
    from asr.transcribe import transcribe

    settings = config.load(None, ["model.hidden=16", "model.layers=1", "features.n_mels=20", "train.epochs=1",
                                  "train.max_batch=8", f"text.units={units}", "text.bpe_size=30"])
    train(tiny_digits, settings, tmp_path)
    rec = record.load(tmp_path / "model.pt")
    assert isinstance(rec.vocab, SubwordVocabulary) and rec.vocab.model_type == units and len(rec.vocab) <= 30
    assert rec.vocab.spell("seven")[0].startswith(WORD_START)
    texts = [o.transcript.text for o in transcribe([manifest.read(tiny_digits / "dev.jsonl")[0].audio], tmp_path / "model.pt")]
    assert len(texts) == 1 and isinstance(texts[0], str)
