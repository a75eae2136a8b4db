"""Transcript files: txt, json, jsonl, srt, vtt and tsv.

    with open("talk.srt", "w", encoding="utf-8") as f:
        writer = open_writer("srt", f, many=False)
        writer.write(Transcript("talk.wav", "hello world", words, duration=3.2))
        writer.close()

A writer turns Transcripts (plain data: text, timed words, n-best) into one
text stream. `many` says whether several transcripts share that stream
(stdout for several inputs) or each has a stream of its own (one input, or
a file per input). srt and vtt hold one recording's subtitles, so they
refuse `many=True`; a writer with `many=False` refuses a second transcript.

Subtitle formats (srt, vtt) and tsv show cues: words grouped by `cues()` at
pauses, at a line length and at a cue duration. All times are seconds in
the recording's time, written to the millisecond. Nothing is written before
the first transcript or `close()`, so a writer that is opened and dropped
on an error leaves its stream empty; headers (WEBVTT, the tsv header row,
the json array's bracket) are written even when no transcript follows, so
that an empty result is still a valid file.
"""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass, field
from typing import TextIO

from asr.errors import UsageError

FORMATS = ("txt", "json", "jsonl", "srt", "vtt", "tsv")

# A cue whose words all have zero length (end <= start) still lasts this long
# (seconds), so that no cue is empty in time; the next cue starts after it.
MIN_CUE = 0.001


class FormatError(UsageError, ValueError):
    """A format that does not exist, or one that cannot hold what is asked of it."""


@dataclass
class Transcript:
    """One input's transcript.

    `audio` is the input as the user named it (a path, a manifest utterance id,
    or "-" for stdin); `words` are objects with .word (str), .start and .end
    (seconds in the recording's time) and .confidence (0..1, or None);
    `duration` is the input's length in seconds; `nbest` holds (text, score)
    pairs, best first, when they were asked for.
    """

    audio: str
    text: str
    words: list
    duration: float
    nbest: list[tuple[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class CueSettings:
    """How words are grouped into subtitle cues: at most `max_chars` characters (the usual
    subtitle line limit) and `max_duration` seconds a cue; a gap between words of at least
    `pause` seconds ends a cue, so that no cue spans a long silence."""

    max_chars: int = 42
    max_duration: float = 7.0
    pause: float = 0.6


@dataclass
class Cue:
    """One subtitle: `text` shown from `start` to `end` (seconds)."""

    start: float
    end: float
    text: str


def _one_line(text: str) -> str:
    """`text` with every run of whitespace (tabs, newlines) made one space, ends stripped."""
    return " ".join(str(text).split())


def cues(words, settings: CueSettings = CueSettings(), joiner: str = " ") -> list[Cue]:
    """Group timed words (.word, .start, .end in seconds) into subtitle cues.

    A new cue starts at a gap of at least `settings.pause` seconds between one
    word's end and the next one's start, and before a word that would make the
    cue's text (words joined with `joiner`; "" for Mandarin characters) longer
    than `max_chars` or the cue longer than `max_duration` seconds. A word that
    alone exceeds a limit is a cue of its own. Words whose text is blank are
    skipped; words with end <= start are kept.

    A cue runs from its first word's start to the latest end among its words,
    but lasts at least MIN_CUE seconds and starts no earlier than the previous
    cue ends (neighbouring words may overlap a little), so that times never go
    back: cue i's start >= cue i-1's end. Negative times are taken as 0.
    """
    result: list[Cue] = []
    texts: list[str] = []
    start = end = 0.0
    last_end = 0.0  # the previous word's end, for the pause test
    for w in words:
        text = _one_line(w.word)
        if not text:
            continue
        w_start, w_end = max(0.0, float(w.start)), max(0.0, float(w.end))
        if texts and (
            w_start - last_end >= settings.pause
            or len(joiner.join(texts + [text])) > settings.max_chars
            or max(end, w_end) - start > settings.max_duration
        ):
            result.append(Cue(start, end, joiner.join(texts)))
            texts = []
        if not texts:
            start = max(w_start, result[-1].end if result else 0.0)
            end = start + MIN_CUE
        texts.append(text)
        end = max(end, w_end)
        last_end = w_end
    if texts:
        result.append(Cue(start, end, joiner.join(texts)))
    return result


def suffix(fmt: str) -> str:
    """The file suffix for format `fmt`: ".txt", ".json", ".jsonl", ".srt", ".vtt" or ".tsv"."""
    _check(fmt)
    return "." + fmt


def _check(fmt: str) -> None:
    """Raise FormatError unless `fmt` is one of FORMATS."""
    if fmt not in FORMATS:
        raise FormatError(f"unknown output format {fmt!r} (choose one of {', '.join(FORMATS)})")


def _number(x, places: int = 3):
    """`x` rounded to `places` decimals for JSON; None for None, NaN or infinity (not JSON)."""
    if x is None or not math.isfinite(float(x)):
        return None
    return round(float(x), places)


def to_dict(t: Transcript) -> dict:
    """The JSON object of a transcript (json and jsonl).

    {"audio", "text", "duration", "words": [{"word", "start", "end", "confidence"}],
    "nbest": [{"text", "score"}]}: seconds and confidences to 3 decimals, scores to 6;
    "confidence" only where known, "nbest" only when non-empty.
    """
    words = []
    for w in t.words:
        d = {"word": w.word, "start": _number(w.start), "end": _number(w.end)}
        confidence = getattr(w, "confidence", None)
        if confidence is not None:
            d["confidence"] = _number(confidence)
        words.append(d)
    d = {"audio": t.audio, "text": t.text, "duration": _number(t.duration), "words": words}
    if t.nbest:
        d["nbest"] = [{"text": text, "score": _number(score, 6)} for text, score in t.nbest]
    return d


def _timestamp(seconds: float, comma: bool) -> str:
    """HH:MM:SS,mmm (SubRip, comma=True) or HH:MM:SS.mmm (WebVTT); hours grow past 99."""
    ms = max(0, round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if comma else '.'}{ms:03d}"


class Writer:
    """Writes transcripts in one format to a stream; see `open_writer`."""

    def __init__(self, fmt: str, stream: TextIO, many: bool, cue_settings: CueSettings, joiner: str):
        _check(fmt)
        if many and fmt in ("srt", "vtt"):
            raise FormatError(f"{fmt} holds one recording's subtitles: write several inputs "
                              "to a file each (--output-dir)")
        self.fmt, self.stream, self.many = fmt, stream, many
        self.cue_settings, self.joiner = cue_settings, joiner
        self.count = 0  # transcripts written
        self.closed = False

    def write(self, t: Transcript) -> None:
        """Write one transcript (after the header, if it is the first)."""
        if self.closed:
            raise ValueError("write to a closed transcript writer")
        if self.count and not self.many:
            raise ValueError(f"a {self.fmt} writer with many=False takes one transcript")
        self.stream.write(self._head() if self.count == 0 else self._between())
        self.stream.write(self._render(t))
        self.count += 1

    def close(self) -> None:
        """Write the header if nothing was written, and the trailer; the stream stays open."""
        if self.closed:
            return
        if self.count == 0:
            self.stream.write(self._head())
        if self.fmt == "json" and self.many:
            self.stream.write("\n]\n" if self.count else "]\n")
        self.stream.flush()
        self.closed = True

    def _head(self) -> str:
        return {"vtt": "WEBVTT\n\n", "tsv": "audio\tstart\tend\ttext\n"}.get(
            self.fmt, "[\n" if self.fmt == "json" and self.many else "")

    def _between(self) -> str:
        return ",\n" if self.fmt == "json" else ""

    def _cues(self, t: Transcript) -> list[Cue]:
        """The transcript's cues, inside [0, duration] when the duration is known (> 0)."""
        if t.words:
            found = cues(t.words, self.cue_settings, self.joiner)
        else:  # a decoder without times: the whole text over the whole input
            text = _one_line(t.text)
            found = [Cue(0.0, max(0.0, float(t.duration)), text)] if text else []
        if t.duration > 0:
            for c in found:
                c.end = min(c.end, t.duration)
                c.start = min(c.start, c.end)
        return found

    def _render(self, t: Transcript) -> str:
        fmt = self.fmt
        if fmt == "txt":
            return f"{_one_line(t.audio)}\t{_one_line(t.text)}\n" if self.many else t.text + "\n"
        if fmt == "jsonl":
            return json.dumps(to_dict(t), ensure_ascii=False) + "\n"
        if fmt == "json":
            text = json.dumps(to_dict(t), ensure_ascii=False, indent=2)
            return textwrap.indent(text, "  ") if self.many else text + "\n"
        if fmt == "srt":
            return "".join(
                f"{i}\n{_timestamp(c.start, True)} --> {_timestamp(c.end, True)}\n"
                f"{c.text.replace('-->', '->')}\n\n"
                for i, c in enumerate(self._cues(t), 1))
        if fmt == "vtt":
            return "".join(
                f"{_timestamp(c.start, False)} --> {_timestamp(c.end, False)}\n{_escape(c.text)}\n\n"
                for c in self._cues(t))
        audio = _one_line(t.audio)
        return "".join(f"{audio}\t{c.start:.3f}\t{c.end:.3f}\t{c.text}\n" for c in self._cues(t))


def _escape(text: str) -> str:
    """Cue text for WebVTT: &, < and > as character references (so "-->" cannot occur)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def open_writer(fmt: str, stream: TextIO, many: bool, cue_settings: CueSettings = CueSettings(),
                joiner: str = " ") -> Writer:
    """A Writer of format `fmt` (one of FORMATS) to the text stream `stream`.

    many: True when several transcripts go to this stream (stdout for several
    inputs), False for one transcript per stream. Raises FormatError (a
    ValueError and a UsageError) for an unknown format, or for srt/vtt with
    many=True. `cue_settings` and `joiner` ("" for Mandarin) shape the cues of
    srt, vtt and tsv. Call .close() at the end; it does not close `stream`.
    """
    return Writer(fmt, stream, many, cue_settings, joiner)
