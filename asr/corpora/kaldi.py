"""Kaldi data folders.

    <data>/wav.scp      rec path  or  rec command ... |     (utt instead of rec without segments)
    <data>/text         utt word word ...
    <data>/utt2spk      utt speaker         (optional; or spk2utt: speaker utt utt ...)
    <data>/segments     utt rec start end   (optional; seconds, end -1 = to the end)

Every table is read as Kaldi reads it: the key is the first field, the value
the rest of the line, separated by any run of spaces or tabs. With no
utt2spk and no spk2utt each utterance is its own speaker. A `segments` line
is a segment of its recording even when it starts at 0.

--src is one data folder (dev and test are then held out from it by
speaker) or a folder holding train/, dev/ and test/ data folders (a missing
dev/ or test/ is held out from train/). A wav.scp value is

- a file (any suffix, any case: .wav, .WAV, .flac, .sph): absolute, or
  relative to the folder the recipe ran in, usually the corpus root one or
  more levels above the data folder. The data folder and each folder above
  it are tried in turn; the folder used is logged.
- a piped command (`sox in.wav -t wav - |`, `flac -c -d in.flac |`,
  `sph2pipe -f wav x.sph |`): run, in the same kind of folder, when its
  program (the first word) is on PATH; its output is written to
  OUT/audio/<split>/<rec>.wav and the manifest names that file. A missing
  program or a failing command is an error naming wav.scp:LINE.
- a Kaldi archive offset (`ark:...`, `file.ark:1234`) or `-`: refused; write
  the recordings out as audio files first.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import struct
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from asr.corpora import common
from asr.errors import AsrError

SPACE = " \t\r\f\v"  # the separators Kaldi splits table lines on
FIELDS = re.compile(r"([^ \t\r\f\v]+)[ \t\r\f\v]*(.*)")
ARCHIVE = re.compile(r"^(ark|scp)[,:]|:\d+$")
SHELL = {"|", "&", "&&", ";", "<", ">", "2>"}
Log = Callable[[str], None]


def prepare(out: Path, src: Path | None, *, seed: int = 0, log: Log = lambda s: None) -> dict[str, Path]:
    expected = "a Kaldi data folder (wav.scp, text[, utt2spk, segments]) or one holding train/, dev/, test/ data folders"
    src = common.require_folder(src, "kaldi", expected)
    if (src / "wav.scp").is_file():
        folders = {"train": src}
    elif (src / "train" / "wav.scp").is_file():
        folders = {name: src / name for name in common.SPLITS if (src / name / "wav.scp").is_file()}
    else:
        raise AsrError(f"{src}: no wav.scp here or in train/ (kaldi expects {expected})")
    with common.Skips(log) as skips:
        splits = {name: common.measure(_sources(data, out / "audio" / name, skips), skips)
                  for name, data in folders.items()}
        return common.write_splits(out, common.fill_missing(splits, seed, log), skips)


def _rows(path: Path) -> list[tuple[int, str, str]]:
    """(line number, key, value) of a Kaldi table file ([] when absent)."""
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(common.read_lines(path), start=1):
        match = FIELDS.match(line.strip(SPACE))
        if match:
            rows.append((number, match[1], match[2]))
    return rows


def _table(path: Path) -> dict[str, str]:
    """First field -> rest of the line ({} when absent)."""
    return {key: value for _, key, value in _rows(path)}


def _speakers(data: Path) -> dict[str, str]:
    """Utterance -> speaker, from utt2spk, else from spk2utt."""
    if (data / "utt2spk").is_file():
        return _table(data / "utt2spk")
    return {utt: spk for _, spk, utts in _rows(data / "spk2utt") for utt in utts.split()}


def _sources(data: Path, audio: Path, skips: common.Skips) -> list[common.Source]:
    """Utterances of one data folder: segments of recordings, or whole recordings.
    Piped commands write their audio under `audio`."""
    recordings = _recordings(data, audio, skips.log)
    texts, speakers = _table(data / "text"), _speakers(data)
    spans = _segments(data, skips) if (data / "segments").is_file() else {r: (r, None, None) for r in recordings}
    sources = []
    for uid, (rec, offset, duration) in spans.items():
        if rec not in recordings:
            skips(data / "segments", f"recording {rec} of {uid} is not in wav.scp", "recording not in wav.scp")
        elif uid not in texts:
            skips(recordings[rec], f"no transcript for {uid} in {data / 'text'}", "no transcript for the key")
        else:
            sources.append(common.Source(id=uid, audio=recordings[rec], text=texts[uid], speaker=speakers.get(uid),
                                         offset=offset, duration=duration))
    return sources


def _segments(data: Path, skips: common.Skips) -> dict[str, tuple[str, float, float | None]]:
    """segments as utterance -> (recording, start, duration or None to the end)."""
    spans = {}
    for number, seg, value in _rows(data / "segments"):
        fields = value.split()
        try:
            rec, start, end = fields[0], float(fields[1]), float(fields[2])
        except (IndexError, ValueError):
            skips(f"{data / 'segments'}:{number}", f"malformed line for {seg}: {value!r}", "malformed segments line")
            continue
        spans[seg] = (rec, start, None if end < 0 else end - start)
    return spans


def _recordings(data: Path, audio: Path, log: Log) -> dict[str, Path]:
    """wav.scp as recording id -> audio file; piped commands are run, archives refused."""
    scp, bases = data / "wav.scp", [data.absolute(), *data.absolute().parents]
    files, commands = {}, []
    for number, rec, value in _rows(scp):
        where = f"{scp}:{number}"
        if value.endswith("|"):
            commands.append((where, rec, value[:-1].strip()))
        elif ARCHIVE.search(value) or value == "-":
            raise AsrError(f"{where}: {value!r} is a Kaldi archive or stream, not an audio file (write the "
                           f"recordings out as audio files, e.g. with Kaldi's wav-copy, and list their paths)")
        else:
            files[rec] = value
    recordings, used = {}, {}
    for rec, value in files.items():
        recordings[rec], rule = _locate(value, bases)
        used[rule] = used.get(rule, 0) + 1
    for rule, count in used.items():
        log(f"{scp}: {count} audio path(s) {rule}")
    recordings.update(_run(scp, commands, bases, audio, log))
    return recordings


def _locate(value: str, bases: list[Path]) -> tuple[Path, str]:
    """The file a wav.scp path names, and how it was found (for the log)."""
    path = Path(value)
    if path.is_absolute():
        return path, "absolute"
    for base in bases:
        if (base / path).exists():
            return base / path, f"relative to {base}"
    return bases[0] / path, "relative but not found under the data folder or any folder above it"


def _run(scp: Path, commands: list[tuple[str, str, str]], bases: list[Path], audio: Path,
         log: Log) -> dict[str, Path]:
    """Run each piped command (where, recording, command) into audio/<rec>.wav;
    AsrError before any runs when a program is missing."""
    if not commands:
        return {}
    jobs = {}
    for where, rec, command in commands:
        tokens = _tokens(where, command)
        base = _command_base(tokens, bases)
        _check_program(where, command, tokens[0], base)
        jobs[rec] = (where, command, base, audio / f"{_file_name(rec)}.wav")
    log(f"{scp}: running {len(jobs)} piped command(s), audio written to {audio}")
    audio.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=common.THREADS) as pool:
        list(pool.map(lambda job: _decode(*job), jobs.values()))
    return {rec: job[3] for rec, job in jobs.items()}


def _tokens(where: str, command: str) -> list[str]:
    try:
        tokens = shlex.split(command)
    except ValueError as e:
        raise AsrError(f"{where}: cannot read the command {command!r} ({e}); fix its quoting") from None
    if not tokens:
        raise AsrError(f"{where}: an empty piped command (list an audio file or a command before the '|')")
    return tokens


def _command_base(tokens: list[str], bases: list[Path]) -> Path:
    """The folder to run a command in: the first of `bases` under which one of
    its relative file arguments exists (the data folder when none does)."""
    paths = [t for t in tokens[1:] if not t.startswith("-") and not Path(t).is_absolute() and t not in SHELL]
    return next((b for b in bases if any((b / p).is_file() for p in paths)), bases[0])


def _check_program(where: str, command: str, program: str, base: Path) -> None:
    """AsrError naming wav.scp:LINE when the program of a piped command cannot be run."""
    if "/" in program:
        path = Path(program) if Path(program).is_absolute() else base / program
        missing = None if path.is_file() and os.access(path, os.X_OK) else f"{path} is not an executable file"
    else:
        missing = None if shutil.which(program) else "it is not on PATH"
    if missing:
        raise AsrError(f"{where}: the piped command {command!r} needs `{program}` and {missing} (install it and "
                       f"run again, or convert the audio to files and list their paths in wav.scp)")


def _file_name(rec: str) -> str:
    """A file name for a recording id: the id itself when safe, else a cleaned one made unique by a hash."""
    safe = re.sub(r"[^\w.-]", "_", rec)
    if safe == rec and not rec.startswith("."):
        return rec
    return f"{safe.lstrip('.')}-{hashlib.sha1(rec.encode()).hexdigest()[:8]}"


def _decode(where: str, command: str, base: Path, target: Path) -> None:
    """Run `command` in `base`, its standard output written to `target` (atomically)."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            done = subprocess.run(command, shell=True, cwd=base, stdin=subprocess.DEVNULL, stdout=f,
                                  stderr=subprocess.PIPE)
        if done.returncode != 0 or os.path.getsize(tmp) == 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = f"exit status {done.returncode}" + (f": {said[-1]}" if said else "")
            raise AsrError(f"{where}: the piped command {command!r} failed in {base} ({why}, "
                           f"{os.path.getsize(tmp)} bytes of audio); fix it, or convert the audio to files "
                           f"and list their paths in wav.scp")
        _fix_wav_sizes(Path(tmp))
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fix_wav_sizes(path: Path) -> None:
    """Write the true sizes into a WAV header written to a pipe (which cannot
    seek back, so tools leave 0 or 0xFFFFFFFF there)."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        head = f.read(4096)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        at = 12
        while at + 8 <= len(head):
            chunk, length = head[at:at + 4], struct.unpack("<I", head[at + 4:at + 8])[0]
            if chunk == b"data":
                if length == 0 or at + 8 + length > size:
                    f.seek(4)
                    f.write(struct.pack("<I", size - 8))
                    f.seek(at + 4)
                    f.write(struct.pack("<I", size - at - 8))
                return
            at += 8 + length + (length & 1)
