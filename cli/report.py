"""`asr evaluate`'s report on the terminal (rich, on stdout), and its other outputs (--json, --csv, --html).

Everything is drawn from the plain data of `EvalReport.to_dict()`, as the JSON and the HTML are.
Diffs: deletions red struck through, insertions green, substitutions yellow `ref→hyp`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional, Sequence

import typer
from asr_cli.common import err
from rich.console import Console
from rich.table import Table
from rich.text import Text

STYLES = {"delete": "red strike", "insert": "green", "substitute": "yellow"}


def pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def diff_text(ops: Iterable[Sequence[str]], unit: str, plain: bool = False) -> Text:
    """A coloured diff of analysis.Op lists (kind, ref, hyp); tokens spaced when `unit` is "word".
    `plain` (no colours: not a terminal, NO_COLOR): deletions [-x-], insertions {+x+} (wdiff's marks),
    substituted characters in parentheses."""
    text = Text()
    for i, (kind, ref, hyp) in enumerate(ops):
        if i and unit == "word":
            text.append(" ")
        shown = {"equal": ref, "delete": ref, "insert": hyp}.get(kind, f"{ref}→{hyp}")
        if plain and kind != "equal":
            shown = {"delete": f"[-{shown}-]", "insert": f"{{+{shown}+}}"}.get(kind, shown if unit == "word" else f"({shown})")
        text.append(shown, style=STYLES.get(kind, ""))
    return text


def _table(title: str, headers: Sequence[str], rows: Iterable[Sequence], left: int = 1) -> Table:
    """A table whose first `left` columns are left-aligned text, the others right-aligned; cells are
    Text (never markup: ids and transcripts may hold brackets) unless they are Text already."""
    table = Table(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i < left else "right")
    for row in rows:
        table.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in row))
    return table


SUMMARY = (  # row label, value of a report dict (sets are columns: narrow enough for 80 columns)
    ("WER", lambda r: pct(r["wer"])),
    ("CER", lambda r: pct(r["cer"])),
    ("SER (sentences)", lambda r: pct(r.get("sentence_error_rate"))),
    ("words: subs/dels/ins", lambda r: f"{r['substitutions']}/{r['deletions']}/{r['insertions']}"),
    ("words", lambda r: r["words"]),
    ("chars: subs/dels/ins", lambda r: f"{r.get('char_substitutions', '-')}/{r.get('char_deletions', '-')}/"
                                       f"{r.get('char_insertions', '-')}"),
    ("chars", lambda r: r.get("chars", "-")),
    ("utterances", lambda r: r["utterances"]),
    ("hours", lambda r: f"{r['hours']:.3f}"),
    ("speed (× real time)", lambda r: "-" if r.get("speed") is None else f"{r['speed']:.1f}"),
)


def summary(reports: Sequence[dict]) -> Table:
    """One column per report (manifest, then the total), one row per figure."""
    headers = ("", *(r.get("name") or "evaluation" for r in reports))
    rows = list(SUMMARY)
    if reports and all(r.get("metric") == "cer" for r in reports):  # unspaced text: CER is the headline
        rows[0], rows[1] = rows[1], rows[0]
    return _table("evaluation", headers, [(label, *(value(r) for r in reports)) for label, value in rows])


def section(report: dict, plain: bool = False) -> list[Table]:
    """The worst utterances, confusions and breakdowns of one report (`plain`: diffs for no colours)."""
    unit = report.get("unit", "word")
    tables = []
    worst = report.get("worst", [])
    if worst:
        tables.append(_table("worst utterances", ("id", "diff", "errors", "WER", "CER"),
                             [(w["id"], diff_text(w["ops"], unit, plain), w["errors"], pct(w["wer"]), pct(w["cer"]))
                              for w in worst], left=2))
    c = report.get("confusions", {})
    what = "characters" if unit == "char" else "words"
    if c.get("substitutions"):
        tables.append(_table(f"substituted {what}", ("ref", "hyp", "count"), c["substitutions"], left=2))
    if c.get("deletions"):
        tables.append(_table(f"deleted {what}", ("ref", "count"), c["deletions"]))
    if c.get("insertions"):
        tables.append(_table(f"inserted {what}", ("hyp", "count"), c["insertions"]))
    for title, key in (("by speaker", "by_speaker"), ("by duration", "by_duration")):
        if report.get(key):
            tables.append(_table(title, ("group", "utterances", "words", "WER", "CER", "SER"),
                                 [(g["name"], g["utterances"], g["words"]["length"], pct(g["wer"]), pct(g["cer"]),
                                   pct(g["ser"])) for g in report[key]]))
    return tables


def print_reports(reports: Sequence[dict], console: Optional[Console] = None) -> None:
    """The summary of every report, then each one's section, on stdout."""
    console = console or Console()
    plain = console.color_system is None or console.no_color
    console.print(summary(reports))
    for report in reports:
        console.rule(Text(report.get("name") or "evaluation"))
        for table in section(report, plain):
            console.print(table)


def as_json(reports: Sequence[dict]) -> dict:
    """One report as it is (the keys `asr evaluate --json` always had); several as
    {"manifests": [...], "total": {...}} (the last report is the total)."""
    return reports[0] if len(reports) == 1 else {"manifests": list(reports[:-1]), "total": reports[-1]}


def show_evaluation(reports: list, worst: int, json_out: bool, csv: Optional[Path], html: Optional[Path]) -> None:
    """Write --csv and --html, then print the report on stdout and where the results went on stderr (or
    print the JSON, which names them)."""
    from asr import html_report
    from asr.evaluate import total, write_csv

    every = reports + ([total(reports, worst)] if len(reports) > 1 else [])
    dicts = [r.to_dict() for r in every]
    if csv is not None:
        write_csv(csv, reports)
    if html is not None:
        html_report.write(html, dicts)
    if json_out:
        typer.echo(json.dumps(as_json(dicts), ensure_ascii=False))
        return
    print_reports(dicts)
    for r in reports:
        err.print(f"per-utterance results: {r.results_path}", markup=False, highlight=False)
