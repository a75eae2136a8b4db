"""Checking manifests before training: what would fail, waste time or mislead.

    report = check([Path("data/train.jsonl"), Path("data/dev.jsonl")], None,
                   TextSettings(), FeatureSettings(), subsample=3)
    fix(report, Path("data/dev.jsonl"), Path("data/dev.fixed.jsonl"))

Each finding names an utterance (id, manifest and line number), a level and a
code:

    error    missing-audio, corrupt-audio, zero-duration, beyond-end,
             empty-text, unknown-chars, ctc-infeasible, duplicate-id,
             duplicate-audio
    warning  too-short, too-long, duration-mismatch
    info     sample-rate (one per rate found, no utterance)

Audio is checked by reading its header and then its last `TAIL_SECONDS`
(cheap at any length, and it catches a truncated file, which a header alone
may not). The vocabulary is the model's when one is given, else that of the
training manifests among the inputs (named `train*.jsonl`), else that of all
the inputs. Of duplicates the first (in input order) is kept; the later ones
are the errors.

`trainable()` is the fast variant for the trainer: manifest data only, plus
an optional audio check whose results are cached beside the manifest.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch

from asr import audio, manifest
from asr.data import ctc_frames_needed
from asr.errors import AsrError, AudioError
from asr.features import FeatureSettings
from asr.manifest import Utterance
from asr.model import output_lengths
from asr.progress import Reporter
from asr.text import TextSettings, normalize
from asr.vocab import Vocabulary, build_vocabulary

LEVELS = ("error", "warning", "info")
DURATION_TOLERANCE = 0.1  # seconds a manifest duration may differ from the file's
TAIL_SECONDS = 0.25  # seconds read at the end of each file to catch truncation
CACHE_FORMAT = "asr-check-cache"
CACHE_VERSION = 1

DESCRIPTIONS = {
    "missing-audio": "the audio file does not exist",
    "corrupt-audio": "the audio file cannot be read to its end (corrupt, truncated or not audio)",
    "zero-duration": "no audio: zero duration in the manifest or no samples in the file",
    "beyond-end": "offset + duration reach past the end of the audio file",
    "empty-text": "the transcript is empty after normalisation",
    "unknown-chars": "the transcript has characters outside the vocabulary",
    "ctc-infeasible": "the transcript is too long for its audio (CTC needs more output frames)",
    "duplicate-id": "the id was used before",
    "duplicate-audio": "the same audio (path and offset) was used before",
    "too-short": "shorter than the minimum duration",
    "too-long": "longer than the maximum duration",
    "duration-mismatch": "the manifest duration differs from the file's",
    "sample-rate": "sample rates found (audio is resampled to the feature rate)",
}


@dataclass(frozen=True)
class Finding:
    """One problem: utterance `id` at `manifest`:`line` (empty/0 for info)."""

    id: str
    manifest: str
    line: int
    level: str
    code: str
    message: str


@dataclass
class CheckReport:
    """Findings of a check over `utterances` utterances and `audio_files` files."""

    findings: list[Finding]
    utterances: int
    audio_files: int
    vocabulary: str  # where the vocabulary came from
    manifests: list[str] = field(default_factory=list)

    @property
    def has_errors(self) -> bool:
        return any(f.level == "error" for f in self.findings)

    def counts(self) -> list[tuple[str, str, int]]:
        """(level, code, count), errors first, then by code."""
        c = Counter((f.level, f.code) for f in self.findings)
        return sorted(((lv, code, n) for (lv, code), n in c.items()), key=lambda t: (LEVELS.index(t[0]), t[1]))

    def worst(self, n: int = 20) -> list[Finding]:
        """Up to `n` utterance findings, errors before warnings, in file order."""
        rows = [f for f in self.findings if f.level != "info"]
        return sorted(rows, key=lambda f: (LEVELS.index(f.level), self.manifests.index(f.manifest)
                                           if f.manifest in self.manifests else 0, f.line))[:n]

    def error_lines(self, manifest_path: str | Path) -> set[int]:
        """Line numbers of `manifest_path` that hold an error-level utterance."""
        target = Path(manifest_path).resolve()
        return {f.line for f in self.findings if f.level == "error" and Path(f.manifest).resolve() == target}

    def to_dict(self) -> dict:
        counts: dict[str, dict[str, int]] = {level: {} for level in LEVELS}
        for level, code, n in self.counts():
            counts[level][code] = n
        return {"utterances": self.utterances, "audio_files": self.audio_files, "vocabulary": self.vocabulary,
                "manifests": self.manifests, "errors": sum(counts["error"].values()),
                "warnings": sum(counts["warning"].values()), "counts": counts,
                "findings": [asdict(f) for f in self.findings]}


@dataclass(frozen=True)
class Probe:
    """What reading an audio file found: rate (Hz) and length (samples), or an error."""

    sample_rate: int = 0
    frames: int = 0
    code: str | None = None  # missing-audio | corrupt-audio | zero-duration
    message: str = ""

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


@dataclass(frozen=True)
class _Entry:
    utt: Utterance
    manifest: str
    line: int


def probe(path: str | Path) -> Probe:
    """Read the header of `path`, then its last TAIL_SECONDS to catch truncation."""
    if not os.path.isfile(path):
        return Probe(code="missing-audio", message=f"{path}: no such audio file")
    try:
        info = audio.info(path)
    except AudioError as e:
        return Probe(code="corrupt-audio", message=str(e))
    if info.frames <= 0 or info.sample_rate <= 0:
        return Probe(info.sample_rate, 0, "zero-duration", f"{path}: the file holds no audio samples")
    tail = min(info.frames, max(1, int(TAIL_SECONDS * info.sample_rate)))
    start = info.frames - tail
    try:
        got = audio.load(path, info.sample_rate, offset=start / info.sample_rate, duration=tail / info.sample_rate)
    except AudioError as e:
        return Probe(info.sample_rate, info.frames, "corrupt-audio", f"{e} (reading its last {tail} samples)")
    if got.shape[0] < tail:
        return Probe(info.sample_rate, info.frames, "corrupt-audio",
                     f"{path}: truncated: the header promises {info.frames} samples, {start + got.shape[0]} can be read")
    return Probe(info.sample_rate, info.frames)


def probe_all(paths: Sequence[str], workers: int = 2, reporter: Reporter | None = None) -> dict[str, Probe]:
    """`probe()` each path in a pool of `workers` threads (libsndfile releases the GIL)."""
    reporter = reporter or Reporter()
    out: dict[str, Probe] = {}
    with reporter.progress("audio", len(paths)) as advance, ThreadPoolExecutor(max(1, workers)) as pool:
        for path, result in zip(paths, pool.map(probe, paths)):
            out[path] = result
            advance()
    return out


def check(
    manifests: list[Path], vocab: Vocabulary | None, text_settings: TextSettings,
    feature_settings: FeatureSettings, subsample: int, *, min_duration: float = 0.1,
    max_duration: float = 30.0, workers: int = 2, reporter: Reporter | None = None,
) -> CheckReport:
    """Inspect every utterance of `manifests` (see the module docstring).

    Args:
        manifests: JSON-lines manifests; duplicates are found across all of them.
        vocab: the model's vocabulary, or None to use the training manifests'.
        subsample: the model's frames per output step (CTC feasibility).
        min_duration, max_duration: seconds outside which a warning is given.
        workers: threads reading audio headers.
    """
    entries = [e for path in manifests for e in _numbered(path)]
    vocab, source = (vocab, "the model's") if vocab is not None else _training_vocabulary(manifests, entries, text_settings)
    paths = sorted({e.utt.audio for e in entries})
    probes = probe_all(paths, workers, reporter)
    shared = Counter(e.utt.audio for e in entries)
    texts = [normalize(e.utt.text, text_settings) for e in entries]
    durations = [_frames_duration(e.utt, probes[e.utt.audio]) for e in entries]
    out_frames = _output_frames(durations, feature_settings, subsample)
    findings = []
    for e, text, frames in zip(entries, texts, out_frames):
        problems = _problems(e.utt, text, vocab, frames, probes[e.utt.audio], shared[e.utt.audio] > 1,
                             min_duration, max_duration)
        findings += [Finding(e.utt.id, e.manifest, e.line, *p) for p in problems]
    findings += _duplicates(entries)
    order = {str(p): i for i, p in enumerate(manifests)}
    findings.sort(key=lambda f: (order[f.manifest], f.line))
    findings += _sample_rates(probes, feature_settings.sample_rate)
    return CheckReport(findings, len(entries), len(paths), source, [str(p) for p in manifests])


def check_files(
    manifests: list[Path], *, model: Path | None = None, config: Path | None = None,
    overrides: Sequence[str] = (), workers: int = 2, reporter: Reporter | None = None,
) -> CheckReport:
    """`check()` against a checkpoint's vocabulary and settings (`model`), a
    settings YAML with overrides (`config`; vocabulary from the training
    manifests), or the default settings."""
    from asr import config as cfg
    from asr import record as model_record
    if model is not None and config is not None:
        raise AsrError("give either a model or a config to check against, not both")
    if model is not None:
        rec = model_record.load(model)
        vocab, text, features, subsample = rec.vocab, rec.text, rec.features, rec.model.subsample
        max_duration = rec.info.get("settings", {}).get("train", {}).get("max_duration", 30.0)
        return check(manifests, vocab, text, features, subsample, max_duration=max_duration,
                     workers=workers, reporter=reporter)
    settings = cfg.load(config, list(overrides))
    return check(manifests, None, settings.text, settings.features, settings.model.subsample,
                 max_duration=settings.train.max_duration, workers=workers, reporter=reporter)


def fix(report: CheckReport, manifest_path: Path, out_path: Path) -> tuple[int, int]:
    """Write `manifest_path` without its error-level utterances to `out_path`.

    Audio paths are rewritten relative to `out_path`'s folder (absolute when
    outside it). Returns (utterances kept, utterances removed).
    """
    bad = report.error_lines(manifest_path)
    entries = _numbered(manifest_path)
    kept = [e.utt for e in entries if e.line not in bad]
    manifest.write(out_path, kept)
    return len(kept), len(entries) - len(kept)


def trainable(
    utterances: Sequence[Utterance], vocab: Vocabulary | None, text_settings: TextSettings,
    feature_settings: FeatureSettings, subsample: int, max_duration: float, *,
    manifest_path: Path | None = None, for_training: bool = True, workers: int = 2,
) -> tuple[list[Utterance], dict[str, int]]:
    """The utterances a trainer can use, and how many were dropped per code.

    Uses manifest data only (durations, texts) unless `manifest_path` is
    given: then each audio file is also probed, with results cached in
    `cache_path(manifest_path)` keyed by (path, mtime, size), so a re-run
    reads only new or changed files. Dropped: every error-level finding of
    `check()` except duplicates, and utterances longer than `max_duration`
    seconds. `vocab` None: no vocabulary check (CTC feasibility counts the
    tokens of a vocabulary of these texts). `for_training` False (held-out
    sets): only audio and duration problems drop an utterance, text ones don't.
    Dropped-reason keys are finding codes; `DESCRIPTIONS[code]` explains them.
    """
    probes = _cached_probes(sorted({u.audio for u in utterances}), manifest_path, workers) if manifest_path else {}
    texts = [normalize(u.text, text_settings) for u in utterances]
    counting = vocab if vocab is not None else Vocabulary.build(texts)
    durations = [_frames_duration(u, probes.get(u.audio)) for u in utterances]
    out_frames = _output_frames(durations, feature_settings, subsample)
    text_codes = {"empty-text", "unknown-chars", "ctc-infeasible"}
    kept, dropped = [], Counter()
    for u, text, frames in zip(utterances, texts, out_frames):
        problems = _problems(u, text, counting, frames, probes.get(u.audio), False, 0.0, max_duration)
        codes = [code for level, code, _ in problems
                 if (level == "error" or code == "too-long") and (for_training or code not in text_codes)]
        if codes:
            dropped[codes[0]] += 1
        else:
            kept.append(u)
    return kept, dict(dropped)


def cache_path(manifest_path: Path) -> Path:
    """Where `trainable()` caches audio probes of a manifest: `.<name>.check-cache.json` beside it."""
    return Path(manifest_path).parent / f".{Path(manifest_path).name}.check-cache.json"


def _problems(
    u: Utterance, text: str, vocab: Vocabulary | None, out_frames: int, probe_: Probe | None,
    shared_file: bool, min_duration: float, max_duration: float,
) -> list[tuple[str, str, str]]:
    """(level, code, message) of one utterance; `probe_` None: audio unchecked."""
    found = _audio_problems(u, probe_, shared_file)
    if u.duration <= 0 and not any(code == "zero-duration" for _, code, _ in found):
        found.append(("error", "zero-duration", "duration is 0 s in the manifest"))
    if not text:
        found.append(("error", "empty-text", f"transcript {u.text!r} is empty after normalisation"))
    unknown = vocab.unknown(text) if vocab is not None else set()
    if unknown:
        shown = ", ".join(repr(c) for c in sorted(unknown))
        found.append(("error", "unknown-chars", f"characters not in the vocabulary: {shown}"))
    if text and vocab is not None:
        needed = ctc_frames_needed(vocab.encode(text, skip_unknown=True))
        if needed > out_frames:
            found.append(("error", "ctc-infeasible",
                          f"transcript needs {needed} output frames, the audio gives {out_frames}"))
    if 0 < u.duration < min_duration:
        found.append(("warning", "too-short", f"{u.duration:g} s is shorter than {min_duration:g} s"))
    if u.duration > max_duration:
        found.append(("warning", "too-long", f"{u.duration:g} s is longer than {max_duration:g} s"))
    return found


def _audio_problems(u: Utterance, p: Probe | None, shared_file: bool) -> list[tuple[str, str, str]]:
    if p is None:
        return []
    if p.code is not None:
        return [("error", p.code, p.message)]
    end = (u.offset or 0.0) + u.duration
    if end > p.duration + DURATION_TOLERANCE:
        what = "segment" if u.is_segment else "utterance (whole file)"
        return [("error", "beyond-end", f"{what} ends at {end:.3f} s, the file at {p.duration:.3f} s")]
    if not u.is_segment and not shared_file and abs(u.duration - p.duration) > DURATION_TOLERANCE:
        return [("warning", "duration-mismatch", f"manifest says {u.duration:.3f} s, the file holds {p.duration:.3f} s")]
    return []


def _frames_duration(u: Utterance, p: Probe | None) -> float:
    """Seconds of audio the trainer will turn into features: the whole file when
    there is no offset (`audio.load_utterance` reads it all), else the segment
    (an offset of 0 included)."""
    if p is not None and p.code is None and not u.is_segment:
        return p.duration
    return u.duration


def _output_frames(durations: Sequence[float], fs: FeatureSettings, subsample: int) -> list[int]:
    """Model output frames for each duration in seconds."""
    if not durations:
        return []
    frames = torch.tensor([fs.frames(max(d, 0.0)) for d in durations], dtype=torch.long)
    return output_lengths(frames, subsample).tolist()


def _duplicates(entries: Iterable[_Entry]) -> list[Finding]:
    """Later uses of an id, or of an audio path + offset (None: the whole file), are errors."""
    ids: dict[str, _Entry] = {}
    segments: dict[tuple[str, float | None], _Entry] = {}
    out = []
    for e in entries:
        first = ids.setdefault(e.utt.id, e)
        if first is not e:
            out.append(Finding(e.utt.id, e.manifest, e.line, "error", "duplicate-id",
                               f"id already used at {first.manifest}:{first.line}"))
        key = (os.path.normpath(e.utt.audio), None if e.utt.offset is None else round(e.utt.offset, 4))
        first = segments.setdefault(key, e)
        if first is not e:
            out.append(Finding(e.utt.id, e.manifest, e.line, "error", "duplicate-audio",
                               f"same audio and offset as {first.utt.id!r} at {first.manifest}:{first.line}"))
    return out


def _sample_rates(probes: dict[str, Probe], target: int) -> list[Finding]:
    rates = Counter(p.sample_rate for p in probes.values() if p.code is None)
    return [Finding("", "", 0, "info", "sample-rate",
                    f"{rate} Hz: {n} file(s)" + ("" if rate == target else f" (resampled to {target} Hz)"))
            for rate, n in sorted(rates.items())]


def _training_vocabulary(manifests: list[Path], entries: list[_Entry], ts: TextSettings) -> tuple[Vocabulary, str]:
    """Vocabulary of the train*.jsonl manifests among the inputs, else of all."""
    train = {str(p) for p in manifests if p.name.startswith("train") and p.name.endswith(".jsonl")}
    chosen = [e for e in entries if e.manifest in train] if train else entries
    names = ", ".join(sorted(train)) if train else "all the given manifests"
    return build_vocabulary([normalize(e.utt.text, ts) for e in chosen], ts), f"the training set ({names})"


def _numbered(path: Path) -> list[_Entry]:
    """Utterances of a manifest with their line numbers."""
    return [_Entry(u, str(path), n) for n, u in manifest.read_numbered(path)]


def _cached_probes(paths: Sequence[str], manifest_path: Path, workers: int) -> dict[str, Probe]:
    """Probes of `paths`, reusing cached ones whose (mtime, size) still match."""
    cache_file = cache_path(manifest_path)
    cached = _read_cache(cache_file)
    out, todo, keys = {}, [], {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            out[path] = Probe(code="missing-audio", message=f"{path}: no such audio file")
            continue
        keys[path] = [st.st_mtime_ns, st.st_size]
        hit = cached.get(path)
        if hit and hit[:2] == keys[path]:
            out[path] = Probe(*hit[2:])
        else:
            todo.append(path)
    out.update(probe_all(todo, workers))
    if todo:
        entries = {p: keys[p] + [out[p].sample_rate, out[p].frames, out[p].code, out[p].message] for p in keys}
        _write_cache(cache_file, entries)
    return out


def _read_cache(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    ok = isinstance(data, dict) and data.get("format") == CACHE_FORMAT and data.get("version") == CACHE_VERSION
    files = data.get("files") if ok else None
    return files if isinstance(files, dict) else {}


def _write_cache(path: Path, files: dict[str, list]) -> None:
    # A cache that cannot be written (read-only data folder) only costs time.
    try:
        text = json.dumps({"format": CACHE_FORMAT, "version": CACHE_VERSION, "files": files})
        manifest.atomic_write_text(path, text)
    except OSError:
        pass
