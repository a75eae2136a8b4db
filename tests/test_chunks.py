"""Long recordings in pieces: cuts at pauses, forced cuts with context, the pieces tile the
recording, and words from the pieces are merged without drops or doubles."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from asr.chunks import ChunkSettings, Piece, pieces
from asr.decoding import Hypothesis
from asr.errors import AudioError, ConfigError
from asr.recognizer import Result, Word
from asr.transcribe import kept_words

RATE = 16000


def bursts(spans: list[tuple[float, float]], total: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """`total` seconds of faint noise (60 dB down) with loud noise ("speech") in each (start, end)."""
    rng = np.random.default_rng(seed)
    wave = 0.0005 * rng.standard_normal(int(total * rate))
    for start, end in spans:
        wave[int(start * rate):int(end * rate)] = 0.3 * rng.standard_normal(int(end * rate) - int(start * rate))
    return wave.astype(np.float32)


def write(path, wave, rate=RATE):
    sf.write(path, wave, rate, subtype="PCM_16")
    return path


def test_a_recording_up_to_a_chunk_is_one_piece_all_of_it(tmp_path):
    path = write(tmp_path / "a.wav", bursts([(0.5, 2.0), (3.0, 4.0)], 5.0))
    (piece,) = pieces(path, RATE, ChunkSettings(chunk=5.0))
    assert piece.last and piece.offset == 0.0 and piece.wave.numel() == 5 * RATE
    assert piece.keep == (float("-inf"), float("inf"))


def test_cuts_fall_in_the_pauses_and_long_silence_is_skipped(tmp_path):
    speech = [(0.5, 2.5), (3.0, 5.0), (5.6, 8.0), (12.0, 14.0), (14.5, 17.5)]  # 0.5, 0.6, 4.0, 0.5 s gaps
    path = write(tmp_path / "a.wav", bursts(speech, 18.5))
    found = list(pieces(path, RATE, ChunkSettings(chunk=10.0, pause=0.3, margin=0.5, context=1.0)))
    assert [p.last for p in found] == [False] * (len(found) - 1) + [True]
    assert len(found) == len(speech)  # one piece per stretch of speech
    for piece, (start, end) in zip(found, speech):
        assert piece.offset <= start and piece.end >= end  # all of its speech, and none of the next
        lo, hi = piece.keep
        assert lo <= start and end <= hi
    gaps = [(a[1], b[0]) for a, b in zip(speech, speech[1:])]
    for piece, (gap_start, gap_end) in zip(found, gaps):
        assert gap_start <= piece.keep[1] <= gap_end  # cut inside the pause
    # the 4 s silence: each side keeps at most `margin` of it
    assert found[2].end == pytest.approx(8.0 + 0.5, abs=0.05)
    assert found[3].offset == pytest.approx(12.0 - 0.5, abs=0.05)
    # pieces never overlap at a pause (no context needed there)
    for a, b in zip(found, found[1:]):
        assert a.end <= b.offset + 1e-9


def test_without_pauses_cuts_are_forced_with_context_on_both_sides(tmp_path):
    wave = bursts([(0.0, 47.0)], 47.0)
    wave[int(9.0 * RATE):int(9.2 * RATE)] *= 0.05  # the quietest place in the first search window
    path = write(tmp_path / "a.wav", wave)
    settings = ChunkSettings(chunk=10.0, search=3.0, context=1.0)
    found = list(pieces(path, RATE, settings))
    assert found[0].keep[1] == pytest.approx(9.1, abs=0.02)  # the middle of the quiet stretch
    for a, b in zip(found, found[1:]):
        assert a.keep[1] == b.keep[0]  # the keep spans tile the recording
        assert a.end == pytest.approx(a.keep[1] + 1.0, abs=1e-3)  # context after the cut
        assert b.offset == pytest.approx(b.keep[0] - 1.0, abs=1e-3)  # and before it
        assert settings.chunk - settings.search <= a.keep[1] - max(a.keep[0], 0.0) <= settings.chunk + 1e-9
    assert found[-1].last and found[-1].end == pytest.approx(47.0, abs=1e-3)
    for p in found:
        assert p.wave.numel() / RATE <= settings.chunk + 2 * settings.context + 1e-6


def test_pieces_hold_the_recordings_samples_resampled(tmp_path):
    wave = bursts([(0.5, 6.0), (7.0, 14.0), (15.0, 19.5)], 20.0, rate=8000)
    path = write(tmp_path / "a.wav", wave, rate=8000)
    found = list(pieces(path, RATE, ChunkSettings(chunk=8.0)))
    assert len(found) == 3
    from asr import audio

    whole = audio.load(path, RATE)
    for p in found:
        start = int(round(p.offset * RATE))
        inner = slice(200, p.wave.numel() - 200)  # resampling edges aside
        assert torch.allclose(p.wave[inner], whole[start:start + p.wave.numel()][inner], atol=2e-3)


def test_a_segment_is_cut_in_its_own_time(tmp_path):
    path = write(tmp_path / "a.wav", bursts([(10.5, 14.0), (15.0, 19.0), (19.5, 24.0)], 30.0))
    found = list(pieces(path, RATE, ChunkSettings(chunk=5.0), offset=10.0, duration=14.0))
    assert found[0].offset <= 0.5 and found[-1].end == pytest.approx(14.0, abs=1e-3)
    assert len(found) == 3


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="chunk"):
        ChunkSettings(chunk=0.2).check()
    with pytest.raises(ConfigError, match="quiet"):
        ChunkSettings(quiet=1.5).check()


def test_an_unreadable_recording_is_an_audio_error(tmp_path):
    path = tmp_path / "a.wav"
    path.write_text("not audio")
    with pytest.raises(AudioError, match="a.wav"):
        list(pieces(path, RATE))


def result(words: list[tuple[str, float, float]]) -> Result:
    return Result(" ".join(w for w, _, _ in words), [Word(w, s, e, 0.9) for w, s, e in words],
                  Hypothesis([], [], 0.0))


def test_merge_takes_each_word_from_the_piece_whose_keep_span_holds_its_middle():
    # pieces overlap by 1 s of context either side of the cuts at 10 and 19 s
    a = Piece(torch.zeros(11 * RATE), RATE, 0.0, (float("-inf"), 10.0), False)
    b = Piece(torch.zeros(11 * RATE), RATE, 9.0, (10.0, 19.0), False)
    c = Piece(torch.zeros(6 * RATE), RATE, 18.0, (19.0, float("inf")), True)
    parts = [
        (a, result([("one", 1.0, 2.0), ("two", 9.2, 10.4), ("three", 10.5, 10.9)])),  # "two": middle 9.8
        (b, result([("two", 0.2, 1.4), ("three", 1.5, 1.9), ("four", 9.6, 10.2)])),  # in b's time: +9
        (c, result([("four", 0.6, 1.2), ("five", 2.0, 3.0)])),  # "four" middle 18.9 + ... in c's time: +18
    ]
    words = [w for piece, r in parts for w in kept_words(piece, r)]
    assert [(w.word, round(w.start, 3), round(w.end, 3), w.confidence) for w in words] == [
        ("one", 1.0, 2.0, 0.9), ("two", 9.2, 10.4, 0.9), ("three", 10.5, 10.9, 0.9), ("four", 18.6, 19.2, 0.9),
        ("five", 20.0, 21.0, 0.9)]


