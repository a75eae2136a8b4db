"""What `transcribe` reads: audio files, folders of them, manifests, standard input.

    sources, problems = expand(["talk.wav", "recordings/", "data/test.jsonl"])

A folder is searched recursively for audio files by suffix (any case:
`.WAV` too), in sorted order; a manifest (`.jsonl`) gives each utterance (its
segment when it has an offset). Each Source knows the name the user will see
(the path as given, or the utterance id) and the name of its output file under
`--output-dir` (the path below the folder given, so that `a/x.wav` and
`b/x.wav` do not collide). An input that gives nothing (a missing path, an
empty folder) is a UsageError and a manifest that does not parse a
ManifestError, before any audio is read; audio that cannot be read is found
later, by the transcriber, which goes on with the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from asr.errors import ManifestError, UsageError

# What libsndfile reads, by suffix (compared in lower case).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".sph", ".nist", ".aiff", ".aif", ".au",
                  ".w64", ".caf")
STDIN = "-"


@dataclass(frozen=True)
class Source:
    """One input: shown as `name`; audio in `path` (its segment of `duration` seconds from
    `offset` when offset is not None); written to `<output dir>/<out><suffix>`."""

    name: str
    path: Path
    out: str
    offset: float | None = None
    duration: float | None = None


def expand(items: Sequence[str | Path], stdin: Path | None = None) -> list[Source]:
    """The sources of the command-line inputs, in order. `stdin`: the file standard input was
    saved to, for the input "-"."""
    sources: list[Source] = []
    for item in items:
        name = str(item)
        path = Path(item)
        if name == STDIN:
            if stdin is None:
                raise UsageError("-: standard input is not available here")
            sources.append(Source(STDIN, stdin, "stdin"))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not found:
                raise UsageError(f"{name}: no audio files in the folder (looked for {', '.join(AUDIO_SUFFIXES)}, "
                                 "in any case)")
            sources += [Source(str(p), p, str(p.relative_to(path).with_suffix(""))) for p in found]
        elif path.suffix.lower() == ".jsonl" and path.is_file():
            sources += _manifest(path)
        elif not path.exists():
            raise UsageError(f"{name}: does not exist (no such file or folder)")
        else:
            sources.append(Source(name, path, path.stem))
    return sources


def _manifest(path: Path) -> list[Source]:
    from asr import manifest

    utts = manifest.read(path)
    if not utts:
        raise ManifestError(f"{path}: no utterances in the manifest")
    return [Source(u.id, Path(u.audio), _file_name(u.id), u.offset, u.duration if u.offset is not None else None)
            for u in utts]


def _file_name(uid: str) -> str:
    """An utterance id as a file name that stays inside the output folder: path separators
    become "_", and a leading "." does too ("../x" -> "_.._x")."""
    name = uid.replace("/", "_").replace("\\", "_")
    return "_" + name[1:] if name.startswith(".") else name or "_"


def check_outputs(sources: Sequence[Source], suffix: str) -> None:
    """UsageError when two sources would write the same output file: the same name from two
    inputs, or one manifest id twice (the same audio given twice is written once)."""
    seen: dict[str, Source] = {}
    for s in sources:
        key = s.out + suffix
        if key in seen and seen[key] != s:
            other = seen[key].name
            what = f"{s.name} and {other}" if s.name != other else f"two inputs named {s.name}"
            raise UsageError(f"{what} would both be written to {key} under --output-dir "
                             "(transcribe them into separate folders, or give each utterance its own id)")
        seen[key] = s
