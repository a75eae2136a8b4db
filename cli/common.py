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
fast_exit = False  # set by a command whose process may end without the interpreter's teardown (main.run)

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


# Decoding options shared by evaluate and transcribe (None: the model's own setting).
Decoder = Annotated[Optional[str], typer.Option("--decoder", help="greedy or beam [default: the model's decoding settings, else greedy].")]
Lm = Annotated[Optional[Path], typer.Option("--lm", help="An n-gram LM (ARPA or KenLM binary) for beam search: word-level with --lexicon, token-level without.")]
Lexicon = Annotated[Optional[Path], typer.Option("--lexicon", help="Words and their spellings in the model's tokens (from `asr lm build`).")]
BeamSize = Annotated[Optional[int], typer.Option("--beam-size", help="Hypotheses kept per frame [default: 50].")]
LmWeight = Annotated[Optional[float], typer.Option("--lm-weight", help="The LM's weight [default: the model's, else 0.5].")]
WordScore = Annotated[Optional[float], typer.Option("--word-score", help="Added per word [default: the model's, else 0].")]
UnkScore = Annotated[Optional[float], typer.Option("--unk-score", help="Added per word outside the lexicon [default: none can come out].")]
BeamSizeToken = Annotated[Optional[int], typer.Option("--beam-size-token", help="Tokens tried per frame, likeliest first [default: all].")]
Nbest = Annotated[Optional[int], typer.Option("--nbest", help="Hypotheses to return per input (beam search).")]
Hotword = Annotated[Optional[list[str]], typer.Option("--hotword", help="WORD[:BOOST] or 'A PHRASE[:BOOST]' to favour (repeatable; beam search with a lexicon).")]
HotwordsFile = Annotated[Optional[Path], typer.Option("--hotwords", help="A file of hotwords, one WORD[:BOOST] per line.")]


def decoding(decoder: Optional[str], lm: Optional[Path], lexicon: Optional[Path], beam_size: Optional[int],
             lm_weight: Optional[float], word_score: Optional[float], nbest: Optional[int],
             hotword: Optional[list[str]], hotwords: Optional[Path], unk_score: Optional[float] = None,
             beam_size_token: Optional[int] = None) -> dict:
    """The decoding options given on the command line, as Recognizer.load keywords. An LM or a
    lexicon implies beam search; paths are made absolute (the model's own are relative to it)."""
    from asr.hotwords import parse_hotwords, read_hotwords
    given = {"lm": str(lm.resolve()) if lm else None, "lexicon": str(lexicon.resolve()) if lexicon else None,
             "beam_size": beam_size, "lm_weight": lm_weight, "word_score": word_score, "nbest": nbest,
             "unk_score": unk_score, "beam_size_token": beam_size_token,
             "decoder": decoder or ("beam" if lm or lexicon or hotword or hotwords or nbest else None)}
    out = {k: v for k, v in given.items() if v is not None}
    boosts = {**(read_hotwords(hotwords) if hotwords else {}), **parse_hotwords(hotword or [])}
    if boosts:
        out["hotwords"] = boosts
    return out
