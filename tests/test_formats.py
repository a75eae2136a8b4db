"""Transcript writers: cue splitting, and every format read back by a strict reader."""

import io
import itertools
import json
import random
import re
from dataclasses import dataclass

import pytest

from asr.errors import UsageError
from asr.formats import FORMATS, Cue, CueSettings, Transcript, cues, open_writer, suffix


@dataclass
class W:
    word: str
    start: float
    end: float
    confidence: float | None = None


def write(fmt, transcripts, many, **kw):
    out = io.StringIO()
    writer = open_writer(fmt, out, many, **kw)
    for t in transcripts:
        writer.write(t)
    writer.close()
    assert not out.closed
    return out.getvalue()


# ---- strict readers ------------------------------------------------------------------

TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)SEP(\d{3})"
SRT_BLOCK = re.compile(
    r"(\d+)\n" + TIME.replace("SEP", ",") + " --> " + TIME.replace("SEP", ",") + r"\n((?:[^\n]+\n)+)\n")
VTT_BLOCK = re.compile(TIME.replace("SEP", r"\.") + " --> " + TIME.replace("SEP", r"\.") + r"\n((?:[^\n]+\n)+)\n")


def seconds(h, m, s, ms):
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def check_lines(text):
    lines = text[:-1].split("\n")
    for line in lines:
        assert line.strip(), f"blank text line in {text!r}"
        assert "-->" not in line
    return "\n".join(lines)


def parse_srt(s):
    """[(start, end, text)] of a SubRip file; fails on anything but numbered cues from 1."""
    result, pos = [], 0
    while pos < len(s):
        m = SRT_BLOCK.match(s, pos)
        assert m, f"not an SRT cue at offset {pos}: {s[pos:pos + 80]!r}"
        assert int(m.group(1)) == len(result) + 1
        g = m.groups()
        result.append((seconds(*g[1:5]), seconds(*g[5:9]), check_lines(g[9])))
        pos = m.end()
    return result


def parse_vtt(s):
    """[(start, end, text)] of a WebVTT file (no cue ids, no markup); text unescaped."""
    assert s.startswith("WEBVTT\n\n"), s[:20]
    result, pos = [], len("WEBVTT\n\n")
    while pos < len(s):
        m = VTT_BLOCK.match(s, pos)
        assert m, f"not a WebVTT cue at offset {pos}: {s[pos:pos + 80]!r}"
        g = m.groups()
        text = check_lines(g[8])
        assert "<" not in text and ">" not in text
        assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", text), text
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        result.append((seconds(*g[0:4]), seconds(*g[4:8]), text))
        pos = m.end()
    return result


# ---- cues ----------------------------------------------------------------------------

def test_cues_split_at_a_pause():
    words = [W("a", 0, 0.5), W("b", 0.75, 1.0), W("c", 1.5, 2.0), W("d", 2.25, 2.5)]
    # gaps: 0.25, 0.5 (= pause: splits), 0.25
    assert cues(words, CueSettings(pause=0.5)) == [Cue(0, 1.0, "a b"), Cue(1.5, 2.5, "c d")]


def test_cues_split_before_max_chars():
    words = [W("aaaa", 0, 1), W("bbbbb", 1, 2), W("c", 2, 3), W("dd", 3, 4)]
    # "aaaa bbbbb" is exactly 10 characters; "aaaa bbbbb c" would be 12
    assert cues(words, CueSettings(max_chars=10)) == [Cue(0, 2, "aaaa bbbbb"), Cue(2, 4, "c dd")]


def test_cues_split_before_max_duration():
    words = [W("a", 0, 1), W("b", 1, 2), W("c", 2, 3), W("d", 3, 5), W("e", 5, 5.5)]
    assert cues(words, CueSettings(max_duration=2)) == [
        Cue(0, 2, "a b"), Cue(2, 3, "c"), Cue(3, 5, "d"), Cue(5, 5.5, "e")]


def test_a_long_word_is_a_cue_of_its_own():
    words = [W("a", 0, 1), W("abcdefghijklmnop", 1, 2), W("b", 2, 3), W("c", 3, 4)]
    assert cues(words, CueSettings(max_chars=10)) == [
        Cue(0, 1, "a"), Cue(1, 2, "abcdefghijklmnop"), Cue(2, 4, "b c")]
    words = [W("a", 0, 1), W("long", 1, 11), W("b", 11, 12)]
    assert cues(words, CueSettings(max_duration=5)) == [
        Cue(0, 1, "a"), Cue(1, 11, "long"), Cue(11, 12, "b")]


def test_no_words_no_cues():
    assert cues([]) == []
    assert cues([W("", 0, 1), W(" \n", 1, 2)]) == []


def test_mandarin_characters_join_without_spaces():
    words = [W(ch, i * 0.25, (i + 1) * 0.25) for i, ch in enumerate("今天天气很好")]
    assert cues(words, CueSettings(max_chars=4), joiner="") == [
        Cue(0, 1.0, "今天天气"), Cue(1.0, 1.5, "很好")]


def test_zero_length_and_overlapping_words_keep_times_increasing():
    words = [W("a", 1.0, 1.0), W("b", 3.0, 2.5), W("c", 2.9, 4.0)]
    got = cues(words, CueSettings(pause=0.5, max_chars=2))
    assert [c.text for c in got] == ["a", "b", "c"]
    assert got[0] == Cue(1.0, 1.001, "a")          # a zero-length word lasts MIN_CUE
    assert got[1].start == 3.0 and got[1].end == pytest.approx(3.001)
    assert got[2].start == got[1].end and got[2].end == 4.0   # c overlapped b: starts at b's end
    for c in got:
        assert c.end > c.start
    for a, b in itertools.pairwise(got):
        assert b.start >= a.end


def test_negative_times_are_taken_as_zero():
    assert cues([W("a", -0.2, 0.5)]) == [Cue(0.0, 0.5, "a")]


def test_whitespace_inside_a_word_is_one_space():
    assert cues([W("new\nyork\t", 0, 1)]) == [Cue(0, 1, "new york")]


# ---- subtitles of a long recording ---------------------------------------------------

def long_transcript():
    """Over 2.5 hours, 1500 words with pauses, overlaps and zero-length words; a few need escaping."""
    rng = random.Random(0)
    vocab = ["the", "a", "speech", "recognition", "AT&T", "x<y", "b>c", "well", "extraordinarily",
             "ok", "supercalifragilisticexpialidocious-and-then-some"]
    words, t = [], 0.0
    for _ in range(1500):
        t += rng.choice([0.0, 0.0, 0.05, 0.1, 0.2, 0.7, 3.0, 60.0])
        length = rng.choice([0.0, 0.1, 0.2, 0.3, 0.3, 0.4, 0.6, 9.0])
        start = max(0.0, t - rng.choice([0.0, 0.0, 0.03]))   # sometimes overlaps the previous word
        words.append(W(rng.choice(vocab), round(start, 3), round(start + length, 3), rng.random()))
        t = start + length
    duration = round(t) + 10.0
    assert duration > 2.5 * 3600
    return Transcript("talk.wav", " ".join(w.word for w in words), words, duration)


@pytest.mark.parametrize("fmt,parse", [("srt", parse_srt), ("vtt", parse_vtt)])
def test_subtitles_of_a_long_recording_parse_strictly(fmt, parse):
    t = long_transcript()
    settings = CueSettings()
    got = parse(write(fmt, [t], many=False))
    assert len(got) > 100
    assert got[-1][0] > 2 * 3600
    assert " ".join(text for _, _, text in got) == t.text
    previous_end = 0.0
    for start, end, text in got:
        assert 0 <= start <= end <= t.duration
        assert start >= previous_end
        previous_end = end
        if " " in text:          # several words: within the limits
            assert len(text) <= settings.max_chars
            assert end - start <= settings.max_duration + 0.001


def test_hours_past_99():
    t = Transcript("x", "late", [W("late", 100 * 3600 + 1.5, 100 * 3600 + 2.25)], 100 * 3600 + 3)
    out = write("srt", [t], many=False)
    assert out == "1\n100:00:01,500 --> 100:00:02,250\nlate\n\n"
    assert parse_srt(out) == [(360001.5, 360002.25, "late")]


def test_milliseconds_are_rounded():
    t = Transcript("x", "hi", [W("hi", 0.0004, 1.2346)], 2.0)
    assert write("vtt", [t], many=False) == "WEBVTT\n\n00:00:00.000 --> 00:00:01.235\nhi\n\n"


def test_vtt_escapes_and_no_arrow_in_cue_text():
    words = [W("a&b", 0, 1), W("<i>", 1, 2), W("-->", 2, 3)]
    t = Transcript("x", "a&b <i> -->", words, 3.0)
    vtt = write("vtt", [t], many=False)
    assert "a&amp;b &lt;i&gt; --&gt;" in vtt
    assert parse_vtt(vtt) == [(0, 3, "a&b <i> -->")]
    srt = write("srt", [t], many=False)
    assert parse_srt(srt) == [(0, 3, "a&b <i> ->")]


def test_no_times_one_cue_over_the_input_no_text_no_cue():
    t = Transcript("x", "hello there", [], 4.5)
    assert parse_srt(write("srt", [t], many=False)) == [(0, 4.5, "hello there")]
    assert parse_vtt(write("vtt", [t], many=False)) == [(0, 4.5, "hello there")]
    assert write("tsv", [t], many=False) == "audio\tstart\tend\ttext\nx\t0.000\t4.500\thello there\n"
    empty = Transcript("x", "", [], 4.5)
    assert write("srt", [empty], many=False) == ""
    assert write("vtt", [empty], many=False) == "WEBVTT\n\n"
    assert write("tsv", [empty], many=False) == "audio\tstart\tend\ttext\n"


def test_cues_are_kept_inside_the_duration():
    t = Transcript("x", "a b", [W("a", 0, 1), W("b", 2.9, 3.2)], 3.0)
    assert parse_srt(write("srt", [t], many=False)) == [(0, 1, "a"), (2.9, 3.0, "b")]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_refuse_several_inputs(fmt):
    with pytest.raises(ValueError, match="--output-dir"):
        open_writer(fmt, io.StringIO(), many=True)
    with pytest.raises(UsageError):
        open_writer(fmt, io.StringIO(), many=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_per_stream_refuses_a_second_transcript(fmt):
    writer = open_writer(fmt, io.StringIO(), many=False)
    writer.write(Transcript("x", "a", [], 1.0))
    with pytest.raises(ValueError):
        writer.write(Transcript("y", "b", [], 1.0))


# ---- json, jsonl, tsv, txt -----------------------------------------------------------

def sample(i):
    words = [W("hello", 0.1234, 0.5678, 0.98765), W("world", 0.6, 1.0, None)]
    return Transcript(f"a{i}.wav", "hello world", words, 1.23456)


EXPECTED = {"text": "hello world", "duration": 1.235,
            "words": [{"word": "hello", "start": 0.123, "end": 0.568, "confidence": 0.988},
                      {"word": "world", "start": 0.6, "end": 1.0}]}


@pytest.mark.parametrize("n", [0, 1, 3])
def test_json_array_for_several_inputs(n):
    out = write("json", [sample(i) for i in range(n)], many=True)
    assert json.loads(out) == [{"audio": f"a{i}.wav", **EXPECTED} for i in range(n)]
    assert out.endswith("]\n")


def test_json_one_object_per_file():
    t = sample(0)
    t.nbest = [("hello world", -1.5), ("hello word", -2.25)]
    out = write("json", [t], many=False)
    assert json.loads(out) == {"audio": "a0.wav", **EXPECTED, "nbest": [
        {"text": "hello world", "score": -1.5}, {"text": "hello word", "score": -2.25}]}
    assert "\n  " in out                   # indented


def test_jsonl_one_object_a_line():
    out = write("jsonl", [sample(i) for i in range(3)], many=True)
    lines = out.splitlines()
    assert len(lines) == 3 and out.endswith("\n")
    for i, line in enumerate(lines):
        d = json.loads(line)
        assert d == {"audio": f"a{i}.wav", **EXPECTED}
        assert "confidence" not in d["words"][1]
        assert "nbest" not in d


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_mandarin_stays_unescaped(fmt):
    t = Transcript("中文.wav", "今天", [W("今", 0, 0.5), W("天", 0.5, 1.0)], 1.0)
    out = write(fmt, [t], many=True)
    assert "今天" in out and "中文.wav" in out and "\\u" not in out
    d = json.loads(out)
    assert (d[0] if fmt == "json" else d)["text"] == "今天"


def test_tsv_header_once_and_a_row_per_cue():
    words = [W("a", 0, 0.5), W("b", 2, 2.5), W("c\td", 2.5, 3)]
    t1, t2 = Transcript("one.wav", "a b c d", words, 3.0), Transcript("two\t.wav", "hi", [], 1.0)
    out = write("tsv", [t1, t2], many=True)
    assert out == ("audio\tstart\tend\ttext\n"
                   "one.wav\t0.000\t0.500\ta\n"
                   "one.wav\t2.000\t3.000\tb c d\n"
                   "two .wav\t0.000\t1.000\thi\n")
    assert write("tsv", [], many=True) == "audio\tstart\tend\ttext\n"


def test_txt_one_and_many():
    t = Transcript("a.wav", "hello world", [], 1.0)
    assert write("txt", [t], many=False) == "hello world\n"
    u = Transcript("b.wav", "two\nlines", [], 1.0)
    assert write("txt", [t, u], many=True) == "a.wav\thello world\nb.wav\ttwo lines\n"
    assert write("txt", [], many=True) == ""


def test_nothing_written_before_the_first_transcript_or_close():
    out = io.StringIO()
    for fmt in ("json", "tsv"):
        open_writer(fmt, out, many=True)
    open_writer("vtt", out, many=False)
    assert out.getvalue() == ""


def test_write_after_close_fails():
    writer = open_writer("jsonl", io.StringIO(), many=True)
    writer.close()
    writer.close()                         # twice is harmless
    with pytest.raises(ValueError):
        writer.write(sample(0))


def test_suffixes_and_unknown_formats():
    assert [suffix(f) for f in FORMATS] == [".txt", ".json", ".jsonl", ".srt", ".vtt", ".tsv"]
    with pytest.raises(ValueError, match="txt, json"):
        suffix("docx")
    with pytest.raises(ValueError):
        open_writer("docx", io.StringIO(), many=False)
