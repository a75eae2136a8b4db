"""Language models for a model's beam search: build one from text, and tune its weights on dev.

    build_lm(["data/an4/train.jsonl"], "lm/an4.arpa", order=3, record=model_record.load(M))
    tune(M, "data/an4/dev.jsonl", lm="lm/an4.arpa", lexicon="lm/an4.lexicon.txt")

`build_lm` normalises the text as the model does, then writes an ARPA file
(interpolated modified Kneser-Ney, asr.lm): of words (`units="words"`, with a
lexicon spelt in the model's tokens beside it, for lexicon-constrained
decoding) or of the model's tokens (`units="tokens"`: each sentence spelt as
the model writes it, words separated by its separator; what lexicon-free
decoding and vocabularies without word boundaries need). `tune` computes the
dev set's log-probabilities once, then decodes them with each LM weight and
word score of a grid and keeps the best, which it can store in the model's
decoding settings.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from asr import lm as ngram
from asr import manifest
from asr import record as model_record
from asr.decoding import DecodingSettings
from asr.errors import AsrError, ConfigError
from asr.lexicon import write_lexicon
from asr.metrics import error_rates, headline_metric
from asr.recognizer import Recognizer, make_decoder
from asr.record import ModelRecord
from asr.text import TextSettings, normalize

UNITS = ("words", "tokens")
LM_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
WORD_SCORES = (-1.0, 0.0, 1.0, 2.0)


@dataclass
class BuiltLM:
    """What build_lm wrote: the ARPA file, the lexicon (None for token LMs or without a model),
    sentences used and skipped, n-grams per order, seconds."""

    arpa: Path
    lexicon: Path | None
    sentences: int
    skipped: int
    ngrams: list[int]
    seconds: float


def lexicon_path(arpa: str | Path) -> Path:
    """The lexicon written beside an ARPA file: `an4.arpa` -> `an4.lexicon.txt`."""
    arpa = Path(arpa)
    return arpa.with_name(arpa.name.removesuffix(".gz").removesuffix(".arpa") + ".lexicon.txt")


def build_lm(inputs: Sequence[str | Path], out: str | Path, order: int = 3, prune: Sequence[int] = (),
             units: str = "words", record: ModelRecord | None = None,
             log: Callable[[str], None] = lambda s: None) -> BuiltLM:
    """Build an n-gram LM from text files (one sentence per line) and manifests (.jsonl).

    The text is normalised with the model's text settings (`record`; the defaults without
    one). Word LMs get a lexicon beside them when a model is given. Token LMs need the model:
    its vocabulary spells the sentences. A decoder needs order >= 2 (KenLM's rule)."""
    if units not in UNITS:
        raise ConfigError(f"--units must be one of {', '.join(UNITS)}, not {units!r}")
    if order < 2:
        raise ConfigError(f"--order must be at least 2 for a decoder's LM (KenLM reads no unigram models), got {order}")
    if units == "tokens" and record is None:
        raise ConfigError("--units tokens spells sentences in a model's tokens: give --model")
    started = time.time()
    text_settings = record.text if record is not None else TextSettings()
    sentences, skipped, words = [], 0, set()
    for where, raw in ngram.read_corpus(inputs):
        text = normalize(raw, text_settings)
        units_of = text.split() if units == "words" else _spelt(text, record)
        if not units_of:
            skipped += 1
            continue
        sentences.append(units_of)
        words.update(text.split())
    if not sentences:
        raise AsrError(f"no sentence to build an LM from in {', '.join(map(str, inputs))}"
                       + (f" ({skipped} could not be spelt in the model's tokens)" if skipped else ""))
    model = ngram.build(sentences, order, prune, discount_fallback=ngram.FALLBACK_DISCOUNTS, log=log)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.write_arpa(out)
    lexicon = None
    if units == "words" and record is not None:
        lexicon = lexicon_path(out)
        counts = write_lexicon(sorted(words), record.vocab.spell, lexicon)
        log(f"lexicon: {counts.written} words in {lexicon}" + (
            f"; {counts.skipped} cannot be spelt in the model's tokens (e.g. {', '.join(counts.skipped_examples)})"
            if counts.skipped else ""))
    if skipped:
        log(f"{skipped} sentence(s) skipped: nothing left after normalisation, or not spelt in the model's tokens")
    return BuiltLM(out, lexicon, len(sentences), skipped, list(model.counts), round(time.time() - started, 2))


def _spelt(text: str, record: ModelRecord) -> list[str]:
    """A normalised sentence in the model's tokens: words spelt, joined by its separator; []
    when a word cannot be spelt."""
    vocab, out = record.vocab, []
    for i, word in enumerate(text.split()):
        pieces = vocab.spell(word)
        if not pieces:
            return []
        if i and vocab.separator:
            out.append(vocab.separator)
        out.extend(pieces)
    return out


@dataclass
class TuneResult:
    """The grid: (lm_weight, word_score, error rate) per point; the best point; the metric."""

    rows: list[tuple[float, float, float]]
    best: DecodingSettings
    best_rate: float
    greedy_rate: float
    metric: str
    saved: bool


def tune(model_path: str | Path, dev_manifest: str | Path, lm: str | Path | None, lexicon: str | Path | None,
         device: str = "cpu", lm_weights: Sequence[float] = LM_WEIGHTS, word_scores: Sequence[float] = WORD_SCORES,
         beam_size: int = 50, save: bool = True, log: Callable[[str], None] = lambda s: None) -> TuneResult:
    """Search the LM weight and word score on a dev manifest; with `save`, write the best into
    the model file's decoding settings (LM and lexicon paths relative to the model's folder).
    Log-probabilities are computed and the LM loaded once; each grid point only decodes again
    (BeamDecoder.reweighted)."""
    model_path = Path(model_path)
    utts = manifest.read(dev_manifest)
    if not utts:
        raise AsrError(f"{dev_manifest}: no utterances to tune on")
    lm_path, lexicon_file = (Path(p).resolve() if p else None for p in (lm, lexicon))
    rec = Recognizer.load(model_path, device, decoder="greedy")  # the posteriors, once
    refs = [normalize(u.text, rec.text_settings) for u in utts]
    metric = headline_metric(refs)
    batches = list(rec.posteriors([rec.utterance_features(u) for u in utts]))
    batches = [(idx, lp.cpu(), n.cpu()) for idx, lp, n in batches]

    def rate(decoder) -> float:
        rec.decoder = decoder
        hyps = [""] * len(utts)
        for idx, lp, n in batches:
            for i, result in zip(idx, rec.decode(lp, n)):
                hyps[i] = result.text
        rates = error_rates(refs, hyps)
        return rates.wer if metric == "wer" else rates.cer

    greedy = rate(rec.decoder)
    log(f"greedy: dev {metric.upper()} {100 * greedy:.2f} %")
    base = DecodingSettings("beam", beam_size=beam_size, lm=str(lm_path or ""), lexicon=str(lexicon_file or ""))
    beam = make_decoder(base, rec.record, Path("."))  # the LM loaded and the lexicon read once
    rows = []
    for weight in lm_weights:
        for score in word_scores if lexicon_file else (0.0,):
            r = rate(beam.reweighted(weight, score))
            rows.append((weight, score, r))
            log(f"lm_weight {weight:g}  word_score {score:g}: dev {metric.upper()} {100 * r:.2f} %")
    weight, score, best_rate = min(rows, key=lambda row: (row[2], row[0], abs(row[1])))
    best = replace(base, lm_weight=weight, word_score=score)
    if save:
        record = model_record.load(model_path)
        folder = model_path.resolve().parent
        record.decoding = replace(best, lm=_relative(lm_path, folder), lexicon=_relative(lexicon_file, folder))
        model_record.save(model_path, record)
    return TuneResult(rows, best, best_rate, greedy, metric, save)


def _relative(path: Path | None, folder: Path) -> str:
    return os.path.relpath(path, folder) if path is not None else ""
