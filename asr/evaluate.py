"""Score a model on a manifest: WER, CER, edit counts, hours; per-utterance results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from asr import manifest
from asr.data import utterance_features
from asr.metrics import ErrorRates, error_rates
from asr.progress import Reporter
from asr.recognizer import Recognizer
from asr.text import normalize


@dataclass
class EvalReport:
    rates: ErrorRates
    hours: float
    results_path: Path

    def to_dict(self) -> dict:
        return {**self.rates.to_dict(), "hours": self.hours, "results": str(self.results_path)}


def evaluate(manifest_path: str | Path, model_path: str | Path, device: str = "cpu",
             reporter: Reporter | None = None) -> EvalReport:
    """Transcribe every utterance of the manifest and score against its text.

    Per-utterance references and hypotheses go to
    `<model folder>/eval-<manifest name>.jsonl`.
    """
    reporter = reporter or Reporter()
    manifest_path, model_path = Path(manifest_path), Path(model_path)
    rec = Recognizer.load(model_path, device)
    utts = manifest.read(manifest_path)
    feats = []
    with reporter.progress("features", len(utts)) as advance:
        for u in utts:
            feats.append(rec.normalizer(utterance_features(u, rec.logmel)))
            advance()
    hyps = rec.decode_features(feats)
    refs = [normalize(u.text, rec.text_settings) for u in utts]
    rates = error_rates(refs, hyps)
    results = model_path.parent / f"eval-{manifest_path.stem}.jsonl"
    lines = []
    for u, r, h in zip(utts, refs, hyps):
        lines.append(json.dumps({"id": u.id, "ref": r, "hyp": h, "correct": r == h}, ensure_ascii=False))
    manifest.atomic_write_text(results, "\n".join(lines) + "\n")
    return EvalReport(rates, sum(u.duration for u in utts) / 3600, results)
