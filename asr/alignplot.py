"""A picture of one alignment: the log-mel spectrogram over the CTC posteriors, words marked on both.

    plot("align.png", features, log_probs, vocab.tokens, words, feature_seconds=0.01, frame_seconds=0.03)

Top: the features (frames, n_mels) as an image. Bottom: each token's posterior
probability per output frame, the blank in grey and every other token that
rises above `min_peak` somewhere in its own colour: CTC's picture of blank
almost everywhere and a spike (or a short run) of each token. The word spans
are shaded and labelled on both panels; the time axis is in seconds.
matplotlib is imported here, with the file-only "Agg" backend, so that the
rest of the package never needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from asr.align import WordSpan


def plot(path: str | Path, features: torch.Tensor, log_probs: torch.Tensor, tokens: Sequence[str],
         words: Sequence[WordSpan], feature_seconds: float, frame_seconds: float, blank: int = 0,
         title: str | None = None, min_peak: float = 0.2) -> Path:
    """Write the figure as a PNG at `path`; return `path`.

    Args:
        features: (frames, n_mels) log-mels (normalised or not), one every `feature_seconds`.
        log_probs: (T', V) the model's log-probabilities, one frame every `frame_seconds`.
        tokens: token strings by id (for the legend).
        words: word spans in output frames (`asr.align.word_spans`).
        blank: the blank's id, drawn in grey.
        title: a line above the figure (e.g. the utterance id and text).
        min_peak: tokens whose posterior never reaches this are left out of the plot.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = features.detach().float().cpu()
    probs = log_probs.detach().float().cpu().exp()
    mel_end = features.shape[0] * feature_seconds
    ctc_end = probs.shape[0] * frame_seconds
    end = max(mel_end, ctc_end)

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(max(8.0, min(40.0, 3.0 * end)), 6),
                                      gridspec_kw={"height_ratios": [1, 1]})
    try:
        top.imshow(features.T.numpy(), origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
                   extent=(0, mel_end, 0, features.shape[1]))
        top.set_ylabel("mel bin")

        times = (torch.arange(probs.shape[0]) + 0.5) * frame_seconds  # the middle of each output frame
        bottom.plot(times.numpy(), probs[:, blank].numpy(), color="0.6", linewidth=1.0)
        shown = [v for v in range(probs.shape[1]) if v != blank and float(probs[:, v].max()) >= min_peak]
        palette = plt.get_cmap("tab10")
        colour = {v: palette(k % 10) for k, v in enumerate(shown)}
        for v in shown:
            bottom.plot(times.numpy(), probs[:, v].numpy(), color=colour[v], linewidth=1.2)
        # Each run of frames won by one token is labelled with it, above its peak.
        best = probs.argmax(dim=1).tolist()
        t = 0
        while t < len(best):
            u = t
            while u + 1 < len(best) and best[u + 1] == best[t]:
                u += 1
            v = best[t]
            if v != blank and v in colour:
                peak = t + int(probs[t:u + 1, v].argmax())
                bottom.text(float(times[peak]), float(probs[peak, v]) + 0.03, tokens[v], color=colour[v],
                            ha="center", va="bottom", fontsize="small")
            t = u + 1
        bottom.set_ylim(0, 1.15)
        bottom.set_ylabel(f"posterior ({tokens[blank]} grey)")
        bottom.set_xlabel("time (s)")
        bottom.set_xlim(0, end)

        for w in words:
            start, stop = w.start * frame_seconds, w.end * frame_seconds
            for ax in (top, bottom):
                ax.axvspan(start, stop, color="tab:cyan", alpha=0.15, linewidth=0)
                ax.axvline(start, color="tab:cyan", linewidth=0.8)
                ax.axvline(stop, color="tab:cyan", linewidth=0.8, linestyle="--")
            top.text((start + stop) / 2, features.shape[1] * 1.02, w.word, ha="center", va="bottom",
                     fontsize="small", clip_on=False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, format="png", dpi=100)
    finally:
        plt.close(fig)
    return path
