"""Long recordings in bounded memory: read block by block, cut at pauses, merged by time.

A recording is read in blocks and cut into pieces, each decoded on its own:

- at every pause (a stretch of at least `pause` seconds quieter than the
  recording around it): the model was trained on utterances, and a BiLSTM
  that runs on from one sentence into the next merges words across the gap
  and garbles the next sentence's start (on AN4 joined into 10 minutes:
  18 % WER in 30 s windows against 9 % for the utterances one by one). A long
  silence is not decoded: a piece keeps at most `margin` seconds of it on
  either side.
- where no pause comes within `chunk` seconds, at the quietest `QUIET_S` of
  the last `search` seconds; such a piece and the next are read with `context`
  seconds more audio across the cut, so the model hears what surrounds it.

A piece contributes only the words whose middle lies in its `keep` span, so a
word straddling a forced cut comes from exactly one piece: nothing is dropped
or doubled. Times are seconds of the recording (of the segment, for a segment).

    for piece in pieces(path, 16000, ChunkSettings()):
        piece.wave, piece.offset, piece.keep

Memory: at most chunk + 2 * context seconds of audio plus one block, whatever
the recording's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
import torch

from asr import audio
from asr.errors import AudioError, ConfigError

QUIET_S = 0.2  # a forced cut goes in the middle of the quietest stretch this long
FRAME_S = 0.01  # energy is measured every 10 ms over 25 ms
WINDOW_S = 0.025
MIN_PIECE_S = 0.5  # a piece is at least this long (a shorter end joins the piece before)


@dataclass(frozen=True)
class ChunkSettings:
    """Seconds. chunk: the longest piece without a pause; pause: the shortest gap that ends a
    piece; margin: silence kept on either side of a piece; search: a forced cut is sought in
    the last `search` seconds of a chunk; context: audio read across a forced cut; quiet: a
    frame is quiet when its energy is below the recording's quiet level plus this share of
    the way to its loud level (levels: the 10th and 90th percentiles, in dB)."""

    chunk: float = 30.0
    pause: float = 0.3
    margin: float = 0.5
    search: float = 5.0
    context: float = 1.0
    quiet: float = 0.3

    def check(self) -> None:
        if not self.chunk >= 2 * MIN_PIECE_S:
            raise ConfigError(f"chunk must be >= {2 * MIN_PIECE_S:g} seconds, got {self.chunk:g}")
        for name in ("pause", "margin", "search", "context"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0 seconds, got {getattr(self, name):g}")
        if not 0 < self.quiet < 1:
            raise ConfigError(f"quiet must be between 0 and 1, got {self.quiet:g}")


@dataclass
class Piece:
    """Audio `wave` (samples,) at `rate` Hz starting at `offset` seconds of the recording; its
    words are the ones whose middle lies in `keep` = [start, end) seconds; `last`: the
    recording's last piece."""

    wave: torch.Tensor
    rate: int
    offset: float
    keep: tuple[float, float]
    last: bool
    end: float = field(init=False)  # seconds of the recording where the piece's audio ends

    def __post_init__(self):
        self.end = self.offset + self.wave.numel() / self.rate


def pieces(path: str | Path, sample_rate: int, settings: ChunkSettings = ChunkSettings(),
           offset: float = 0.0, duration: float | None = None) -> Iterator[Piece]:
    """The pieces of `path` (or of its segment of `duration` seconds from `offset`), in order,
    resampled to `sample_rate` Hz. A recording no longer than `chunk` seconds is one piece,
    all of it. AudioError (naming the file) when it cannot be read, also part-way through."""
    settings.check()
    info = audio.info(path)
    rate = info.sample_rate
    first = min(info.frames, int(round(offset * rate)))
    stop = info.frames if duration is None else min(info.frames, first + int(round(duration * rate)))
    if (stop - first) / rate <= settings.chunk:
        yield Piece(audio.load(path, sample_rate, offset, duration), sample_rate, 0.0,
                    (float("-inf"), float("inf")), True)
        return
    cutter = _Cutter(settings, rate)
    for begin, end, keep, last in cutter.spans(_blocks(path, first, stop, cutter.block)):
        wave = audio.resample(torch.from_numpy(cutter.take(begin, end)), rate, sample_rate)
        yield Piece(wave, sample_rate, begin / rate,
                    (keep[0] / rate if keep[0] > 0 else float("-inf"), keep[1] / rate if not last else float("inf")),
                    last)


def _blocks(path: str | Path, first: int, stop: int, size: int) -> Iterator[np.ndarray]:
    """Mono float32 blocks of `size` samples of the file's [first, stop) samples, at its rate."""
    try:
        with sf.SoundFile(str(path)) as f:
            f.seek(first)
            left = stop - first
            while left > 0:
                data = f.read(frames=min(size, left), dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    return
                left -= data.shape[0]
                yield data.mean(axis=1)
    except audio.READ_ERRORS as e:
        raise AudioError(f"{path}: not a readable audio file, part-way through ({audio._reason(e)})") from None


class _Cutter:
    """Finds the pieces' sample spans in a stream of blocks, holding only what it still needs."""

    def __init__(self, settings: ChunkSettings, rate: int):
        self.s, self.rate = settings, rate
        sec = lambda x: int(round(x * rate))  # noqa: E731
        self.chunk, self.pause, self.margin = sec(settings.chunk), sec(settings.pause), sec(settings.margin)
        self.search, self.context, self.min_piece = sec(settings.search), sec(settings.context), sec(MIN_PIECE_S)
        self.hop, self.window, self.quiet_len = max(1, sec(FRAME_S)), max(1, sec(WINDOW_S)), max(1, sec(QUIET_S))
        self.block = self.chunk + self.context
        self.buffer, self.start = np.zeros(0, np.float32), 0  # buffer holds samples [start, start + len)

    def take(self, begin: int, end: int) -> np.ndarray:
        return self.buffer[begin - self.start:end - self.start].copy()

    def spans(self, blocks: Iterator[np.ndarray]) -> Iterator[tuple[int, int, tuple[int, int], bool]]:
        """(begin, end, keep, last) in samples from the first block's start; `keep` = [from, to)."""
        blocks = iter(blocks)
        pos = begin = 0  # the current piece's words start at pos, its audio at begin
        done = False
        while True:
            while not done and self.start + len(self.buffer) < pos + self.chunk + self.context:
                block = next(blocks, None)
                if block is None:
                    done = True
                else:
                    self.buffer = np.concatenate([self.buffer, block])
            total = self.start + len(self.buffer)
            found = self._pause(pos, min(total, pos + self.chunk), leading=pos == 0)
            if found is not None:
                end, following, leading = found
                if leading:  # the recording starts with silence: skip it
                    pos = begin = max(pos, following)
                elif done and total - following <= self.margin + self.window:  # silence to the end
                    yield begin, total, (pos, total), True
                    return
                else:
                    yield begin, end, (pos, end), False
                    pos = begin = following
            elif done and total - pos <= self.chunk + self.context:
                yield begin, total, (pos, total), True
                return
            else:
                cut = self._quietest(pos + self.chunk - self.search, pos + self.chunk)
                yield begin, min(total, cut + self.context), (pos, cut), False
                pos, begin = cut, max(pos, cut - self.context)
            self.buffer, self.start = self.buffer[begin - self.start:], begin

    def _energy(self, a: int, b: int, window: int) -> np.ndarray:
        """The energy (sum of squares) of each `window` samples starting every 10 ms in samples
        [a, b) of the buffer; empty when they hold less than one window."""
        x = self.buffer[a - self.start:b - self.start].astype(np.float64)
        if len(x) < window:
            return np.zeros(0)
        sums = np.concatenate([[0.0], np.cumsum(x * x)])
        starts = np.arange(0, len(x) - window + 1, self.hop)
        return sums[starts + window] - sums[starts]

    def _levels(self, a: int, b: int) -> np.ndarray:
        """Energy in dB of the 25 ms frames starting every 10 ms in samples [a, b)."""
        return 10 * np.log10(self._energy(a, b, self.window) / self.window + 1e-10)

    def _pause(self, a: int, b: int, leading: bool) -> tuple[int, int, bool] | None:
        """The first pause in samples [a, b) that leaves a piece of at least MIN_PIECE_S before
        it, or with `leading` one that starts at `a`: (where the piece before it ends, where the
        next begins, whether it starts at `a`), or None. A piece keeps up to `margin` of the
        pause; a pause shorter than two margins is cut in its middle."""
        db = self._levels(a, b)
        if len(db) == 0:
            return None
        low, high = np.percentile(db, 10), np.percentile(db, 90)
        if high - low <= 6:  # all alike: no pause to tell from the rest
            return None
        quiet = db < low + self.s.quiet * (high - low)
        need = max(1, int(round(self.pause / self.hop)))
        run = 0
        for i, q in enumerate(quiet):
            run = run + 1 if q else 0
            if run < need or (i + 1 < len(quiet) and quiet[i + 1]):
                continue  # not a pause yet, or it goes on: decide where it ends
            first = i - run + 1
            q0 = a if first == 0 else a + first * self.hop + self.window // 2
            q1 = a + i * self.hop + self.window // 2
            end, following = min(q1, q0 + self.margin), max(q0, q1 - self.margin)
            if following < end:
                end = following = (q0 + q1) // 2
            if (first == 0 and leading) or (first > 0 and end - a >= self.min_piece):
                return end, following, first == 0
        return None

    def _quietest(self, a: int, b: int) -> int:
        """The middle of the quietest QUIET_S stretch in samples [a, b)."""
        a = max(a, self.start)
        if min(b, self.start + len(self.buffer)) - a <= self.quiet_len:
            return b
        best = int(np.argmin(self._energy(a, b, self.quiet_len))) * self.hop
        return a + best + self.quiet_len // 2
