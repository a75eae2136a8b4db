"""What every command shares: the stderr console, common options, error handling, --model lookup."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from asr.errors import AsrError, UsageError

err = Console(stderr=True, soft_wrap=True)

Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or log lines on stderr.")]
Device = Annotated[str, typer.Option(help="Where the model runs: auto (a GPU when there is one), cpu, cuda, cuda:N.")]
Model = Annotated[Optional[Path], typer.Option("--model", "-m", help="Checkpoint (default: $ASR_MODEL, else the newest exp/*/model.pt).")]


@contextmanager
def errors():
    """Library errors become `error: ...` on stderr with exit status 1 (130 if interrupted)."""
    from asr.train import TrainingInterrupted

    def _terminate(signum, frame):  # SIGTERM stops like Ctrl-C: save, then exit 130
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except TrainingInterrupted as e:
        err.print(f"interrupted: {e}", markup=False)
        raise typer.Exit(130)
    except UsageError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        raise typer.Exit(2)
    except AsrError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)


def reporter(quiet: bool):
    from asr.progress import Reporter
    return Reporter(None if quiet else err)


def model_path(model: Optional[Path]) -> Path:
    """--model, else $ASR_MODEL, else the newest exp/*/model.pt; a named file that is not there is a usage error."""
    from asr.transcribe import find_model
    if model is None and os.environ.get("ASR_MODEL"):
        model = Path(os.environ["ASR_MODEL"])
        if not model.is_file():
            raise UsageError(f"ASR_MODEL={model}: no such model file (set it to a model.pt, or pass --model)")
    if model is None:
        return find_model(Path.cwd())
    if not model.is_file():
        raise UsageError(f"--model {model}: no such model file (train one with `asr train`, or pass the path of a model.pt)")
    return model
