"""Score a model on a manifest: WER, CER, edit counts, hours; per-utterance results.

The headline metric is WER, or CER when no reference has a space (Mandarin,
AISHELL: there WER would be a sentence error rate); see
`metrics.headline_metric`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from asr import manifest
from asr.config import to_dict
from asr.errors import AsrError, ManifestError
from asr.metrics import ErrorRates, error_rates, headline_metric
from asr.progress import Reporter
from asr.recognizer import Recognizer
from asr.text import normalize


@dataclass
class EvalReport:
    """Error rates, hours of audio, where the per-utterance results went, and
    the headline metric ("wer" or "cer")."""

    rates: ErrorRates
    hours: float
    results_path: Path
    metric: str = "wer"
    decoding: dict = field(default_factory=dict)  # the decoding settings used

    def to_dict(self) -> dict:
        return {**self.rates.to_dict(), "metric": self.metric, "hours": self.hours, "results": str(self.results_path),
                "decoding": self.decoding}


def default_results_path(manifest_path: str | Path, model_path: str | Path) -> Path:
    """`<model folder>/eval-<manifest's folder>-<manifest stem>-<8 hex>.jsonl`, the hex
    from the manifest's resolved path, so two `test.jsonl` of different folders
    never overwrite each other's results."""
    resolved = Path(manifest_path).resolve()
    digest = hashlib.sha1(str(resolved).encode("utf-8")).hexdigest()[:8]
    folder = resolved.parent.name or "root"
    return Path(model_path).parent / f"eval-{folder}-{resolved.stem}-{digest}.jsonl"


def evaluate(manifest_path: str | Path, model_path: str | Path, device: str = "cpu",
             reporter: Reporter | None = None, results_path: str | Path | None = None,
             hotwords: dict[str, float] | None = None, **decoding) -> EvalReport:
    """Transcribe every utterance of the manifest and score against its text.

    Per-utterance references and hypotheses go to `results_path` (default:
    `default_results_path`). `decoding` keys and `hotwords` override the model's decoding
    settings (Recognizer.load). An empty manifest is a ManifestError, and an unreadable
    audio file an AudioError naming its manifest line.
    """
    reporter = reporter or Reporter()
    manifest_path, model_path = Path(manifest_path), Path(model_path)
    utts = manifest.read(manifest_path)
    if not utts:
        raise ManifestError(f"{manifest_path}: no utterances to evaluate (the manifest is empty; "
                            "check the path or re-run `asr prep`)")
    rec = Recognizer.load(model_path, device, hotwords=hotwords, **decoding)
    feats = []
    with reporter.progress("features", len(utts)) as advance:
        for u in utts:
            feats.append(rec.utterance_features(u))
            advance()
    hyps = rec.decode_features(feats)
    refs = [normalize(u.text, rec.text_settings) for u in utts]
    rates = error_rates(refs, hyps)
    results = Path(results_path) if results_path is not None else default_results_path(manifest_path, model_path)
    lines = []
    for u, r, h in zip(utts, refs, hyps):
        lines.append(json.dumps({"id": u.id, "ref": r, "hyp": h, "correct": r == h}, ensure_ascii=False))
    try:
        results.parent.mkdir(parents=True, exist_ok=True)
        manifest.atomic_write_text(results, "\n".join(lines) + "\n")
    except OSError as e:
        raise AsrError(f"{results}: cannot write the per-utterance results ({e.strerror}; "
                       "choose another path with --out)") from None
    return EvalReport(rates, sum(u.duration for u in utts) / 3600, results, headline_metric(refs),
                      {**to_dict(rec.decoding), **({"hotwords": len(hotwords)} if hotwords else {})})
