"""`asr compare A B [MANIFEST]`: two systems on the same utterances, and whether the difference is real."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from asr_cli.common import Device, Quiet, decoding, errors, reporter
from rich.console import Console
from rich.table import Table
from rich.text import Text

Source = "a model file (.pt, .onnx), or the per-utterance results of `asr evaluate` (.jsonl)"
DecoderOpt = Optional[str]


def compare(
    a: Annotated[Path, typer.Argument(help=f"System A: {Source}.", exists=True, dir_okay=False)],
    b: Annotated[Path, typer.Argument(help=f"System B: {Source}.", exists=True, dir_okay=False)],
    manifest: Annotated[Optional[Path], typer.Argument(help="The manifest to evaluate a model on (not needed for two results files).", exists=True, dir_okay=False)] = None,
    decoder_a: Annotated[DecoderOpt, typer.Option("--decoder-a", help="greedy or beam for model A (default: the model's own).")] = None,
    decoder_b: Annotated[DecoderOpt, typer.Option("--decoder-b", help="greedy or beam for model B (default: the model's own).")] = None,
    lm_a: Annotated[Optional[Path], typer.Option("--lm-a", help="An n-gram LM for model A (implies beam search).")] = None,
    lm_b: Annotated[Optional[Path], typer.Option("--lm-b", help="An n-gram LM for model B (implies beam search).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Keep the models' per-utterance results in this folder as a.jsonl and b.jsonl (default: not kept).", file_okay=False)] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=100, help="Paired bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap resampling.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    device: Device = "auto",
    quiet: Quiet = False,
) -> None:
    """Compare two systems: error rates, per-utterance wins and losses, paired bootstrap and sign test.

    Example: asr compare exp/an4/model.pt exp/an4/model.pt data/an4/test.jsonl --decoder-a greedy --decoder-b beam
    """
    from asr.errors import UsageError
    from asr.significance import compare as run_compare

    with errors():
        for name, path in (("A", a), ("B", b)):
            if not _is_results(path) and manifest is None:
                raise UsageError(f"{name} ({path}) is a model: give the MANIFEST to evaluate it on")
        with tempfile.TemporaryDirectory(prefix="asr-compare-") as tmp:
            folder = out or Path(tmp)
            records = [_results(path, manifest, folder / f"{name}.jsonl", device, quiet, _options(dec, lm))
                       for name, path, dec, lm in (("a", a, decoder_a, lm_a), ("b", b, decoder_b, lm_b))]
        result = run_compare(records[0], records[1], resamples=resamples, seed=seed)
    if as_json:
        typer.echo(json.dumps({**result.to_dict(), "sources": {"a": str(a), "b": str(b)}}, ensure_ascii=False))
        return
    _print(result, a, b)


def _options(decoder: Optional[str], lm: Optional[Path]) -> dict:
    return decoding(decoder=decoder, lm=lm, lexicon=None, beam_size=None, lm_weight=None, word_score=None, nbest=None,
                    hotword=None, hotwords=None)


def _is_results(path: Path) -> bool:
    return path.suffix.lower() == ".jsonl"


def _results(path: Path, manifest: Optional[Path], out: Path, device: str, quiet: bool, options: dict) -> list[dict]:
    """The per-utterance results of `path`: read from a results file, or by evaluating a model on `manifest`."""
    from asr_cli.common import model_path

    from asr.evaluate import evaluate, read_results
    from asr.runtime import resolve_device

    if _is_results(path):
        return read_results(path)
    report = evaluate(manifest, model_path(path), resolve_device(device), reporter=reporter(quiet), results_path=out,
                      **options)
    return report.records


def _print(c, a: Path, b: Path) -> None:
    console = Console()
    m = c.metric.upper()
    table = Table(title=f"compare ({c.utterances} utterances)", title_justify="left")
    for col, justify in (("", "left"), ("system", "left"), (m, "right"), ("errors", "right"),
                         ("words" if m == "WER" else "chars", "right"), ("better on", "right")):
        table.add_column(col, justify=justify)
    for name, path, side, wins in (("A", a, c.a, c.a_better), ("B", b, c.b, c.b_better)):
        table.add_row(name, Text(str(path)), f"{100 * side.rate:.2f}%", str(side.errors), str(side.length), str(wins))
    console.print(table)
    tests = Table(title=f"significance (ties: {c.ties})", title_justify="left")
    for col in ("test", "p", "detail"):
        tests.add_column(col, justify="right" if col == "p" else "left")
    low, high = c.interval
    bootstrap_p = f"< {1 / c.resamples:g}" if c.bootstrap_p == 0 else f"{c.bootstrap_p:.4g}"
    tests.add_row("paired bootstrap", bootstrap_p,
                  f"{c.resamples} resamples, seed {c.seed}; {m} B-A 95%: {100 * low:+.2f} to {100 * high:+.2f} points")
    tests.add_row("sign test", f"{c.sign_p:.4g}", f"exact binomial, {c.b_better} B better vs {c.a_better} A better")
    console.print(tests)
    typer.echo(c.verdict)
