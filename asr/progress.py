"""Progress and log lines on stderr (rich), or silence.

The library reports through a `Reporter`; the CLI decides where it goes.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Reporter:
    """Silent by default; `Reporter(Console(stderr=True))` shows bars and log lines."""

    def __init__(self, console: Console | None = None):
        self.console = console

    def log(self, message: str) -> None:
        if self.console is not None:
            self.console.print(message, highlight=False, markup=False)

    @contextmanager
    def progress(self, description: str, total: int) -> Iterator[Callable[..., None]]:
        """Yield `advance(step=1, **fields)`; shows a bar with ETA and the latest fields."""
        if self.console is None:
            yield lambda step=1, **fields: None
            return
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
        with Progress(*columns, console=self.console, transient=True) as bar:
            task = bar.add_task(description, total=total, info="")

            def advance(step: float = 1, **fields) -> None:
                info = "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())
                bar.update(task, advance=step, info=info)

            yield advance
