"""Score a model on manifests: WER, CER, edit counts, hours, speed; per-utterance results and
what explains them (asr.analysis).

The headline metric is WER, or CER when no reference has a space (Mandarin,
AISHELL: there WER would be a sentence error rate); see
`metrics.headline_metric`. The per-utterance results (JSON lines: id, ref, hyp, correct,
speaker, duration) are written beside the model, and are what `asr compare` reads back.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from asr import manifest
from asr.analysis import CSV_COLUMNS, Analysis, analyse, rows
from asr.config import to_dict
from asr.errors import AsrError, ManifestError, UsageError
from asr.manifest import Utterance
from asr.metrics import ErrorRates, error_rates, headline_metric
from asr.progress import Reporter
from asr.recognizer import Recognizer
from asr.text import normalize


@dataclass
class EvalReport:
    """Error rates, hours of audio, where the per-utterance results went, the headline metric
    ("wer" or "cer"), the analysis of the results and the seconds spent recognising."""

    rates: ErrorRates
    hours: float
    results_path: Path | None
    metric: str = "wer"
    decoding: dict = field(default_factory=dict)  # the decoding settings used
    analysis: Analysis | None = None
    seconds: float = 0.0  # features, model and decoding, wall clock
    name: str = ""  # the manifest's path, or "total"
    records: list[dict] = field(default_factory=list, repr=False)  # the per-utterance results

    @property
    def speed(self) -> float | None:
        """Seconds of audio recognised per second (None when not timed)."""
        return self.hours * 3600 / self.seconds if self.seconds > 0 else None

    def to_dict(self) -> dict:
        out = {**self.rates.to_dict(), "metric": self.metric, "hours": self.hours,
               "results": None if self.results_path is None else str(self.results_path),
               "decoding": self.decoding, "name": self.name, "seconds": round(self.seconds, 3),
               "speed": None if self.speed is None else round(self.speed, 2)}
        if self.analysis is not None:
            a = self.analysis.to_dict()
            s = a.pop("summary")
            out.update({"sentence_error_rate": s["ser"], "sentence_errors": s["sentence_errors"],
                        "chars": s["chars"]["length"], "char_substitutions": s["chars"]["substitutions"],
                        "char_deletions": s["chars"]["deletions"], "char_insertions": s["chars"]["insertions"], **a})
        return out


def results_name(manifest_path: str | Path) -> str:
    """`eval-<manifest's folder>-<manifest stem>-<8 hex>.jsonl`, the hex from the manifest's resolved
    path, so two `test.jsonl` of different folders never overwrite each other's results."""
    resolved = Path(manifest_path).resolve()
    digest = hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:8]
    folder = resolved.parent.name or "root"
    return f"eval-{folder}-{resolved.stem}-{digest}.jsonl"


def default_results_path(manifest_path: str | Path, model_path: str | Path) -> Path:
    """`results_name` of the manifest, in the model's folder."""
    return Path(model_path).parent / results_name(manifest_path)


def results_paths(manifest_paths: Sequence[Path], out: Path | None) -> list[Path | None]:
    """Where each manifest's results go: `out` for one manifest; for several, `out` is a folder
    and each file is named by `results_name`; None: `default_results_path`."""
    if out is None:
        return [None] * len(manifest_paths)
    if len(manifest_paths) == 1:
        return [out]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: with several manifests, --out is a folder for their results files")
    return [out / results_name(m) for m in manifest_paths]


def evaluate(manifest_path: str | Path, model_path: str | Path, device: str = "cpu",
             reporter: Reporter | None = None, results_path: str | Path | None = None,
             hotwords: dict[str, float] | None = None, worst: int = 10, **decoding) -> EvalReport:
    """Transcribe every utterance of the manifest and score against its text.

    Per-utterance references and hypotheses go to `results_path` (default:
    `default_results_path`). `decoding` keys and `hotwords` override the model's decoding
    settings (Recognizer.load). An empty manifest is a ManifestError, and an unreadable
    audio file an AudioError naming its manifest line. `worst`: utterances the analysis keeps.
    """
    return evaluate_all([manifest_path], model_path, device, reporter, [results_path], hotwords, worst, **decoding)[0]


def evaluate_all(manifest_paths: Sequence[str | Path], model_path: str | Path, device: str = "cpu",
                 reporter: Reporter | None = None, results_paths: Sequence[str | Path | None] | None = None,
                 hotwords: dict[str, float] | None = None, worst: int = 10, **decoding) -> list[EvalReport]:
    """`evaluate` of each manifest with one model, loaded once; every manifest is read first,
    so that a malformed or empty one fails before any decoding."""
    reporter = reporter or Reporter()
    paths, model_path = [Path(p) for p in manifest_paths], Path(model_path)
    outs = list(results_paths) if results_paths is not None else [None] * len(paths)
    utterances = [_read(p) for p in paths]
    rec = Recognizer.load(model_path, device, hotwords=hotwords, **decoding)
    settings = {**to_dict(rec.decoding), **({"hotwords": len(hotwords)} if hotwords else {})}
    reports = []
    for path, utts, out in zip(paths, utterances, outs):
        hyps, seconds = _recognise(rec, utts, reporter)
        refs = [normalize(u.text, rec.text_settings) for u in utts]
        records = [_record(u, r, h) for u, r, h in zip(utts, refs, hyps)]
        results = Path(out) if out is not None else default_results_path(path, model_path)
        _write_results(results, records)
        reports.append(EvalReport(error_rates(refs, hyps), sum(u.duration for u in utts) / 3600, results,
                                  headline_metric(refs), settings, analyse(records, worst), seconds, str(path),
                                  records))
    return reports


def total(reports: Sequence[EvalReport], worst: int = 10) -> EvalReport:
    """One report over all the reports' utterances (no results file of its own); each id is
    prefixed with its manifest's name, as ids of different manifests may be the same."""
    records = [{**r, "id": f"{report.name}:{r['id']}"} for report in reports for r in report.records]
    refs, hyps = [r["ref"] for r in records], [r["hyp"] for r in records]
    return EvalReport(error_rates(refs, hyps), sum(r.hours for r in reports), None, headline_metric(refs),
                      reports[0].decoding if reports else {}, analyse(records, worst),
                      sum(r.seconds for r in reports), "total", records)


def _read(path: Path) -> list[Utterance]:
    utts = manifest.read(path)
    if not utts:
        raise ManifestError(f"{path}: no utterances to evaluate (the manifest is empty; "
                            "check the path or re-run `asr prep`)")
    return utts


def _recognise(rec: Recognizer, utts: list[Utterance], reporter: Reporter) -> tuple[list[str], float]:
    """Hypotheses of the utterances and the wall-clock seconds that took (reading audio included)."""
    start = time.perf_counter()
    feats = []
    with reporter.progress("features", len(utts)) as advance:
        for u in utts:
            feats.append(rec.utterance_features(u))
            advance()
    hyps = rec.decode_features(feats)
    return hyps, time.perf_counter() - start


def _record(u: Utterance, ref: str, hyp: str) -> dict:
    record = {"id": u.id, "ref": ref, "hyp": hyp, "correct": ref == hyp}
    if u.speaker is not None:
        record["speaker"] = u.speaker
    record["duration"] = round(u.duration, 4)
    return record


def _write_results(path: Path, records: list[dict]) -> None:
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest.atomic_write_text(path, lines)
    except OSError as e:
        raise AsrError(f"{path}: cannot write the per-utterance results ({e.strerror}; "
                       "choose another path with --out)") from None


def read_results(path: str | Path) -> list[dict]:
    """The per-utterance results `evaluate` wrote (JSON lines with at least id, ref and hyp).
    AsrError naming file:line for anything else (a manifest, say)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AsrError(f"{path}: cannot read the results ({getattr(e, 'strerror', None) or e})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise AsrError(f"{path}:{number}: not JSON ({e.msg})") from None
        if not isinstance(record, dict) or not all(isinstance(record.get(k), str) for k in ("ref", "hyp")) \
                or "id" not in record:
            raise AsrError(f"{path}:{number}: not a per-utterance result of `asr evaluate` (one needs id, ref "
                           "and hyp; a manifest is scored with `asr evaluate MANIFEST --model ...`)")
        records.append(record)
    if not records:
        raise AsrError(f"{path}: no results in it (write them with `asr evaluate MANIFEST --out {path.name}`)")
    return records


def write_csv(path: str | Path, reports: Sequence[EvalReport]) -> None:
    """Per-utterance rows of every report (manifest, then analysis.CSV_COLUMNS), one header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=("manifest", *CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for report in reports:
        for row in rows(report.analysis.utterances if report.analysis else []):
            writer.writerow({"manifest": report.name, **row})
    _write_text(Path(path), buffer.getvalue(), "--csv")


def _write_text(path: Path, text: str, option: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest.atomic_write_text(path, text)
    except OSError as e:
        raise AsrError(f"{path}: cannot write it ({e.strerror}; choose another path with {option})") from None
