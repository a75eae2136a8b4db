"""`asr transcribe`: files, folders, manifests or stdin -> text, JSON, subtitles."""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional

import typer
from asr_cli.common import (
    BeamSize,
    BeamSizeToken,
    Decoder,
    Device,
    Hotword,
    HotwordsFile,
    Lexicon,
    Lm,
    LmWeight,
    Model,
    Nbest,
    Quiet,
    UnkScore,
    WordScore,
    decoding,
    err,
    errors,
    model_path,
    reporter,
)

PROGRESS_AFTER_S = 60.0  # a bar for one input this long or more (always for several inputs)


def transcribe(
    inputs: Annotated[list[str], typer.Argument(help="Audio files, folders (searched recursively), manifests (.jsonl), or - for audio on stdin.")],
    model: Model = None,
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="txt, json, jsonl, srt, vtt or tsv [default: txt; jsonl with --timestamps or --nbest].")] = None,
    output_dir: Annotated[Optional[Path], typer.Option("--output-dir", "-o", help="Write one file per input here (<name>.<format>) instead of to stdout.")] = None,
    timestamps: Annotated[bool, typer.Option("--timestamps", help="Time words by forced alignment (more exact than the decoder's frames).")] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", min=1, help="CPU threads for the model [default: torch's, one per core].")] = None,
    chunk: Annotated[float, typer.Option("--chunk", help="Longer recordings are decoded in pieces of at most this many seconds, cut at pauses.")] = 30.0,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="Subtitles: characters per cue at most.")] = 42,
    max_cue: Annotated[float, typer.Option("--max-cue", help="Subtitles: seconds per cue at most.")] = 7.0,
    device: Device = "auto",
    decoder: Decoder = None, lm: Lm = None, lexicon: Lexicon = None, beam_size: BeamSize = None,
    lm_weight: LmWeight = None, word_score: WordScore = None, nbest: Nbest = None,
    hotword: Hotword = None, hotwords: HotwordsFile = None, unk_score: UnkScore = None,
    beam_size_token: BeamSizeToken = None,
    quiet: Quiet = False,
) -> None:
    """Transcribe audio: one line of text per input, or JSON, JSON lines, SRT/VTT subtitles, TSV.

    A file that cannot be read is reported on stderr and skipped; the others are
    transcribed and the exit status is 1.

    Example: asr transcribe talk.wav --format srt --output-dir subtitles/
    """
    from asr import formats
    from asr.chunks import ChunkSettings
    from asr.inputs import check_outputs, expand
    from asr.runtime import resolve_device
    from asr.transcribe import transcribe as run

    from asr_cli import common

    common.fast_exit = True  # nothing is left to clean up when this command returns
    fmt = format or ("jsonl" if timestamps or (nbest or 1) > 1 else "txt")
    failed = 0
    with errors(), ExitStack() as stack:
        if fmt not in formats.FORMATS:
            raise formats.FormatError(f"--format {fmt}: choose one of {', '.join(formats.FORMATS)}")
        options = decoding(decoder, lm, lexicon, beam_size, lm_weight, word_score, nbest, hotword, hotwords,
                           unk_score, beam_size_token)
        sources = expand(inputs, _stdin(stack) if "-" in inputs else None)
        many = len(sources) > 1 or len(inputs) > 1
        if output_dir is not None:
            check_outputs(sources, formats.suffix(fmt))
        elif many and fmt in ("srt", "vtt"):
            raise formats.FormatError(f"{fmt} subtitles for several inputs need --output-dir (one file each)")
        cue = formats.CueSettings(max_chars=max_chars, max_duration=max_cue)
        writer = None
        path = model_path(model)
        total = 0.0 if quiet else _seconds(sources)  # (header reads only for the bar)
        show = not quiet and (len(sources) > 1 or total >= PROGRESS_AFTER_S)
        bar = stack.enter_context(reporter(not show).progress("transcribing (audio s)", max(1, round(total))))
        outcomes = run(sources, path, resolve_device(device), timestamps, threads, ChunkSettings(chunk=chunk),
                       progress=lambda seconds: bar(seconds), **options)
        for outcome in outcomes:
            if outcome.error is not None:
                failed += 1
                err.print(f"error: {outcome.error}", markup=False, highlight=False)
            elif output_dir is None:
                writer = writer or formats.open_writer(fmt, sys.stdout, many, cue, outcome.joiner)
                writer.write(outcome.transcript)
                sys.stdout.flush()
            else:
                _write_file(output_dir, outcome, fmt, cue)
        if output_dir is None:
            (writer or formats.open_writer(fmt, sys.stdout, many, cue)).close()
    if failed:
        if len(sources) > 1:
            err.print(f"transcribed {len(sources) - failed} of {len(sources)} inputs; {failed} failed (see above)",
                      markup=False, highlight=False)
        raise typer.Exit(1)


def _stdin(stack: ExitStack) -> Path:
    """Standard input saved to a temporary file (removed at the end): soundfile needs to seek."""
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="asr-stdin-")))
    path = folder / "stdin"
    with open(path, "wb") as f:
        shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
    return path


def _seconds(sources) -> float:
    """Total seconds of the sources' audio, from their headers (0 for one that cannot be read)."""
    from asr import audio
    from asr.errors import AudioError

    total = 0.0
    for s in sources:
        if s.duration is not None:
            total += s.duration
            continue
        try:
            total += max(0.0, audio.info(s.path).duration - (s.offset or 0.0))
        except AudioError:
            pass
    return total


def _write_file(folder: Path, outcome, fmt: str, cue) -> None:
    """One input's output file, written whole or not at all."""
    from asr import formats
    from asr.errors import AsrError
    from asr.manifest import atomic_write_text

    buffer = io.StringIO()
    writer = formats.open_writer(fmt, buffer, False, cue, outcome.joiner)
    writer.write(outcome.transcript)
    writer.close()
    target = folder / (outcome.source.out + formats.suffix(fmt))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, buffer.getvalue())
    except OSError as e:
        raise AsrError(f"{target}: cannot write the transcript ({e.strerror or e}; choose another --output-dir)") \
            from None
