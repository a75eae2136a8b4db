"""The acoustic model: subsampling front end -> recurrent stack -> linear -> log-softmax.

    features (batch, frames, n_mels), lengths (batch,)
      -> log_probs (batch, frames', vocab), lengths' (batch,)

with frames' = ceil(frames / subsample). Padded frames never leak into
valid ones: the forward direction of each layer is causal, so padding at the
end cannot reach earlier frames, and the backward direction runs over each
utterance reversed *within its own length*, so it starts at the utterance's
last real frame. A batch gives the same outputs as its utterances one by one.
This is what packed sequences guarantee, at a fraction of their cost on CPU
(packed LSTMs backpropagate 4-20x slower there than padded ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from asr.errors import ConfigError

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


@dataclass(frozen=True)
class ModelSettings:
    """cell: lstm | gru | rnn (LSTM/GRU gates fight vanishing gradients; rnn is
    the plain baseline). frontend: stack (concatenate `subsample` frames) or
    conv (strided 1-D convolution). subsample: 1-4, frames per output step."""

    cell: str = "lstm"
    hidden: int = 256
    layers: int = 3
    bidirectional: bool = True
    dropout: float = 0.1
    frontend: str = "stack"
    subsample: int = 3
    conv_channels: int = 256

    def check(self) -> None:
        if self.cell not in CELLS:
            raise ConfigError(f"model.cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        if self.frontend not in ("stack", "conv"):
            raise ConfigError(f"model.frontend must be 'stack' or 'conv', not {self.frontend!r}")
        if not 1 <= self.subsample <= 4:
            raise ConfigError(f"model.subsample must be 1-4, not {self.subsample}")
        for name in ("hidden", "layers", "conv_channels"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be >= 0 and < 1, got {self.dropout}")


def output_lengths(lengths: torch.Tensor, subsample: int) -> torch.Tensor:
    """Frames after subsampling: ceil(lengths / subsample)."""
    return torch.div(lengths + subsample - 1, subsample, rounding_mode="floor")


class FrameStack(nn.Module):
    """(B, T, F) -> (B, ceil(T/k), k*F): k consecutive frames side by side."""

    def __init__(self, n_inputs: int, k: int):
        super().__init__()
        self.k, self.n_outputs = k, n_inputs * k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, f = x.shape
        pad = (-t) % self.k
        if pad:
            x = nn.functional.pad(x, (0, 0, 0, pad))
        return x.reshape(b, (t + pad) // self.k, self.k * f)


class ConvSubsample(nn.Module):
    """(B, T, F) -> (B, ceil(T/k), C): Conv1d, kernel 2k+1, stride k, then ReLU."""

    def __init__(self, n_inputs: int, k: int, channels: int):
        super().__init__()
        self.conv = nn.Conv1d(n_inputs, channels, kernel_size=2 * k + 1, stride=k, padding=k)
        self.n_outputs = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each (B, T, F) sequence over its first `lengths[b]` frames; padding stays put."""
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    n = lengths.to(x.device)[:, None]
    index = torch.where(t < n, n - 1 - t, t)
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


class RecurrentLayer(nn.Module):
    """One (bi)directional recurrent layer over padded input: (B, T, F) -> (B, T, H or 2H)."""

    def __init__(self, cell: str, n_inputs: int, hidden: int, bidirectional: bool):
        super().__init__()
        self.fwd = CELLS[cell](n_inputs, hidden, batch_first=True)
        self.bwd = CELLS[cell](n_inputs, hidden, batch_first=True) if bidirectional else None
        if cell == "lstm":
            for rnn in (self.fwd, self.bwd) if bidirectional else (self.fwd,):
                _remember_by_default(rnn, hidden)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        y, _ = self.fwd(x)
        if self.bwd is None:
            return y
        z, _ = self.bwd(reverse_within(x, lengths))
        return torch.cat([y, reverse_within(z, lengths)], dim=-1)


def _remember_by_default(lstm: nn.LSTM, hidden: int) -> None:
    """Forget-gate bias 1 (Jozefowicz et al. 2015): the cell keeps its memory until it
    learns to drop it, so gradients reach early frames from the first step."""
    with torch.no_grad():
        lstm.bias_ih_l0[hidden:2 * hidden].fill_(1.0)  # gates are ordered i, f, g, o
        lstm.bias_hh_l0[hidden:2 * hidden].zero_()


class AcousticModel(nn.Module):
    """BiLSTM (or GRU / RNN) CTC acoustic model; see the module docstring."""

    def __init__(self, n_inputs: int, vocab_size: int, settings: ModelSettings):
        super().__init__()
        settings.check()
        self.settings, self.n_inputs, self.vocab_size = settings, n_inputs, vocab_size
        s = settings
        if s.frontend == "stack":
            self.frontend = FrameStack(n_inputs, s.subsample)
        else:
            self.frontend = ConvSubsample(n_inputs, s.subsample, s.conv_channels)
        width = s.hidden * (2 if s.bidirectional else 1)
        self.layers = nn.ModuleList(
            RecurrentLayer(s.cell, self.frontend.n_outputs if i == 0 else width, s.hidden, s.bidirectional)
            for i in range(s.layers)
        )
        self.dropout = nn.Dropout(s.dropout)
        self.output = nn.Linear(width, vocab_size)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features (B, T, n_inputs) float, lengths (B,) int -> log_probs (B, T', V), lengths (B,)."""
        mask = torch.arange(features.shape[1], device=features.device)[None, :] < lengths.to(features.device)[:, None]
        x = self.frontend(features * mask.unsqueeze(-1).to(features.dtype))  # zeros in the padding
        out_lengths = output_lengths(lengths.cpu(), self.settings.subsample).clamp_max(x.shape[1])
        for i, layer in enumerate(self.layers):
            x = layer(self.dropout(x) if i else x, out_lengths)
        logits = self.output(self.dropout(x))
        return logits.float().log_softmax(dim=-1), out_lengths

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
