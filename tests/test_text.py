"""Text normalisation and the character vocabulary."""

import pytest

from asr.errors import AsrError
from asr.text import TextSettings, normalize
from asr.vocab import BLANK, SEPARATOR, Vocabulary


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Hello World", "hello world"),  # case folded
        ("Hello, world! How are you?", "hello world how are you"),  # punctuation dropped
        ("hello,world", "hello world"),  # punctuation between words becomes a space
        ("Don't stop at o'clock", "don't stop at o'clock"),  # apostrophes inside words kept
        ("Don’t", "don't"),  # typographic apostrophe inside a word becomes '
        ("'tis the 'end'", "tis the end"),  # apostrophes at word edges are punctuation
        ("  one \t two\n\nthree  ", "one two three"),  # whitespace collapsed and stripped
        ("ＡＢＣ １２３", "abc 123"),  # NFKC: full-width letters and digits to ASCII
        ("今天天气好棒棒！", "今天天气好棒棒"),  # full-width punctuation is punctuation
        ("", ""),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_settings_can_turn_steps_off():
    raw = "Ｈello, World"
    assert normalize(raw, TextSettings(lowercase=False)) == "Hello World"
    assert normalize(raw, TextSettings(remove_punctuation=False)) == "hello, world"
    assert normalize(raw, TextSettings(nfkc=False)) == "ｈello world"


def test_build_english_has_blank_first_then_separator_then_sorted_chars():
    vocab = Vocabulary.build(["one two", "oh"])
    assert vocab.tokens == [BLANK, SEPARATOR, "e", "h", "n", "o", "t", "w"]
    assert vocab.blank == 0 and vocab.tokens[0] == BLANK
    assert vocab.has_separator
    assert len(vocab) == 8


def test_build_without_spaces_has_no_separator():
    vocab = Vocabulary.build(["今天天气好棒棒"])
    assert vocab.tokens[0] == BLANK
    assert not vocab.has_separator
    assert SEPARATOR not in vocab.tokens
    assert sorted(vocab.tokens[1:]) == sorted(set("今天天气好棒棒"))
    assert len(vocab) == 1 + 5


def test_english_round_trip():
    vocab = Vocabulary.build(["one two three", "oh four"])
    ids = vocab.encode("three two")
    assert len(ids) == len("three two")
    assert ids[5] == vocab.tokens.index(SEPARATOR)
    assert 0 not in ids
    assert vocab.decode(ids) == "three two"


def test_mandarin_one_token_per_han_character():
    text = "今天天气好棒棒"
    vocab = Vocabulary.build([text])
    ids = vocab.encode(text)
    assert len(ids) == 7
    assert [vocab.tokens[i] for i in ids] == list(text)
    assert ids[1] == ids[2] and ids[5] == ids[6]  # 天天, 棒棒 share their token
    assert vocab.decode(ids) == text


def test_decode_skips_blanks_and_tidies_separators():
    vocab = Vocabulary.build(["ab c"])
    a, b, c, sep = (vocab.tokens.index(t) for t in ("a", "b", "c", SEPARATOR))
    assert vocab.decode([sep, a, 0, b, sep, sep, 0, c, sep]) == "ab c"
    assert vocab.decode([]) == ""


def test_unknown_characters_raise_naming_them():
    vocab = Vocabulary.build(["one two"])
    with pytest.raises(AsrError) as e:
        vocab.encode("one xyz")
    message = str(e.value)
    for c in "xyz":
        assert repr(c) in message
    assert vocab.unknown("one xyz") == {"x", "y", "z"}


def test_space_is_unknown_without_separator():
    vocab = Vocabulary.build(["今天天气好棒棒"])
    assert vocab.unknown("今天 好") == {" "}
    with pytest.raises(AsrError, match="' '"):
        vocab.encode("今天 好")


def test_to_dict_from_dict_round_trip():
    vocab = Vocabulary.build(["hello world", "今天"])
    d = vocab.to_dict()
    assert d["tokens"] == vocab.tokens
    again = Vocabulary.from_dict(d)
    assert again.tokens == vocab.tokens
    assert again.encode("hello 今天") == vocab.encode("hello 今天")


@pytest.mark.parametrize("change", [{"format": 2}, {"kind": "words"}])
def test_from_dict_rejects_unknown_format(change):
    d = {**Vocabulary.build(["ab"]).to_dict(), **change}
    with pytest.raises(AsrError, match="unsupported vocabulary"):
        Vocabulary.from_dict(d)


@pytest.mark.parametrize("tokens", [[], ["a", BLANK], [BLANK, "a", "a"]])
def test_constructor_rejects_bad_token_lists(tokens):
    with pytest.raises(AsrError):
        Vocabulary(tokens)
