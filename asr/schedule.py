"""Learning-rate schedules, stepped once per optimizer step.

    cosine   linear warm-up to the peak, then cosine decay to final_ratio x peak
    noam     linear warm-up, then decay with 1/sqrt(step) (Transformer-style)
    plateau  linear warm-up, then the peak, halved whenever the dev loss has not
             improved for `patience` epochs (never below final_ratio x peak)

The state is plain data so a resumed run continues the same curve.
"""

from __future__ import annotations

import math

from asr.errors import ConfigError

KINDS = ("cosine", "noam", "plateau")


class Schedule:
    def __init__(self, kind: str, peak: float, warmup: int, total: int, final_ratio: float, patience: int = 1):
        if kind not in KINDS:
            raise ConfigError(f"train.schedule must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind, self.peak, self.warmup, self.total = kind, peak, max(0, warmup), max(1, total)
        self.final_ratio, self.patience = final_ratio, patience
        self.scale, self.best_loss, self.bad_epochs = 1.0, math.inf, 0

    def lr(self, step: int) -> float:
        """Learning rate for optimizer step `step` (0-based)."""
        if step < self.warmup:
            return self.peak * (step + 1) / self.warmup
        if self.kind == "cosine":
            progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
            return self.peak * (self.final_ratio + (1 - self.final_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
        if self.kind == "noam":
            return self.peak * max(self.final_ratio, math.sqrt(max(1, self.warmup) / (step + 1)))
        return self.peak * self.scale

    def epoch_end(self, dev_loss: float) -> None:
        """Feed the epoch's dev loss (used by `plateau` only)."""
        if dev_loss < self.best_loss - 1e-4:
            self.best_loss, self.bad_epochs = dev_loss, 0
            return
        self.bad_epochs += 1
        if self.kind == "plateau" and self.bad_epochs >= self.patience:
            self.scale, self.bad_epochs = max(self.final_ratio, self.scale * 0.5), 0

    def state_dict(self) -> dict:
        return {"scale": self.scale, "best_loss": self.best_loss, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.scale, self.best_loss, self.bad_epochs = state["scale"], state["best_loss"], state["bad_epochs"]
