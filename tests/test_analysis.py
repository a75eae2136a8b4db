"""asr.analysis: diffs and counts from jiwer's alignments against hand-computed cases, confusions,
the worst utterances, breakdowns by speaker and duration bucket, agreement with metrics.error_rates."""

import json

import pytest

from asr.analysis import (
    CSV_COLUMNS,
    Edits,
    Op,
    align,
    analyse,
    bucket,
    bucket_name,
    by_duration,
    by_speaker,
    confusions,
    rows,
    score,
    unit_of,
    worst,
)
from asr.metrics import error_rates


def rec(id, ref, hyp, speaker=None, duration=None):
    r = {"id": id, "ref": ref, "hyp": hyp}
    if speaker is not None:
        r["speaker"] = speaker
    if duration is not None:
        r["duration"] = duration
    return r


def test_two_substitutions_by_word():
    (edits, ops), = align(["the cat sat on the mat"], ["the cat sit on mat mat"], "word")
    assert ops == (Op("equal", "the", "the"), Op("equal", "cat", "cat"), Op("substitute", "sat", "sit"),
                   Op("equal", "on", "on"), Op("substitute", "the", "mat"), Op("equal", "mat", "mat"))
    assert edits == Edits(substitutions=2, deletions=0, insertions=0, length=6)
    assert edits.errors == 2 and edits.rate == pytest.approx(2 / 6)


def test_the_same_pair_by_character():
    (edits, ops), = align(["the cat sat on the mat"], ["the cat sit on mat mat"], "char")
    # sat->sit: 1 substitution; "the"->"mat": 3 substitutions; 22 characters with the spaces
    assert edits == Edits(4, 0, 0, 22)
    assert [op for op in ops if op.kind != "equal"] == [Op("substitute", "a", "i"), Op("substitute", "t", "m"),
                                                         Op("substitute", "h", "a"), Op("substitute", "e", "t")]


def test_insertion_at_the_start_and_a_deletion():
    (e1, ops1), (e2, ops2) = align(["a b", "one two three"], ["x a b", "one three"], "word")
    assert ops1 == (Op("insert", "", "x"), Op("equal", "a", "a"), Op("equal", "b", "b"))
    assert e1 == Edits(0, 0, 1, 2)
    assert ops2 == (Op("equal", "one", "one"), Op("delete", "two", ""), Op("equal", "three", "three"))
    assert e2 == Edits(0, 1, 0, 3)


def test_mandarin_is_diffed_by_character():
    assert unit_of(["好棒"]) == "char" and unit_of(["the cat"]) == "word"
    s, = score([rec("zh", "好棒", "好棒棒")])
    assert s.ops == (Op("equal", "好", "好"), Op("equal", "棒", "棒"), Op("insert", "", "棒"))
    assert s.chars == Edits(0, 0, 1, 2) and s.cer == 0.5
    assert s.words == Edits(1, 0, 0, 1) and s.wer == 1.0  # the whole unspaced sentence is one "word"
    a = analyse([rec("zh", "好棒", "好棒棒")])
    assert a.unit == "char" and a.confusions.unit == "char"
    assert a.confusions.insertions == [("棒", 1)] and a.confusions.substitutions == []


def test_an_empty_reference_makes_every_hypothesis_token_an_insertion():
    s, = score([rec("e", "", "oh no")])
    assert s.ops == (Op("insert", "", "oh"), Op("insert", "", "no"))
    assert s.words == Edits(0, 0, 2, 0) and s.chars == Edits(0, 0, 5, 0)


@pytest.mark.parametrize("pairs", [
    [("the cat sat on the mat", "the cat sit on mat mat"), ("a b", "x a b"), ("", "oh no"), ("yes", "")],
    [("今天天气好", "今天天汽好"), ("好棒", "好棒棒"), ("你好", "")],
    [("one", "one")],
])
def test_the_summary_agrees_with_error_rates(pairs):
    a = analyse([rec(str(i), r, h) for i, (r, h) in enumerate(pairs)])
    rates = error_rates([r for r, _ in pairs], [h for _, h in pairs])
    s = a.summary
    assert (s.words.substitutions, s.words.deletions, s.words.insertions, s.words.length) == \
        (rates.substitutions, rates.deletions, rates.insertions, rates.words)
    assert s.wer == pytest.approx(rates.wer) and s.cer == pytest.approx(rates.cer)
    assert s.utterances == rates.utterances
    assert s.sentence_errors == sum(r != h for r, h in pairs)


def test_confusions_count_pairs_and_tokens_most_frequent_first():
    scored = score([rec("1", "the cat sat on the mat", "the cat sit on mat mat"), rec("2", "sat down", "sit"),
                    rec("3", "a b", "x a b x"), rec("4", "go now", "go")])
    c = confusions(scored, "word")
    # "sat down" -> "sit": sat->sit and down deleted (one substitution + one deletion, jiwer's alignment)
    assert c.substitutions == [("sat", "sit", 2), ("the", "mat", 1)]
    assert c.deletions == [("down", 1), ("now", 1)]
    assert c.insertions == [("x", 2)]
    assert confusions(scored, "word", top=1).substitutions == [("sat", "sit", 2)]


def test_worst_utterances_most_errors_first_and_never_a_correct_one():
    scored = score([rec("ok", "a b", "a b"), rec("one", "a b c d", "a b c x"), rec("two", "a b", "x y"),
                    rec("two-long", "a b c d", "x y c d")])
    assert [s.id for s in worst(scored, 10, "word")] == ["two", "two-long", "one"]  # ties: higher rate first
    assert [s.id for s in worst(scored, 1, "word")] == ["two"]
    assert worst(score([rec("ok", "a", "a")]), 10, "word") == []


@pytest.mark.parametrize("seconds, index, name", [
    (0.5, 0, "<2 s"), (1.99, 0, "<2 s"), (2.0, 1, "2-5 s"), (4.9, 1, "2-5 s"), (5.0, 2, "5-10 s"),
    (10.0, 3, "10-20 s"), (19.99, 3, "10-20 s"), (20.0, 4, ">20 s"), (300.0, 4, ">20 s"),
])
def test_duration_buckets(seconds, index, name):
    assert bucket(seconds) == index and bucket_name(index) == name


def test_by_duration_has_only_the_buckets_in_use():
    scored = score([rec("a", "a b", "a b", duration=1.0), rec("b", "a b", "a x", duration=1.5),
                    rec("c", "a b c d", "a b c", duration=12.0), rec("d", "x", "y")])  # d: duration unknown
    groups = by_duration(scored)
    assert [(g.name, g.utterances, g.words.length, g.words.errors) for g in groups] == \
        [("<2 s", 2, 4, 1), ("10-20 s", 1, 4, 1)]
    assert groups[0].wer == 0.25 and groups[0].ser == 0.5 and groups[0].seconds == 2.5


def test_by_speaker_worst_first_and_skipped_without_speakers():
    assert by_speaker(score([rec("a", "a", "b")]), "word") == []
    scored = score([rec("1", "a b", "a b", speaker="s1"), rec("2", "a b", "a x", speaker="s2"),
                    rec("3", "a b", "a b", speaker="s2"), rec("4", "a", "b")])
    groups = by_speaker(scored, "word")
    assert [(g.name, g.utterances, g.wer) for g in groups] == [("(none)", 1, 1.0), ("s2", 2, 0.25), ("s1", 1, 0.0)]


def test_analysis_is_plain_data():
    a = analyse([rec("1", "the cat sat", "the cat sit", "s1", 3.0), rec("2", "a", "a", "s2", 25.0)], worst_n=5)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["unit"] == "word" and d["summary"]["words"]["substitutions"] == 1
    assert d["worst"] == [{"id": "1", "speaker": "s1", "duration": 3.0, "ref": "the cat sat", "hyp": "the cat sit",
                           "errors": 1, "wer": 1 / 3, "cer": 1 / 11,
                           "ops": [["equal", "the", "the"], ["equal", "cat", "cat"], ["substitute", "sat", "sit"]]}]
    assert d["confusions"]["substitutions"] == [["sat", "sit", 1]]
    assert [g["name"] for g in d["by_duration"]] == ["2-5 s", ">20 s"]
    assert [g["name"] for g in d["by_speaker"]] == ["s1", "s2"]


def test_csv_rows():
    r = rows(score([rec("1", "the cat sat", "the cat sit", "s1", 3.0), rec("2", "a", "", None, None)]))
    assert list(r[0]) == list(CSV_COLUMNS)
    assert r[0] == {"id": "1", "speaker": "s1", "duration": 3.0, "ref": "the cat sat", "hyp": "the cat sit",
                    "errors": 1, "words": 3, "wer": 0.3333, "cer": 0.0909}
    assert r[1]["speaker"] == "" and r[1]["duration"] == "" and r[1]["errors"] == 1 and r[1]["wer"] == 1.0
