"""Any tree of audio files with transcripts.

    <src>/**/<name>.{wav,flac,ogg,mp3,sph}     the audio (suffixes in any case: .WAV too)
    <src>/**/<name>.txt or <name>.lab          its transcript beside it (one line; .TXT, .LAB too)

or, for the audio files of one folder, a transcript table in that folder:

    *.transcription (+ *.fileids)   SphinxTrain: "<s> WORDS </s> (id)" lines; a line
                                    without "(id)" takes the id from the same line of
                                    the .fileids of the same name
    text, *.txt                     "id words ..." lines (Kaldi's `text`, LibriSpeech's
                                    *.trans.txt, transcripts.txt, ...)

A table is used when at least half of its ids are names (without suffix) of
audio files in its folder; a transcript beside the file wins over a table.
Text files are UTF-8 (a byte-order mark is ignored).

The id is the path under <src> without suffix (`alice/hello`). The speaker
is the name of the folder holding the file, or, with `speaker_pattern`, the
part of the file name that regular expression finds: its first group if it
has one, else its whole match (`S\\d{4}` finds S0150 in BAC009S0150W0337.wav);
a file name it does not match keeps its folder's name. About `dev_share` and
`test_share` of the speakers (at least one each) are held out, chosen by a
hash of `seed`; with fewer than three speakers the shares are of utterances.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from asr.corpora import an4, common
from asr.errors import ConfigError

AUDIO = (".wav", ".flac", ".ogg", ".mp3", ".sph")
TRANSCRIPTS = (".txt", ".lab")
TABLES = (".txt", ".transcription")
Log = Callable[[str], None]


def prepare(out: Path, src: Path | None, *, dev_share: float = 0.1, test_share: float = 0.1,
            speaker_pattern: str = "", seed: int = 0, log: Log = lambda s: None) -> dict[str, Path]:
    src = common.require_folder(src, "folder", "a folder of audio files, each with a .txt or .lab transcript beside "
                                               "it or a transcript table in its folder")
    common.check_share("dev_share", dev_share)
    common.check_share("test_share", test_share)
    speaker = _Speakers(speaker_pattern, log)
    folders: dict[Path, list[Path]] = {}
    for path in common.glob_audio(src, "**/*", AUDIO):
        folders.setdefault(path.parent, []).append(path)
    with common.Skips(log) as skips:
        sources = []
        for folder, files in sorted(folders.items()):
            texts = _texts(folder, files, log)
            for path in files:
                if path.stem not in texts:
                    skips(path, f"no transcript ({path.stem}.txt or {path.stem}.lab beside it, or a line "
                                f"in a transcript table of its folder)", "no transcript for the file")
                    continue
                sources.append(common.Source(id=path.relative_to(src).with_suffix("").as_posix(), audio=path,
                                             text=texts[path.stem], speaker=speaker(path)))
        speaker.report()
        utts = common.measure(sources, skips)
        splits = common.speaker_split(utts, {"dev": dev_share, "test": test_share}, seed, log)
        return common.write_splits(out, splits, skips)


def _texts(folder: Path, files: list[Path], log: Log) -> dict[str, str]:
    """Audio stem -> transcript for one folder: the file beside it, else a table."""
    entries = {(p.stem, p.suffix.lower()): p for p in folder.iterdir() if p.is_file()}
    stems = {p.stem for p in files}
    texts = {}
    for stem in stems:
        beside = next((entries[stem, s] for s in TRANSCRIPTS if (stem, s) in entries), None)
        if beside is not None:
            texts[stem] = common.read_text(beside)
    if len(texts) < len(stems):
        for table in sorted(p for (stem, suffix), p in entries.items()
                            if (suffix in TABLES or p.name == "text") and stem not in stems):
            rows = _table(table, entries, stems)
            if rows:
                log(f"{table}: transcripts of {len(rows.keys() & stems)} audio file(s) in {folder}")
                texts = {**rows, **texts}
    return texts


def _table(path: Path, entries: dict[tuple[str, str], Path], stems: set[str]) -> dict[str, str]:
    """id -> text of a transcript table whose ids are mostly audio stems of its folder ({} otherwise)."""
    # A first look that tolerates any encoding: a stray README.txt in the
    # folder must not stop the import; a file that is a table must be UTF-8.
    loose = _rows(path, path.read_bytes().decode("utf-8", "replace").removeprefix("\ufeff").split("\n"), entries)
    if not loose or len(loose.keys() & stems) * 2 < len(loose):
        return {}
    return _rows(path, common.read_lines(path), entries)


def _rows(path: Path, lines: list[str], entries: dict[tuple[str, str], Path]) -> dict[str, str]:
    """id -> text of a SphinxTrain .transcription or an "id text" list."""
    if path.suffix.lower() != ".transcription":
        fields = (line.split(maxsplit=1) for line in lines)
        return {f[0]: "".join(f[1:]) for f in fields if f}
    fileids = entries.get((path.stem, ".fileids"))
    ids = [Path(line.strip()).name for line in common.read_lines(fileids) if line.strip()] if fileids else []
    rows = {}
    for number, (uid, words) in enumerate(an4.transcription(lines)):
        uid = uid or (ids[number] if number < len(ids) else None)
        if uid:
            rows[uid] = words
    return rows


class _Speakers:
    """The speaker of an audio file: what `pattern` finds in its name, else its folder's name."""

    def __init__(self, pattern: str, log: Log):
        try:
            self.pattern = re.compile(pattern) if pattern else None
        except re.error as e:
            raise ConfigError(f"folder: option speaker_pattern={pattern!r} is not a regular expression ({e})") from None
        self.log, self.missed, self.example = log, 0, ""

    def __call__(self, path: Path) -> str:
        match = self.pattern.search(path.name) if self.pattern else None
        if match:
            return (match.group(1) if self.pattern.groups else None) or match.group(0)
        if self.pattern:
            self.missed, self.example = self.missed + 1, self.example or path.name
        return path.parent.name

    def report(self) -> None:
        if self.missed:
            self.log(f"speaker_pattern {self.pattern.pattern!r} found nothing in {self.missed} file name(s) "
                     f"(e.g. {self.example}): their folder's name is their speaker")
