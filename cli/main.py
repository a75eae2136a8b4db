"""`asr`: each command parses its options, calls one library function, prints.

Results go to stdout; progress, logs and errors to stderr. Exit status: 0 ok,
1 an explained failure, 2 usage, 130 interrupted (after saving).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

import asr
from asr.errors import AsrError, ConfigError
from asr.runtime import resolve_device
from asr_cli.export import export
from asr_cli.lm import app as lm_app
from asr_cli.plot import plot as plot_command
from asr_cli.common import (BeamSize, BeamSizeToken, Decoder, Device, Hotword, HotwordsFile, Lexicon, Lm, LmWeight, Model, Nbest,
                            Quiet, UnkScore, WordScore, decoding, err, errors, model_path, reporter)
from asr_cli.compare import compare
from asr_cli.transcribe import transcribe

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Train and use CTC speech recognisers.")
app.add_typer(lm_app, name="lm")
app.command()(export)
app.command()(transcribe)
app.command()(compare)
app.command(name="plot")(plot_command)


def _version(value: bool) -> None:
    if value:
        from asr.runtime import versions
        v = versions()
        typer.echo(f"asr {asr.__version__} (torch {v['torch']}, torchaudio {v['torchaudio']}, Python {v['python']})")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print asr's, torch's and torchaudio's versions and exit.")] = False) -> None:
    """Train and use CTC speech recognisers: prep, train, evaluate, transcribe, run."""
    from asr.runtime import require_torchaudio
    try:
        require_torchaudio()  # every command needs it: one clear line instead of a traceback
    except AsrError as e:
        err.print(f"error: {e}", markup=False, highlight=False)
        raise typer.Exit(1)


def _options(items: Optional[list[str]]) -> dict:
    """`--set key=value` corpus options, as written: the importer reads each as its option's type."""
    options = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"option {item!r} is not of the form key=value")
        options[key] = value
    return options


@app.command()
def prep(
    corpus: Annotated[str, typer.Argument(help="Corpus name (see the README: digits, yesno, an4, fsdd, librispeech, ...).")],
    out: Annotated[Path, typer.Argument(help="Folder for train/dev/test.jsonl.")],
    src: Annotated[Optional[Path], typer.Option(help="Where the corpus lies (with --download: where to put it).")] = None,
    download: Annotated[bool, typer.Option("--download", help="Fetch the corpus first (an4, yesno, librispeech); resumable, checksum-verified.")] = False,
    subsets: Annotated[Optional[str], typer.Option(help="With --download: archives to fetch, comma-separated (LibriSpeech).")] = None,
    mirror: Annotated[Optional[str], typer.Option(help="With --download: fetch the same archive names from this URL instead.")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Corpus option: key=value (repeatable).")] = None,
    quiet: Quiet = False,
) -> None:
    """Prepare a corpus as JSON-lines manifests.

    Example: asr prep yesno data/yesno --src ../shared/data/yesno/waves_yesno
    """
    from asr import corpora
    log = reporter(quiet).log
    with errors():
        if download:
            from asr.download import fetch
            src = fetch(corpus, src or Path("downloads"), subsets.split(",") if subsets else None, base_url=mirror, log=log)
        paths = corpora.prepare(corpus, out, src, _options(set_), log=log)
    for name, path in paths.items():
        typer.echo(f"{name}\t{path}")


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="Folder with train.jsonl and dev.jsonl (from asr prep).", exists=True, file_okay=False)],
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML (e.g. recipes/digits/train.yaml).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a setting: key=value (repeatable).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Experiment folder [default: exp/<name of DATA>].")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the newest checkpoint in OUT/checkpoints.")] = False,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N [default: the settings' train.device].")] = None,
    plot: Annotated[bool, typer.Option("--plot", help="Redraw the training curves in OUT/plots at every epoch's end (as `asr plot OUT`).")] = False,
    quiet: Quiet = False,
) -> None:
    """Train a CTC model; writes OUT/model.pt (best by dev WER) and OUT/metrics.jsonl.

    Example: asr train data/digits --config recipes/digits/train.yaml --set train.epochs=5
    Several processes: torchrun --nproc-per-node 2 -m asr_cli.main train data/digits
    """
    from asr import config as cfg
    from asr.distributed import Distributed
    from asr.recipe import write_result
    from asr.train import train as run_train
    dist = Distributed(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))
    with errors():
        settings = cfg.load(config, (set_ or []) + ([f"train.device={device}"] if device else []))
        out = out or Path("exp") / data.resolve().name
        result = run_train(data, settings, out, reporter(quiet or not dist.is_main), resume=resume, dist=dist, plot=plot)
        if dist.is_main:
            write_result(out / "result.json", result)
    if dist.is_main:
        typer.echo(json.dumps({"model": str(result.model_path), "dev_wer": result.best_dev_wer, "dev_cer": result.best_dev_cer}))


@app.command()
def evaluate(
    manifests: Annotated[list[Path], typer.Argument(help="Manifest(s) to score: each reported, then their total.", exists=True, dir_okay=False)],
    model: Model = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Per-utterance results file; a folder with several MANIFESTs [default: eval-<folder>-<manifest>-<hash>.jsonl beside the model].")] = None,
    worst: Annotated[int, typer.Option("--worst", min=0, help="Worst utterances to show, with their diffs (by word; by character for unspaced scripts).")] = 10,
    csv: Annotated[Optional[Path], typer.Option("--csv", help="Also write per-utterance rows (id, speaker, duration, ref, hyp, errors, words, wer, cer) here.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the report as one self-contained HTML file here.")] = None,
    device: Device = "auto",
    decoder: Decoder = None, lm: Lm = None, lexicon: Lexicon = None, beam_size: BeamSize = None,
    lm_weight: LmWeight = None, word_score: WordScore = None, nbest: Nbest = None,
    hotword: Hotword = None, hotwords: HotwordsFile = None, unk_score: UnkScore = None,
    beam_size_token: BeamSizeToken = None,
    quiet: Quiet = False,
) -> None:
    """Word, character and sentence error rates of a model on manifests, the worst utterances, confusions, breakdowns.

    Example: asr evaluate data/an4/dev.jsonl data/an4/test.jsonl --worst 20 --html report.html
    """
    from asr_cli.report import show_evaluation

    from asr.evaluate import evaluate_all, results_paths
    with errors():
        options = decoding(decoder, lm, lexicon, beam_size, lm_weight, word_score, nbest, hotword, hotwords, unk_score,
                           beam_size_token)
        reports = evaluate_all(manifests, model_path(model), resolve_device(device), reporter=reporter(quiet),
                               results_paths=results_paths(manifests, out), worst=worst, **options)
        show_evaluation(reports, worst, as_json, csv, html)


def _print_report(report) -> None:
    from asr_cli.report import show_evaluation
    show_evaluation([report], 10, False, None, None)


@app.command()
def align(
    source: Annotated[Path, typer.Argument(help="A manifest (.jsonl: each utterance with its text) or an audio file.", exists=True, dir_okay=False)],
    text: Annotated[Optional[str], typer.Argument(help="The transcript, with an audio file.")] = None,
    model: Model = None,
    plot: Annotated[Optional[Path], typer.Option(help="Draw the alignment: a PNG for one audio file, a folder of <id>.png for a manifest.")] = None,
    device: Device = "auto",
) -> None:
    """Force-align audio with its transcript: word and token times as JSON lines.

    Example: asr align recording.wav "one two three" --plot alignment.png
    """
    from asr.transcribe import align_all
    failed = total = 0
    with errors():
        for item in align_all(source, text, model_path(model), resolve_device(device), plot):
            total += 1
            if item.error:
                failed += 1
                err.print(f"error: {item.id} ({item.audio}): {item.error}", markup=False, highlight=False)
            else:
                typer.echo(json.dumps(item.found, ensure_ascii=False))
    if failed:
        err.print(f"error: {failed} of {total} utterance(s) could not be aligned (see above)", markup=False,
                  highlight=False)
        raise typer.Exit(1)


@app.command()
def run(
    recipe: Annotated[str, typer.Argument(help="Recipe name: digits, cmn, yesno, an4, fsdd, librispeech100, aishell (the folders of recipes/).")],
    src: Annotated[Optional[Path], typer.Option(help="Where the corpus lies (not needed for digits, cmn).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a setting: key=value (repeatable).")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto, cpu, cuda or cuda:N [default: the recipe's train.device].")] = None,
    plot: Annotated[bool, typer.Option("--plot", help="Redraw the training curves in exp/RECIPE/plots at every epoch's end.")] = False,
    quiet: Quiet = False,
) -> None:
    """Run a recipe: prep -> train -> evaluate on test (finished stages are skipped).

    Example: asr run digits
    """
    from asr.recipe import run as run_recipe
    with errors():
        result = run_recipe(recipe, Path("."), src, (set_ or []) + ([f"train.device={device}"] if device else []),
                            reporter(quiet), plot=plot)
    _print_report(result.report)
    err.print(f"transcribe with: asr transcribe --model {result.model_path} FILE.wav", markup=False)


@app.command()
def check(
    manifests: Annotated[list[Path], typer.Argument(help="Manifests to check (duplicates are found across all of them).", exists=True, dir_okay=False)],
    model: Annotated[Optional[Path], typer.Option("--model", "-m", help="Check against this checkpoint's vocabulary and settings.")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Check against a settings YAML (vocabulary from the train*.jsonl manifests given, else all).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a setting: key=value (repeatable; not with --model).")] = None,
    fix: Annotated[Optional[Path], typer.Option("--fix", help="Write the manifest without its error-level utterances here (a folder, one file per input, when several MANIFESTs are given).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
    quiet: Quiet = False,
) -> None:
    """Find utterances that would fail or mislead training; exit 1 if any error-level finding.

    Example: asr check data/an4/train.jsonl data/an4/dev.jsonl --fix data/an4-fixed
    """
    from asr.check import check_files
    if model is not None and (config is not None or set_):
        raise typer.BadParameter("--model brings its own settings: leave out --config and --set", param_hint="--model")
    targets = _fix_targets(manifests, fix)
    with errors():
        if model is not None:
            model = model_path(model)
        report = check_files(manifests, model=model, config=config, overrides=set_ or [], reporter=reporter(quiet))
        _write_fixed(report, targets, quiet)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_check(report)
    n = len({(f.manifest, f.line) for f in report.findings if f.level == "error"})
    if n:
        hint = "" if fix else " (write a manifest without them with --fix OUT.jsonl)"
        err.print(f"error: {n} of {report.utterances} utterance(s) have error-level findings{hint}", markup=False, highlight=False)
        raise typer.Exit(1)


def _fix_targets(manifests: list[Path], fix: Optional[Path]) -> list[tuple[Path, Path]]:
    """(manifest, output) pairs for --fix: OUT itself for one manifest, OUT/<name> for several."""
    if fix is None:
        return []
    if len(manifests) == 1 and not fix.is_dir():
        return [(manifests[0], fix)]
    names = [m.name for m in manifests]
    if len(set(names)) < len(names):
        raise typer.BadParameter("several MANIFESTs share a name; fix them one at a time", param_hint="--fix")
    return [(m, fix / m.name) for m in manifests]


def _write_fixed(report, targets: list[tuple[Path, Path]], quiet: bool) -> None:
    from asr.check import fix as fix_manifest
    for source, out in targets:
        kept, removed = fix_manifest(report, source, out)
        if not quiet:
            err.print(f"{out}: {kept} utterance(s) kept, {removed} removed", markup=False, highlight=False)


def _print_check(report) -> None:
    from asr.check import DESCRIPTIONS
    console = Console()
    table = Table(title=f"check: {report.utterances} utterances, {report.audio_files} audio files")
    for col, justify in (("level", "left"), ("code", "left"), ("count", "right"), ("meaning", "left")):
        table.add_column(col, justify=justify)
    for level, code, n in report.counts():
        shown = n if level != "info" else ""
        table.add_row(level, code, str(shown), DESCRIPTIONS.get(code, ""))
    console.print(table)
    for f in (f for f in report.findings if f.level == "info"):
        console.print(f"info: {f.message}", markup=False, highlight=False)
    worst = report.worst(20)
    if worst:
        # Plain lines, never cut: ids, paths and messages are what the reader acts on.
        typer.echo(f"worst offenders ({len(worst)} of {sum(f.level != 'info' for f in report.findings)}):")
        for f in worst:
            typer.echo(f"  {f.id}  {f.manifest}:{f.line}  {f.level} {f.code}: {f.message}")
    typer.echo(f"vocabulary: {report.vocabulary}")


@app.command()
def stats(
    manifest: Annotated[Path, typer.Argument(help="Manifest to describe.", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Hours, utterances, speakers, durations, transcript lengths and characters of a manifest.

    Example: asr stats data/an4/train.jsonl --json
    """
    from asr.stats import stats as run_stats
    with errors():
        s = run_stats(manifest)
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False))
        return
    console = Console()
    d = s["duration"]
    table = Table(title=str(manifest))
    for col in ("utterances", "hours", "speakers", "min s", "mean s", "max s"):
        table.add_column(col, justify="right")
    table.add_row(str(s["utterances"]), f"{s['hours']:.3f}", str(s["speakers"] if s["speakers"] is not None else "-"),
                  f"{d['min']:.2f}", f"{d['mean']:.2f}", f"{d['max']:.2f}")
    console.print(table)
    hist = Table(title="transcript length (characters)")
    hist.add_column("from", justify="right")
    hist.add_column("to", justify="right")
    hist.add_column("utterances", justify="right")
    edges = s["text_length"]["edges"]
    for i, n in enumerate(s["text_length"]["counts"]):
        hist.add_row(str(edges[i]), str(edges[i + 1] - 1), str(n))
    console.print(hist)
    chars = "  ".join(f"{c!r}:{n}" for c, n in s["characters"].items())
    console.print(f"characters ({len(s['characters'])}): {chars}", markup=False, highlight=False)


def entry() -> None:
    """The `asr` executable: the app, then, after a command that asked for it (transcribe), an
    exit without the interpreter's teardown, which costs 0.4 s once torch is loaded: a fifth of
    transcribing one short file. Everything is written and flushed by then."""
    from asr_cli import common

    try:
        app()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    if not common.fast_exit:
        raise SystemExit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
