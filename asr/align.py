"""CTC forced alignment: where each token and word of a known text is in the model's output.

    spans = align(log_probs, targets)                       # log_probs (T', V), one utterance
    words = word_spans(spans, vocab.tokens, vocab.separator, vocab.word_start)
    [w.to_dict(frame_seconds) for w in words]               # {"word", "start", "end", "score"}

Frames are the model's output frames (after its subsampling), end exclusive;
seconds are frames times `frame_seconds` (the feature hop times the model's
subsampling, e.g. 10 ms x 3), converted by the caller or `to_seconds`.

`align` finds the most probable CTC path that spells the targets
(`torchaudio.functional.forced_align`, Viterbi over the blank-interleaved
targets) and merges its frames into one span per target token: a repeated
token ("好棒棒") is two spans with at least one blank frame between them. A
span's score is the mean posterior probability of its token over its frames.

CTC posteriors are peaky: a token is emitted on a spike of one or a few
frames where the model is sure of it, and the blank takes the frames around,
the weak edges of a word included (a first /f/ or a final /s/). A word's
tokens therefore cover less than its audio; `word_spans` runs a word from its
first token's start to its last token's end (where the blank or separator run
after it begins) and widens it by `pad` frames on either side (one by
default), into the blank and separator frames around it but never past
half-way to the neighbouring word. The separator is no boundary here: models
tend to emit it at the very start of the next word.

Words come from token strings, for the three kinds of vocabulary:
characters with a separator token ("|" between words, no part of any word),
subword units with a word-start mark glued to a word's first piece ("▁"),
and characters with neither (Mandarin: every character is a word).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torchaudio.functional as F

from asr.data import ctc_frames_needed
from asr.errors import AsrError

# Words are widened by one output frame (30 ms at a 10 ms hop and subsampling 3) on either
# side. Measured on synthetic digits (tests/test_align.py: words spoken apart, truth from
# the synthesised audio) with four small GRU models, each on about 160 words x 3 sets: the
# token spans of a word were 70-90 ms shorter than its audio on average; within 0.1 s of the
# truth were 88-99 % of word starts and ends unpadded, 95-99.7 % with one frame (mean error
# 0.032-0.036 s instead of 0.042-0.051 s) and 95-99 % with two.
PAD_FRAMES = 1


class AlignError(AsrError):
    """A text cannot be aligned to an utterance's log-probabilities."""


@dataclass(frozen=True)
class TokenSpan:
    """One target token on the best CTC path: output frames [start, end), mean posterior `score`."""

    token: int
    start: int
    end: int
    score: float

    def to_dict(self, frame_seconds: float, tokens: Sequence[str] | None = None) -> dict:
        """JSON-ready: the token (its string when `tokens` is given, else its id), seconds, score."""
        return {"token": tokens[self.token] if tokens is not None else self.token,
                "start": to_seconds(self.start, frame_seconds), "end": to_seconds(self.end, frame_seconds),
                "score": round(self.score, 4)}


@dataclass(frozen=True)
class WordSpan:
    """One word: output frames [start, end), mean posterior `score` of its tokens' frames."""

    word: str
    start: int
    end: int
    score: float

    def to_dict(self, frame_seconds: float) -> dict:
        """JSON-ready: {"word", "start", "end" (seconds, 3 decimals), "score"}."""
        return {"word": self.word, "start": to_seconds(self.start, frame_seconds),
                "end": to_seconds(self.end, frame_seconds), "score": round(self.score, 4)}


def to_seconds(frame: int, frame_seconds: float) -> float:
    """The time of output frame boundary `frame` in seconds, to the millisecond."""
    return round(frame * frame_seconds, 3)


def align(log_probs: torch.Tensor, targets: Sequence[int], blank: int = 0) -> list[TokenSpan]:
    """The token spans of `targets` on the best CTC path through `log_probs`.

    Args:
        log_probs: (T', V) log-probabilities of one utterance (its valid frames only),
            e.g. one row of the model's output cut to its length.
        targets: the text's token ids, without blanks.
        blank: the blank's id.

    Returns:
        One TokenSpan per target token, in order: frames [start, end) of `log_probs`.

    Raises:
        AlignError: no targets, a target that is the blank or outside the vocabulary,
            fewer frames than the targets need (one per token plus a blank between
            equal neighbours), or no path of finite probability.
    """
    if log_probs.dim() != 2:
        raise ValueError(f"log_probs must be (frames, vocabulary), got shape {tuple(log_probs.shape)}")
    frames, size = log_probs.shape
    targets = [int(t) for t in targets]
    if not targets:
        raise AlignError("nothing to align: the text has no tokens (an empty or untokenisable transcript)")
    bad = sorted({t for t in targets if t == blank or not 0 <= t < size})
    if bad:
        raise AlignError(f"token ids {bad} cannot be aligned: the blank is {blank} and the model has {size} "
                         "outputs (a text encoded with another vocabulary?)")
    needed = ctc_frames_needed(targets)
    if frames < needed:
        raise AlignError(f"the text needs at least {needed} output frames ({len(targets)} tokens and a blank "
                         f"between each repeated pair) but the audio has {frames}: the audio is too short for "
                         "the text, or the transcript belongs to another utterance")
    lp = log_probs.detach().float().cpu()
    path, scores = F.forced_align(lp[None], torch.tensor([targets], dtype=torch.int32), blank=blank)
    path, scores = path[0], scores[0]
    if not torch.isfinite(scores).all():
        raise AlignError("no path through the log-probabilities spells the text (a token has probability 0 "
                         "wherever it could go, or the log-probabilities are not finite)")
    spans = F.merge_tokens(path, scores.exp(), blank=blank)
    if [s.token for s in spans] != targets:  # forced_align's guarantee, checked cheaply
        raise AlignError("the alignment does not spell the text (log-probabilities not normalised?)")
    return [TokenSpan(s.token, s.start, s.end, float(s.score)) for s in spans]


def word_spans(spans: Sequence[TokenSpan], tokens: Sequence[str], separator: str | None,
               word_start: str | None, pad: int = PAD_FRAMES, frames: int | None = None) -> list[WordSpan]:
    """Group token spans into words.

    Args:
        spans: `align`'s output, in order.
        tokens: the vocabulary's token strings by id (tokens[0] the blank).
        separator: the token between words ("|"), or None; its spans belong to no word.
        word_start: the mark on a word's first piece ("▁" of subword units), or None;
            stripped from the word's text. With neither, every token is a word (Mandarin).
        pad: output frames each word is widened by on either side, into the blank (or
            separator) frames around it but never past half-way to the next word
            (see the module docstring); 0: from its first token's start to its last
            token's end.
        frames: the utterance's output frames, when known: no word ends after them.

    Returns:
        One WordSpan per word, in order; its score is the mean posterior over its
        tokens' frames (padding frames not included).
    """
    if pad < 0:
        raise ValueError(f"pad must be >= 0 frames, got {pad}")
    groups: list[list[TokenSpan]] = []
    new_word = True
    for span in spans:
        text = tokens[span.token]
        if separator is not None and text == separator:
            new_word = True
            continue
        if new_word or (word_start is not None and text.startswith(word_start)) or (
                separator is None and word_start is None):
            groups.append([])
        groups[-1].append(span)
        new_word = False
    words = []
    for i, group in enumerate(groups):
        text = "".join(tokens[s.token] for s in group)
        if word_start is not None:
            text = text.replace(word_start, "")
        n = sum(s.end - s.start for s in group)
        score = sum(s.score * (s.end - s.start) for s in group) / n
        start, end = group[0].start, group[-1].end
        if i > 0:  # the previous word keeps the first half of the gap, this one the second
            gap = start - groups[i - 1][-1].end
            start -= min(pad, gap - gap // 2)
        else:
            start = max(0, start - pad)
        if i + 1 < len(groups):
            end += min(pad, (groups[i + 1][0].start - end) // 2)
        else:
            end = end + pad if frames is None else max(end, min(frames, end + pad))
        words.append(WordSpan(text, start, end, score))
    return words
