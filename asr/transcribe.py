"""Apply a trained model to audio: transcribe files, force-align them with their text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import torch

from asr import audio, manifest
from asr.chunks import ChunkSettings, Piece, pieces
from asr.errors import AsrError, AudioError, UsageError
from asr.formats import Transcript
from asr.inputs import Source
from asr.recognizer import Recognizer, Result, Word


def find_model(root: str | Path = ".") -> Path:
    """The most recently written `exp/*/model.pt` under `root`."""
    found = sorted(Path(root).glob("exp/*/model.pt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise AsrError(
            f"no model given and none found under {Path(root).resolve() / 'exp'} "
            "(train one with `asr run digits`, or pass --model PATH or set ASR_MODEL)"
        )
    return found[-1]


@dataclass
class Outcome:
    """One input's transcript, or the reason it has none (unreadable, too short); `joiner`: what
    goes between its words in a text (a space, or nothing for Mandarin characters)."""

    source: Source
    transcript: Transcript | None = None
    error: str | None = None
    joiner: str = " "


def transcribe(sources: Sequence[Source | str | Path], model_path: str | Path, device: str = "cpu", timestamps: bool = False,
               threads: int | None = None, chunks: ChunkSettings = ChunkSettings(), max_frames: int = 60000,
               progress: Callable[[float], None] | None = None, **decoding) -> Iterator[Outcome]:
    """One Outcome per source, in order, as soon as it is done.

    Audio is read in pieces (asr.chunks: a long recording never whole) and decoded in batches
    of up to `max_frames` feature frames, pieces of several inputs together, sorted by length;
    memory is bounded by `max_frames` and the chunk length, not by the inputs. Words of a long
    recording keep its time. `timestamps`: word times by forced alignment; `threads`: CPU
    threads for the model; `progress(seconds)`: called with the seconds of audio just done;
    `decoding` keys override the model's decoding settings. A source may be given as a path."""
    sources = [s if isinstance(s, Source) else Source(str(s), Path(s), Path(s).stem) for s in sources]
    if threads:
        torch.set_num_threads(threads)
    rec = Recognizer.load(model_path, device, threads=threads, **decoding)
    joiner = rec.joiner
    parts: dict[int, list[Word]] = {}  # the words so far of recordings in several pieces
    done: dict[int, Outcome] = {}
    batch: list[tuple[int, Piece, torch.Tensor]] = []
    frames = 0
    following = 0

    def flush() -> None:
        nonlocal frames
        results = rec.recognize([f for _, _, f in batch], timestamps)
        for (i, piece, _), result in zip(batch, results):
            if i in done:  # failed after this piece was read
                continue
            if piece.last and piece.keep[0] == float("-inf"):  # all of it in one piece
                done[i] = Outcome(sources[i], _whole(sources[i], piece, result), joiner=joiner)
                continue
            words = parts.setdefault(i, [])
            words += kept_words(piece, result)
            if piece.last:
                del parts[i]
                words = within(words, piece.end)
                done[i] = Outcome(sources[i], Transcript(sources[i].name, joiner.join(w.word for w in words), words,
                                                         piece.end), joiner=joiner)
        if progress is not None:
            progress(sum(_seconds(p) for _, p, _ in batch))
        batch.clear()
        frames = 0

    for i, source in enumerate(sources):
        try:
            for piece in pieces(source.path, rec.feature_settings.sample_rate, chunks, source.offset or 0.0,
                                source.duration):
                if piece.wave.numel() < rec.feature_settings.win_length:
                    raise AudioError(f"{source.path}: too short to transcribe ({piece.wave.numel()} samples at "
                                     f"{piece.rate} Hz; the model's feature window is "
                                     f"{rec.feature_settings.win_ms:g} ms)")
                features = rec.features(piece.wave)
                piece.wave = torch.empty(0)  # (not a view: that would keep the samples)
                batch.append((i, piece, features))
                frames += features.shape[0]
                if frames >= max_frames:
                    flush()
        except AudioError as e:
            parts.pop(i, None)
            done[i] = Outcome(source, error=str(e), joiner=joiner)
        while following in done:  # hand over what is finished, in order
            yield done.pop(following)
            following += 1
    if batch:
        flush()
    while following in done:
        yield done.pop(following)
        following += 1


def _seconds(piece: Piece) -> float:
    """Seconds of the recording a piece gives words for (its keep span within its audio)."""
    return max(0.0, min(piece.keep[1], piece.end) - max(piece.keep[0], piece.offset))


def _whole(source: Source, piece: Piece, result: Result) -> Transcript:
    """The transcript of an input decoded in one piece: the decoder's text and n-best list."""
    nbest = [(t, h.score) for t, h in zip(result.nbest_texts, result.nbest)] if len(result.nbest) > 1 else []
    return Transcript(source.name, result.text, within(result.words, piece.end), piece.end, nbest)


def within(words: list[Word], duration: float) -> list[Word]:
    """The words with their times inside [0, duration] (a word ends a frame after its last
    token, which can be past the end of the audio)."""
    for w in words:
        w.start, w.end = min(max(w.start, 0.0), duration), min(max(w.end, 0.0), duration)
    return words


def kept_words(piece: Piece, result: Result) -> list[Word]:
    """The words of a piece's result whose middle lies in its `keep` span, in the recording's
    time: with the other pieces', every word once (a recording in several pieces has no n-best)."""
    lo, hi = piece.keep
    return [Word(w.word, piece.offset + w.start, piece.offset + w.end, w.confidence) for w in result.words
            if lo <= piece.offset + (w.start + w.end) / 2 < hi]
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
