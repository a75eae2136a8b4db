"""CTC decoders over token ids.

A decoder takes log-probabilities (batch, frames, vocab) with their lengths
(batch,) and returns one list of token ids per utterance. Decoders know
nothing of text: `Vocabulary.decode` turns ids into strings. Beam search
with a lexicon and an n-gram LM (torchaudio's flashlight decoder) will be a
second implementation of the same interface.
"""

from __future__ import annotations

from typing import Protocol

import torch


class Decoder(Protocol):
    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]: ...


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

    def __call__(self, log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        best = log_probs.argmax(dim=-1).cpu()  # (B, T)
        # A frame is kept if it is not blank and differs from the frame before it.
        changed = torch.ones_like(best, dtype=torch.bool)
        changed[:, 1:] = best[:, 1:] != best[:, :-1]
        keep = changed & (best != self.blank)
        return [best[b, : int(n)][keep[b, : int(n)]].tolist() for b, n in enumerate(lengths.tolist())]
