"""Where the errors are: per-utterance diffs, confusion counts, breakdowns by speaker and duration.

    a = analyse([{"id": "u1", "ref": "the cat sat", "hyp": "the cat sit", "speaker": "s1", "duration": 1.5}])
    a.summary.wer, a.worst[0].ops, a.confusions.substitutions, a.by_speaker, a.by_duration

Records are the per-utterance results `asr evaluate` writes (id, ref, hyp; speaker and
duration when known). Every alignment and count comes from jiwer's alignment output
(`process_words` / `process_characters`); nothing here computes an edit distance. The unit
of diffs and confusions is the word, or the character when no reference has a space
(`metrics.headline_metric`: Mandarin). An empty reference aligns with nothing: its
hypothesis tokens are all insertions (as in `metrics.error_rates`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import jiwer

from asr.metrics import headline_metric

DURATION_EDGES = (2.0, 5.0, 10.0, 20.0)  # seconds: <2, 2-5, 5-10, 10-20, >20
NO_SPEAKER = "(none)"
KINDS = ("equal", "substitute", "delete", "insert")


@dataclass(frozen=True)
class Op:
    """One aligned token: `kind` is one of KINDS; `ref`/`hyp` is "" on the side that has none."""

    kind: str
    ref: str
    hyp: str

    def to_list(self) -> list[str]:
        return [self.kind, self.ref, self.hyp]


@dataclass(frozen=True)
class Edits:
    """Substitutions, deletions and insertions against `length` reference tokens."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    length: int = 0

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference token (an empty reference counts its insertions, as error_rates does)."""
        return self.errors / max(self.length, 1)

    def __add__(self, other: "Edits") -> "Edits":
        return Edits(self.substitutions + other.substitutions, self.deletions + other.deletions,
                     self.insertions + other.insertions, self.length + other.length)

    def to_dict(self) -> dict:
        return {"substitutions": self.substitutions, "deletions": self.deletions,
                "insertions": self.insertions, "errors": self.errors, "length": self.length}


@dataclass(frozen=True)
class Scored:
    """One utterance aligned at word and character level; `ops` in the analysis unit."""

    id: str
    ref: str
    hyp: str
    words: Edits
    chars: Edits
    ops: tuple[Op, ...]
    speaker: str | None = None
    duration: float | None = None

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate

    def edits(self, unit: str) -> Edits:
        return self.words if unit == "word" else self.chars

    def to_dict(self, unit: str) -> dict:
        return {"id": self.id, "speaker": self.speaker, "duration": self.duration, "ref": self.ref, "hyp": self.hyp,
                "errors": self.edits(unit).errors, "wer": self.wer, "cer": self.cer,
                "ops": [op.to_list() for op in self.ops]}


@dataclass(frozen=True)
class Group:
    """Totals over a set of utterances (the whole set, one speaker, one duration bucket)."""

    name: str
    utterances: int
    words: Edits
    chars: Edits
    sentence_errors: int  # utterances whose hypothesis is not exactly the reference
    seconds: float  # audio, where durations are known

    @property
    def wer(self) -> float:
        return self.words.rate

    @property
    def cer(self) -> float:
        return self.chars.rate

    @property
    def ser(self) -> float:
        return self.sentence_errors / max(self.utterances, 1)

    def to_dict(self) -> dict:
        return {"name": self.name, "utterances": self.utterances, "wer": self.wer, "cer": self.cer, "ser": self.ser,
                "sentence_errors": self.sentence_errors, "seconds": round(self.seconds, 3),
                "words": self.words.to_dict(), "chars": self.chars.to_dict()}


@dataclass(frozen=True)
class Confusions:
    """The most frequent substitutions (ref, hyp, count), deleted and inserted tokens (token, count)."""

    unit: str
    substitutions: list[tuple[str, str, int]]
    deletions: list[tuple[str, int]]
    insertions: list[tuple[str, int]]

    def to_dict(self) -> dict:
        return {"unit": self.unit, "substitutions": [list(s) for s in self.substitutions],
                "deletions": [list(d) for d in self.deletions], "insertions": [list(i) for i in self.insertions]}


@dataclass
class Analysis:
    """Everything `asr evaluate` explains about one set of results."""

    unit: str  # "word" or "char": the unit of diffs and confusions
    summary: Group
    worst: list[Scored]
    confusions: Confusions
    by_speaker: list[Group]
    by_duration: list[Group]
    utterances: list[Scored] = field(default_factory=list, repr=False)  # all, in the records' order

    def to_dict(self) -> dict:
        return {"unit": self.unit, "summary": self.summary.to_dict(),
                "worst": [s.to_dict(self.unit) for s in self.worst], "confusions": self.confusions.to_dict(),
                "by_speaker": [g.to_dict() for g in self.by_speaker],
                "by_duration": [g.to_dict() for g in self.by_duration]}


def unit_of(references: Sequence[str]) -> str:
    """"char" when the headline metric is CER (no reference has a space), else "word"."""
    return "char" if headline_metric(list(references)) == "cer" else "word"


def align(references: Sequence[str], hypotheses: Sequence[str], unit: str) -> list[tuple[Edits, tuple[Op, ...]]]:
    """(edits, ops) of each pair, by jiwer at word ("word") or character ("char") level."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    process: Callable = jiwer.process_words if unit == "word" else jiwer.process_characters
    out: list[tuple[Edits, tuple[Op, ...]] | None] = [None] * len(references)
    spoken = [i for i, r in enumerate(references) if r.strip()]
    if spoken:
        o = process([references[i] for i in spoken], [hypotheses[i] for i in spoken])
        for i, chunks, ref, hyp in zip(spoken, o.alignments, o.references, o.hypotheses):
            out[i] = _from_chunks(chunks, ref, hyp)
    for i, r in enumerate(references):
        if out[i] is None:  # empty reference (jiwer 3 refuses one): every hypothesis token is inserted
            tokens = hypotheses[i].split() if unit == "word" else list(hypotheses[i].strip())
            ops = tuple(Op("insert", "", t) for t in tokens)
            out[i] = (Edits(insertions=len(ops)), ops)
    return out  # type: ignore[return-value]


def _from_chunks(chunks, ref: list[str], hyp: list[str]) -> tuple[Edits, tuple[Op, ...]]:
    ops: list[Op] = []
    for c in chunks:
        r, h = ref[c.ref_start_idx:c.ref_end_idx], hyp[c.hyp_start_idx:c.hyp_end_idx]
        if c.type == "equal":
            ops += [Op("equal", t, t) for t in r]
        elif c.type == "substitute":
            ops += [Op("substitute", a, b) for a, b in zip(r, h)]
        elif c.type == "delete":
            ops += [Op("delete", t, "") for t in r]
        elif c.type == "insert":
            ops += [Op("insert", "", t) for t in h]
        else:
            raise ValueError(f"unknown alignment chunk type {c.type!r}")
    kinds = Counter(op.kind for op in ops)
    return Edits(kinds["substitute"], kinds["delete"], kinds["insert"], len(ref)), tuple(ops)


def score(records: Sequence[dict], unit: str | None = None) -> list[Scored]:
    """Align every record's ref and hyp; `unit` (of the ops) defaults to `unit_of` the references."""
    refs, hyps = [r["ref"] for r in records], [r["hyp"] for r in records]
    unit = unit or unit_of(refs)
    words, chars = align(refs, hyps, "word"), align(refs, hyps, "char")
    return [Scored(str(r["id"]), r["ref"], r["hyp"], w[0], c[0], (w if unit == "word" else c)[1],
                   r.get("speaker"), r.get("duration"))
            for r, w, c in zip(records, words, chars)]


def group(name: str, scored: Sequence[Scored]) -> Group:
    words, chars = sum((s.words for s in scored), Edits()), sum((s.chars for s in scored), Edits())
    return Group(name, len(scored), words, chars, sum(s.ref != s.hyp for s in scored),
                 sum(s.duration or 0.0 for s in scored))


def worst(scored: Sequence[Scored], n: int, unit: str) -> list[Scored]:
    """The `n` utterances with the most errors in `unit` (then the highest rate, then by id); none without errors."""
    wrong = [s for s in scored if s.edits(unit).errors]
    return sorted(wrong, key=lambda s: (-s.edits(unit).errors, -s.edits(unit).rate, s.id))[:n]


def confusions(scored: Sequence[Scored], unit: str, top: int = 10) -> Confusions:
    """The `top` most frequent substitution pairs, deleted and inserted tokens (most frequent first, then by token)."""
    subs, dels, ins = Counter(), Counter(), Counter()
    for s in scored:
        for op in s.ops:
            if op.kind == "substitute":
                subs[(op.ref, op.hyp)] += 1
            elif op.kind == "delete":
                dels[op.ref] += 1
            elif op.kind == "insert":
                ins[op.hyp] += 1
    return Confusions(unit, [(r, h, n) for (r, h), n in _ranked(subs, top)], _ranked(dels, top), _ranked(ins, top))


def _ranked(counts: Counter, top: int) -> list:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def by_speaker(scored: Sequence[Scored], unit: str) -> list[Group]:
    """One group per speaker, the highest error rate first; [] when no utterance names its speaker."""
    if all(s.speaker is None for s in scored):
        return []
    names: dict[str, list[Scored]] = {}
    for s in scored:
        names.setdefault(s.speaker if s.speaker is not None else NO_SPEAKER, []).append(s)
    groups = [group(name, members) for name, members in names.items()]
    return sorted(groups, key=lambda g: (-(g.wer if unit == "word" else g.cer), g.name))


def bucket(duration: float, edges: Sequence[float] = DURATION_EDGES) -> int:
    """Index of the duration bucket: 0 below edges[0], len(edges) at or above the last edge."""
    return sum(duration >= e for e in edges)


def bucket_name(index: int, edges: Sequence[float] = DURATION_EDGES) -> str:
    if index == 0:
        return f"<{edges[0]:g} s"
    if index == len(edges):
        return f">{edges[-1]:g} s"
    return f"{edges[index - 1]:g}-{edges[index]:g} s"


def by_duration(scored: Sequence[Scored], edges: Sequence[float] = DURATION_EDGES) -> list[Group]:
    """One group per non-empty duration bucket, shortest first; utterances of unknown duration left out."""
    buckets: dict[int, list[Scored]] = {}
    for s in scored:
        if s.duration is not None:
            buckets.setdefault(bucket(s.duration, edges), []).append(s)
    return [group(bucket_name(i, edges), buckets[i]) for i in sorted(buckets)]


def analyse(records: Sequence[dict], worst_n: int = 10, top: int = 10) -> Analysis:
    """Score the records and explain them: summary, worst utterances, confusions, breakdowns."""
    unit = unit_of([r["ref"] for r in records])
    scored = score(records, unit)
    return Analysis(unit, group("all", scored), worst(scored, worst_n, unit), confusions(scored, unit, top),
                    by_speaker(scored, unit), by_duration(scored), scored)


CSV_COLUMNS = ("id", "speaker", "duration", "ref", "hyp", "errors", "words", "wer", "cer")


def rows(scored: Sequence[Scored]) -> list[dict]:
    """Per-utterance rows (CSV_COLUMNS): `errors` and `words` are word-level counts."""
    return [{"id": s.id, "speaker": s.speaker if s.speaker is not None else "",
             "duration": "" if s.duration is None else s.duration, "ref": s.ref, "hyp": s.hyp,
             "errors": s.words.errors, "words": s.words.length, "wer": round(s.wer, 4), "cer": round(s.cer, 4)}
            for s in scored]
