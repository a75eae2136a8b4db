"""Apply a trained model to audio: transcribe files, force-align them with their text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from asr import audio, manifest
from asr.errors import AsrError, AudioError, UsageError
from asr.recognizer import Recognizer, Result


def find_model(root: str | Path = ".") -> Path:
    """The most recently written `exp/*/model.pt` under `root`."""
    found = sorted(Path(root).glob("exp/*/model.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise AsrError(
            f"no model given and none found under {Path(root).resolve() / 'exp'} "
            "(train one with `asr run digits`, or pass --model PATH or set ASR_MODEL)"
        )
    return found[-1]


def transcribe(paths: Sequence[str | Path], model_path: str | Path, device: str = "cpu", timestamps: bool = False,
               **decoding) -> list[Result]:
    """One Result (text, words with start/end seconds, hypotheses) per audio file, in order;
    `timestamps`: word times by forced alignment (Recognizer.recognize); `decoding` keys
    override the model's decoding settings."""
    rec = Recognizer.load(model_path, device, **decoding)
    rate = rec.feature_settings.sample_rate
    feats = [rec.features(audio.load(p, rate)) for p in paths]
    return rec.recognize(feats, timestamps)


@dataclass
class Aligned:
    """One utterance of `align_all`: its id and audio, and its alignment's JSON, or the reason
    it could not be aligned."""

    id: str
    audio: str
    found: dict | None = None
    error: str | None = None


def align_all(source: str | Path, text: str | None, model_path: str | Path, device: str = "cpu",
              plot: str | Path | None = None) -> Iterator[Aligned]:
    """Force-align a manifest's utterances with their transcripts, or one audio file with `text`.
    An utterance that cannot be aligned (unknown characters, audio too short for the text,
    unreadable audio) is yielded with its error, and the others go on. `plot`: a PNG of the
    alignment for one audio file, a folder of `<id>.png` for a manifest."""
    from asr.align import AlignError
    from asr.alignplot import plot as draw

    rec = Recognizer.load(model_path, device, decoder="greedy")
    source = Path(source)
    if source.suffix.lower() == ".jsonl":
        if text is not None:
            raise UsageError("TEXT goes with an audio file; a manifest brings each utterance's text")
        utts = manifest.read(source)
        if not utts:
            raise AsrError(f"{source}: no utterances to align")
        items = [(u.id, u.audio, u.text, lambda u=u: rec.utterance_features(u)) for u in utts]
    else:
        if text is None:
            raise UsageError(f"{source}: give the TEXT to align the audio file with (or a manifest)")
        items = [(source.stem, str(source), text,
                  lambda: rec.features(audio.load(source, rec.feature_settings.sample_rate)))]
    for uid, path, transcript, features in items:
        try:
            alignment = rec.align(features(), transcript)
        except (AlignError, AudioError) as e:
            yield Aligned(uid, path, error=str(e))
            continue
        if plot is not None:
            target = Path(plot) / f"{uid}.png" if len(items) > 1 else Path(plot)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                draw(target, alignment.features, alignment.log_probs, rec.vocab.tokens, alignment.words,
                     rec.feature_settings.hop_ms / 1000, alignment.frame_seconds, blank=rec.vocab.blank, title=uid)
            except OSError as e:
                raise AsrError(f"{target}: cannot write the plot ({e.strerror or e}; choose another --plot)") from None
        yield Aligned(uid, path, {"id": uid, "audio": path, **alignment.to_dict(rec.vocab.tokens)})
