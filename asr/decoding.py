"""CTC decoders over token ids: log-probabilities in, hypotheses out.

A decoder takes log-probabilities (batch, frames, vocab) with their lengths
(batch,) and returns, per utterance, a list of `Hypothesis` (n-best, best
first). A hypothesis carries token ids, the output frame of each token and a
score; decoders that know words (beam search with a lexicon) also fill in
`words`. Decoders know nothing of text: the vocabulary turns ids into
strings, and `Recognizer` turns frames into seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch

from asr.errors import ConfigError


@dataclass
class Hypothesis:
    """One decoding of one utterance.

    tokens: token ids, blanks and repeats removed. frames: the output frame
    (after the model's subsampling) at which each token was emitted, one per
    token. score: log-probability-like, larger is better (greedy: the sum of
    the best log-probability of every frame; beam: the decoder's score with
    the LM). words: the words, when the decoder knows them (else empty).
    """

    tokens: list[int]
    frames: list[int]
    score: float
    words: list[str] = field(default_factory=list)


class Decoder(Protocol):
    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]: ...


class GreedyDecoder:
    """Best token per frame, then merge repeats, then drop blanks.

    The order matters: repeats are merged only between frames with no blank
    in between, so "好 棒 _ 棒" gives "好棒棒" while "好 棒 棒" gives "好棒",
    and the double l of "hello" (or two words "one one" when tokens are
    words) survives. Plain trimming of repeats cannot tell these apart; the
    blank lets CTC.
    """

    def __init__(self, blank: int = 0):
        self.blank = blank

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        """log_probs (B, T, V), lengths (B,) -> one Hypothesis per utterance (a list of one)."""
        best_lp, best = log_probs.detach().float().max(dim=-1)
        best, best_lp = best.cpu(), best_lp.cpu()  # (B, T)
        # A frame is kept if it is not blank and differs from the frame before it.
        changed = torch.ones_like(best, dtype=torch.bool)
        changed[:, 1:] = best[:, 1:] != best[:, :-1]
        keep = changed & (best != self.blank)
        out = []
        for b, n in enumerate(lengths.tolist()):
            n = int(n)
            frames = keep[b, :n].nonzero().flatten()
            out.append([Hypothesis(best[b, frames].tolist(), frames.tolist(), float(best_lp[b, :n].sum()))])
        return out


DECODERS = ("greedy", "beam")


@dataclass(frozen=True)
class DecodingSettings:
    """How a model's log-probabilities become text, stored with the model (`asr lm tune`
    writes tuned values there) and overridden from the command line.

    decoder: greedy | beam. beam_size: hypotheses kept per frame; beam_threshold: how far
    below the best a hypothesis may fall before it is dropped. lm: an n-gram LM (ARPA or KenLM
    binary), word-level with a lexicon, token-level without; lexicon: words and their
    spellings in the model's tokens (asr.lexicon); both paths relative to the model file's
    folder unless absolute ("" = none). lm_weight: the LM's weight; word_score: added per word
    (against the LM's bias to few words); unk_score: added per word outside the lexicon (None:
    no such word can come out). beam_size_token: tokens tried per frame (None: all). nbest:
    hypotheses returned. See asr.beam.
    """

    decoder: str = "greedy"
    beam_size: int = 50
    beam_threshold: float = 25.0
    lm: str = ""
    lexicon: str = ""
    lm_weight: float = 0.5
    word_score: float = 0.0
    unk_score: float | None = None
    beam_size_token: int | None = None
    nbest: int = 1

    def check(self) -> None:
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoding.decoder must be one of {', '.join(DECODERS)}, not {self.decoder!r}")
        if self.beam_size < 1 or self.nbest < 1:
            raise ConfigError(f"decoding.beam_size and decoding.nbest must be >= 1, got {self.beam_size} and {self.nbest}")
        if self.nbest > self.beam_size:
            raise ConfigError(f"decoding.nbest ({self.nbest}) cannot exceed decoding.beam_size ({self.beam_size})")
        if self.beam_threshold <= 0 or self.lm_weight < 0:
            raise ConfigError(f"decoding.beam_threshold must be > 0 and decoding.lm_weight >= 0, got "
                              f"{self.beam_threshold} and {self.lm_weight}")
        if self.beam_size_token is not None and self.beam_size_token < 1:
            raise ConfigError(f"decoding.beam_size_token must be >= 1, got {self.beam_size_token}")
        if self.decoder == "greedy" and (self.lm or self.lexicon or self.nbest > 1):
            raise ConfigError("an LM, a lexicon or nbest > 1 needs decoding.decoder=beam (--decoder beam)")
