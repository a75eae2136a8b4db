"""The evaluation report as one self-contained HTML file: inline CSS, no scripts, no external assets.

    html_report.write("report.html", [report.to_dict() for report in reports])

Input is the plain data `asr evaluate --json` prints (`EvalReport.to_dict()`), one per
manifest (and the total), so the page and the JSON cannot disagree. Every text is escaped;
diffs are <del> (deleted), <ins> (inserted) and <span class="sub"> (ref→hyp).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Iterable, Sequence

from asr.errors import AsrError
from asr.manifest import atomic_write_text

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f2f2f2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.diff { font-family: ui-monospace, monospace; white-space: pre-wrap; }
del { color: #b00; background: #fdd; }
ins { color: #060; background: #dfd; text-decoration: none; }
span.sub { color: #850; background: #ffc; }
.legend { margin-bottom: 1.5em; }
"""


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f} %"


def diff_html(ops: Iterable[Sequence[str]], unit: str) -> str:
    """A diff (analysis.Op lists: kind, ref, hyp) as escaped HTML; tokens spaced when `unit` is "word"."""
    parts = []
    for kind, ref, hyp in ops:
        if kind == "equal":
            parts.append(escape(ref))
        elif kind == "delete":
            parts.append(f"<del>{escape(ref)}</del>")
        elif kind == "insert":
            parts.append(f"<ins>{escape(hyp)}</ins>")
        else:
            parts.append(f'<span class="sub">{escape(ref)}→{escape(hyp)}</span>')
    return (" " if unit == "word" else "").join(parts)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool] = (), raw: int = -1) -> str:
    """A table of escaped cells; `numeric[i]` right-aligns column i; column `raw` is HTML already."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            cls = ' class="n"' if i < len(numeric) and numeric[i] else (' class="diff"' if i == raw else "")
            cells.append(f"<td{cls}>{cell if i == raw else escape(str(cell))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def summary_table(reports: Sequence[dict]) -> str:
    headers = ("set", "WER", "CER", "SER", "subs", "dels", "ins", "words", "char subs", "char dels", "char ins",
               "chars", "utterances", "hours", "× real time")
    rows = [(r["name"], pct(r["wer"]), pct(r["cer"]), pct(r.get("sentence_error_rate")), r["substitutions"],
             r["deletions"], r["insertions"], r["words"], r.get("char_substitutions", "-"),
             r.get("char_deletions", "-"), r.get("char_insertions", "-"), r.get("chars", "-"), r["utterances"],
             f"{r['hours']:.3f}", "-" if r.get("speed") is None else f"{r['speed']:.1f}")
            for r in reports]
    return _table(headers, rows, [False] + [True] * (len(headers) - 1))


def section(report: dict) -> str:
    """One manifest's (or the total's) worst utterances, confusions and breakdowns."""
    unit, metric = report.get("unit", "word"), report["metric"].upper()
    out = [f"<h2>{escape(report['name'])}</h2>", f"<p>headline: {metric} {pct(report[report['metric']])}</p>"]
    worst = report.get("worst", [])
    out.append(f"<h3>worst utterances ({len(worst)})</h3>")
    out.append(_table(("id", "errors", "WER", "CER", "diff (reference → hypothesis)"),
                      [(w["id"], w["errors"], pct(w["wer"]), pct(w["cer"]), diff_html(w["ops"], unit))
                       for w in worst], (False, True, True, True), raw=4) if worst else "<p>no errors</p>")
    c = report.get("confusions", {})
    out.append(f"<h3>confusions ({'characters' if unit == 'char' else 'words'})</h3>")
    out.append(_table(("reference", "hypothesis", "count"), c.get("substitutions", []), (False, False, True)))
    out.append(_table(("deleted", "count"), c.get("deletions", []), (False, True)))
    out.append(_table(("inserted", "count"), c.get("insertions", []), (False, True)))
    for title, key in (("by speaker", "by_speaker"), ("by duration", "by_duration")):
        groups = report.get(key, [])
        if groups:
            out.append(f"<h3>{title}</h3>")
            out.append(_table(("group", "utterances", "words", "WER", "CER", "SER"),
                              [(g["name"], g["utterances"], g["words"]["length"], pct(g["wer"]), pct(g["cer"]),
                                pct(g["ser"])) for g in groups], (False, True, True, True, True, True)))
    return "<section>" + "\n".join(out) + "</section>"


def render(reports: Sequence[dict], title: str = "asr evaluation") -> str:
    """The whole page: the summary of every report, then each report's section."""
    legend = ('<p class="legend">diff: <del>deleted</del> <ins>inserted</ins> '
              '<span class="sub">reference→hypothesis</span> (substituted)</p>')
    body = "\n".join([f"<h1>{escape(title)}</h1>", summary_table(reports), legend,
                      *(section(r) for r in reports)])
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def write(path: str | Path, reports: Sequence[dict], title: str = "asr evaluation") -> None:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, render(reports, title))
    except OSError as e:
        raise AsrError(f"{path}: cannot write the report ({e.strerror}; choose another path with --html)") from None
