"""Forced alignment: known paths through hand-built posteriors, words for the three kinds of
vocabulary, the errors, the plot; and word times on synthetic speech whose word positions are known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from asr.align import AlignError, TokenSpan, WordSpan, align, to_seconds, word_spans
from asr.errors import AsrError
from speech import VOICES, spoken_digits

MANDARIN = ["<blank>", "好", "棒"]
LETTERS = ["<blank>", "|", "a", "b", "c"]
PIECES = ["<blank>", "▁a", "b", "▁c", "▁ab"]


def posteriors(path: list[int], size: int, p: float = 0.9) -> torch.Tensor:
    """(len(path), size) log-probabilities: probability `p` on path[t] at frame t, the rest shared."""
    probs = torch.full((len(path), size), (1 - p) / (size - 1))
    probs[torch.arange(len(path)), torch.tensor(path)] = p
    return probs.log()


def runs(spans: list[TokenSpan]) -> list[tuple[int, int, int]]:
    return [(s.token, s.start, s.end) for s in spans]


# ---- align ------------------------------------------------------------------------------

def test_the_best_path_comes_back_with_merged_repeats_and_blanks_between_repeats():
    # 好棒棒: 好 for two frames, 棒, a blank, 棒 for two frames
    path = [0, 1, 1, 0, 2, 0, 2, 2, 0]
    spans = align(posteriors(path, 3), [1, 2, 2])
    assert runs(spans) == [(1, 1, 3), (2, 4, 5), (2, 6, 8)]
    assert all(math.isclose(s.score, 0.9, rel_tol=1e-5) for s in spans)


def test_repeats_fit_in_exactly_the_frames_they_need():
    # 好棒棒 needs 4 frames: one per token and the blank that separates 棒 from 棒
    spans = align(posteriors([1, 2, 0, 2], 3), [1, 2, 2])
    assert runs(spans) == [(1, 0, 1), (2, 1, 2), (2, 3, 4)]


def test_the_text_overrules_the_posteriors():
    # Frame 1 prefers token 3, which is not in the text: the path keeps token 1 there
    # (0.2 beats the blank's and token 2's 0.05), and the score is the mean over the span.
    probs = torch.tensor([[0.05, 0.9, 0.025, 0.025],
                          [0.05, 0.2, 0.05, 0.7],
                          [0.05, 0.025, 0.9, 0.025]])
    spans = align(probs.log(), [1, 2])
    assert runs(spans) == [(1, 0, 2), (2, 2, 3)]
    assert math.isclose(spans[0].score, (0.9 + 0.2) / 2, rel_tol=1e-5)


def test_log_probs_of_other_dtypes_are_aligned_in_float32():
    spans = align(posteriors([0, 1, 0, 2], 3).to(torch.bfloat16), [1, 2])
    assert runs(spans) == [(1, 1, 2), (2, 3, 4)] and isinstance(spans[0].score, float)


@pytest.mark.parametrize("frames, targets, message", [
    (3, [1, 2, 2], "needs at least 4 output frames .* the audio has 3"),
    (9, [], "nothing to align"),
    (9, [0, 1], r"token ids \[0\] cannot be aligned: the blank is 0 and the model has 3 outputs"),
    (9, [1, 7], r"token ids \[7\] cannot be aligned"),
])
def test_what_cannot_be_aligned_is_an_align_error_that_says_why(frames, targets, message):
    with pytest.raises(AlignError, match=message) as e:
        align(posteriors([1] * frames, 3), targets)
    assert isinstance(e.value, AsrError)


def test_a_text_of_probability_zero_is_an_align_error():
    with pytest.raises(AlignError, match="no path"):
        align(torch.full((5, 3), -math.inf), [1, 2])
    never_two = posteriors([0, 1, 0, 1, 0], 3)
    never_two[:, 2] = -math.inf
    with pytest.raises(AlignError, match="no path"):
        align(never_two, [1, 2])


def test_log_probs_must_be_one_utterance():
    with pytest.raises(ValueError, match="frames, vocabulary"):
        align(posteriors([0, 1], 3)[None], [1])


# ---- words ------------------------------------------------------------------------------

def test_words_of_characters_with_a_separator():
    # "ab c": a b | c; the separator's span belongs to no word
    spans = align(posteriors([0, 2, 0, 3, 3, 0, 1, 0, 4, 0], 5), [2, 3, 1, 4])
    words = word_spans(spans, LETTERS, "|", None, pad=0)
    assert [(w.word, w.start, w.end) for w in words] == [("ab", 1, 5), ("c", 8, 9)]
    assert all(math.isclose(w.score, 0.9, rel_tol=1e-5) for w in words)


def test_words_of_subword_units_begin_at_the_word_start_mark():
    # "ab c ab" as ▁a b ▁c ▁ab
    spans = align(posteriors([1, 0, 2, 2, 0, 3, 0, 0, 4, 0], 5), [1, 2, 3, 4])
    words = word_spans(spans, PIECES, None, "▁", pad=0)
    assert [(w.word, w.start, w.end) for w in words] == [("ab", 0, 4), ("c", 5, 6), ("ab", 8, 9)]


def test_every_character_is_a_word_without_separator_or_word_start():
    spans = align(posteriors([0, 1, 1, 0, 2, 0, 2, 2, 0], 3), [1, 2, 2])
    words = word_spans(spans, MANDARIN, None, None, pad=0)
    assert [(w.word, w.start, w.end) for w in words] == [("好", 1, 3), ("棒", 4, 5), ("棒", 6, 8)]


def test_words_are_padded_into_the_blanks_around_them_up_to_half_way_to_the_next():
    # "ab c" spoken as a b | c: tokens at frames 1-4, the separator at 6, c at 8
    spans = align(posteriors([0, 2, 0, 3, 3, 0, 1, 0, 4, 0], 5), [2, 3, 1, 4])

    def padded(**kw):
        return [(w.word, w.start, w.end) for w in word_spans(spans, LETTERS, "|", None, **kw)]

    assert padded() == [("ab", 0, 6), ("c", 7, 10)]  # one frame by default; the separator is no wall
    assert padded(pad=2, frames=10) == [("ab", 0, 6), ("c", 6, 10)]  # they meet half-way; the end is kept
    assert padded(pad=3) == [("ab", 0, 6), ("c", 6, 12)]
    # 好棒棒 with one blank between words: the later word takes the odd frame
    spans = align(posteriors([0, 1, 1, 0, 2, 0, 2, 2, 0], 3), [1, 2, 2])
    words = word_spans(spans, MANDARIN, None, None, frames=9)
    assert [(w.start, w.end) for w in words] == [(0, 3), (3, 5), (5, 9)]
    with pytest.raises(ValueError, match="pad"):
        word_spans(spans, MANDARIN, None, None, pad=-1)


def test_a_word_score_is_the_mean_posterior_over_its_frames():
    spans = [TokenSpan(2, 0, 1, 0.5), TokenSpan(3, 1, 4, 0.9)]
    (word,) = word_spans(spans, LETTERS, "|", None)
    assert math.isclose(word.score, (0.5 + 3 * 0.9) / 4)


def test_spans_in_seconds_for_json():
    assert to_seconds(7, 0.03) == 0.21
    assert WordSpan("ab", 1, 5, 0.91234).to_dict(0.03) == {"word": "ab", "start": 0.03, "end": 0.15, "score": 0.9123}
    assert TokenSpan(2, 3, 4, 0.5).to_dict(0.03) == {"token": 2, "start": 0.09, "end": 0.12, "score": 0.5}
    assert TokenSpan(2, 3, 4, 0.5).to_dict(0.03, LETTERS)["token"] == "a"


# ---- the plot ---------------------------------------------------------------------------

def test_the_plot_is_a_png(tmp_path):
    from asr.alignplot import plot

    log_probs = posteriors([0, 2, 0, 3, 3, 0, 1, 0, 4, 0], 5)
    words = word_spans(align(log_probs, [2, 3, 1, 4]), LETTERS, "|", None)
    out = plot(tmp_path / "align.png", torch.randn(30, 20), log_probs, LETTERS, words,
               feature_seconds=0.01, frame_seconds=0.03, title="utt-1: ab c")
    assert out == tmp_path / "align.png"
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


# ---- word times on synthetic speech -----------------------------------------------------

TOLERANCE = 0.1  # seconds


@pytest.mark.slow
def test_word_times_on_synthetic_speech_are_within_a_tenth_of_a_second(digits_model):
    from asr import record
    from asr.recognizer import Recognizer
    from asr.text import normalize

    model = record.load(digits_model)
    recognizer = Recognizer(model)
    rng = np.random.default_rng(0)
    errors, unpadded, words = [], [], 0
    for k in range(12):
        voice, wpm = VOICES[k % len(VOICES)]
        wave, truth = spoken_digits(rng, voice, wpm, model.features.sample_rate)
        features = recognizer.features(torch.from_numpy(wave))
        with torch.no_grad():
            log_probs, lengths = recognizer.model(features[None], torch.tensor([features.shape[0]]))
        text = " ".join(word for word, _, _ in truth)
        frames = int(lengths[0])
        spans = align(log_probs[0, :frames], model.vocab.encode(normalize(text, model.text)))
        found = word_spans(spans, model.vocab.tokens, model.vocab.separator, model.vocab.word_start, frames=frames)
        assert [w.word for w in found] == text.split()
        step = recognizer.frame_seconds
        for (_, start, end), w in zip(truth, found):
            errors += [w.start * step - start, w.end * step - end]
        for (_, start, end), w in zip(truth, word_spans(spans, model.vocab.tokens, model.vocab.separator, model.vocab.word_start, pad=0)):
            unpadded += [w.start * step - start, w.end * step - end]
        words += len(truth)
    errors, unpadded = np.abs(np.array(errors)), np.abs(np.array(unpadded))
    share = float(np.mean(errors <= TOLERANCE))
    print(f"\n{words} words: {share:.1%} of starts and ends within {TOLERANCE} s; "
          f"error mean {errors.mean():.3f} s, max {errors.max():.3f} s "
          f"(without padding: {np.mean(unpadded <= TOLERANCE):.1%}, mean {unpadded.mean():.3f} s, "
          f"max {unpadded.max():.3f} s)")
    assert share >= 0.95, f"{share:.1%} of word boundaries within {TOLERANCE} s (mean {errors.mean():.3f} s)"
