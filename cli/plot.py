"""`asr plot`: draw an experiment's training curves as PNGs (asr.plots)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from asr_cli.common import errors


def plot(
    exp_dir: Annotated[Path, typer.Argument(help="The experiment folder `asr train` wrote into (its metrics.jsonl).", exists=True, file_okay=False)],
) -> None:
    """Draw the training curves into EXP_DIR/plots: loss, error rates, learning rate, gradient norm.

    Example: asr plot exp/an4

    They can be redrawn at every epoch's end while training: asr train ... --plot
    """
    from asr.plots import plot_training
    with errors():
        written = plot_training(exp_dir)
    for path in written:
        typer.echo(str(path))
