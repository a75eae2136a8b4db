"""`asr lm`: build an n-gram LM for beam search, and tune its weights for a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from asr.runtime import resolve_device
from asr_cli.common import Device, Model, Quiet, err, errors, model_path, reporter

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Language models for beam search: build, tune.")


@app.command()
def build(
    inputs: Annotated[list[Path], typer.Argument(help="Text files (one sentence per line) or manifests (.jsonl), then OUT.arpa last.", exists=False)],
    order: Annotated[int, typer.Option(help="n-gram order (>= 2).")] = 3,
    prune: Annotated[Optional[str], typer.Option(help="Count thresholds per order, lmplz-style: '0 1 1' drops singleton 2- and 3-grams.")] = None,
    units: Annotated[str, typer.Option(help="words (with a lexicon beside the LM when --model is given) or tokens (sentences spelt in the model's tokens; needs --model).")] = "words",
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Normalise text as this model does, and spell its lexicon or token LM.")] = None,
    quiet: Quiet = False,
) -> None:
    """Build an interpolated modified Kneser-Ney LM as an ARPA file.

    Example: asr lm build data/an4/train.jsonl lm/an4.arpa --model exp/an4/model.pt
    """
    from asr import record as model_record
    from asr.lmtools import build_lm
    if len(inputs) < 2:
        raise typer.BadParameter("give the text or manifests, then the ARPA file to write", param_hint="INPUTS")
    *sources, out = inputs
    for source in sources:
        if not source.is_file():
            raise typer.BadParameter(f"{source}: no such file", param_hint="INPUTS")
    try:
        thresholds = [int(x) for x in prune.replace(",", " ").split()] if prune else []
    except ValueError:
        raise typer.BadParameter(f"{prune!r}: give whole numbers, e.g. '0 1 1'", param_hint="--prune") from None
    with errors():
        record = model_record.load(model_path(model)) if model is not None else None
        built = build_lm(sources, out, order, thresholds, units, record, log=reporter(quiet).log)
    typer.echo(json.dumps({"arpa": str(built.arpa), "lexicon": str(built.lexicon) if built.lexicon else None,
                           "order": order, "units": units, "sentences": built.sentences, "skipped": built.skipped,
                           "ngrams": built.ngrams, "seconds": built.seconds}))


@app.command()
def tune(
    dev: Annotated[Path, typer.Argument(help="Dev manifest to tune on.", exists=True, dir_okay=False)],
    lm: Annotated[Path, typer.Option("--lm", help="The ARPA (or KenLM binary) to tune.", exists=True, dir_okay=False)],
    model: Model = None,
    lexicon: Annotated[Optional[Path], typer.Option("--lexicon", help="Lexicon for a word LM [default: the one `asr lm build` wrote beside --lm, if any].")] = None,
    lm_weights: Annotated[Optional[str], typer.Option(help="LM weights to try, e.g. '0 0.5 1 1.5'.")] = None,
    word_scores: Annotated[Optional[str], typer.Option(help="Word scores to try, e.g. '-1 0 1 2' (lexicon decoding).")] = None,
    beam_size: Annotated[int, typer.Option(help="Beam size while tuning.")] = 50,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store the best settings in the model file.")] = True,
    device: Device = "auto",
    quiet: Quiet = False,
) -> None:
    """Search LM weight and word score on dev; store the best in the model's decoding settings.

    Example: asr lm tune data/an4/dev.jsonl --lm lm/an4.arpa --model exp/an4/model.pt
    """
    from asr.lmtools import LM_WEIGHTS, WORD_SCORES, lexicon_path, tune as run_tune
    grid = {}
    for name, text, default in (("--lm-weights", lm_weights, LM_WEIGHTS), ("--word-scores", word_scores, WORD_SCORES)):
        try:
            grid[name] = [float(x) for x in text.replace(",", " ").split()] if text else list(default)
        except ValueError:
            raise typer.BadParameter(f"{text!r}: give numbers, e.g. '0 0.5 1'", param_hint=name) from None
    if lexicon is None and lexicon_path(lm).is_file():
        lexicon = lexicon_path(lm)
    with errors():
        path = model_path(model)
        result = run_tune(path, dev, lm, lexicon, resolve_device(device), grid["--lm-weights"], grid["--word-scores"],
                          beam_size, save, log=reporter(quiet).log)
    name = result.metric.upper()
    table = Table(title=f"dev {name} by LM weight and word score (greedy: {100 * result.greedy_rate:.2f} %)")
    for col in ("lm_weight", "word_score", f"dev {name}"):
        table.add_column(col, justify="right")
    for weight, score, rate in result.rows:
        best = (weight, score) == (result.best.lm_weight, result.best.word_score)
        table.add_row(f"{weight:g}", f"{score:g}", f"{100 * rate:.2f} %" + (" *" if best else ""))
    Console(stderr=True).print(table)
    if result.saved:
        err.print(f"saved in {path}: evaluate and transcribe now use beam search with this LM by default", markup=False)
    typer.echo(json.dumps({"lm_weight": result.best.lm_weight, "word_score": result.best.word_score,
                           f"dev_{result.metric}": result.best_rate, f"greedy_dev_{result.metric}": result.greedy_rate,
                           "saved": result.saved}))
