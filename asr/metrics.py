"""Word and character error rates over strings (jiwer)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import jiwer


@dataclass(frozen=True)
class ErrorRates:
    """WER and CER as fractions; edit counts are word-level."""

    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    words: int
    utterances: int

    def to_dict(self) -> dict:
        return asdict(self)


def error_rates(references: list[str], hypotheses: list[str]) -> ErrorRates:
    """Corpus-level WER/CER of hypotheses against references (same order).

    An empty reference counts its hypothesis words as insertions.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        return ErrorRates(0.0, 0.0, 0, 0, 0, 0, 0)
    s = d = i = words = chars = char_errors = 0
    pairs = [(r, h) for r, h in zip(references, hypotheses)]
    nonempty = [(r, h) for r, h in pairs if r.strip()]
    if nonempty:
        w = jiwer.process_words([r for r, _ in nonempty], [h for _, h in nonempty])
        s, d, i = w.substitutions, w.deletions, w.insertions
        c = jiwer.process_characters([r for r, _ in nonempty], [h for _, h in nonempty])
        char_errors = c.substitutions + c.deletions + c.insertions
        words = s + d + w.hits
        chars = c.substitutions + c.deletions + c.hits
    for r, h in pairs:
        if not r.strip():
            i += len(h.split())
            char_errors += len(h)
    return ErrorRates(
        wer=(s + d + i) / max(words, 1), cer=char_errors / max(chars, 1),
        substitutions=s, deletions=d, insertions=i, words=words, utterances=len(references),
    )


def headline_metric(references: list[str]) -> str:
    """The rate to report first: "cer" when no reference contains a space
    (unsegmented scripts such as Mandarin, where WER would only count whole
    sentences), else "wer". References are normalised texts; all empty: "wer"."""
    if any(r for r in references) and not any(" " in r for r in references):
        return "cer"
    return "wer"
