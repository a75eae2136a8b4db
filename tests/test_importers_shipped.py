"""Importers on corpora as they are shipped and copied around: Kaldi recipe
trees (tabs, paths from the recipe folder, piped commands), NeMo manifests
from another machine, transcript tables, byte-order marks, other encodings,
upper-case suffixes, and the skip report every importer ends with."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr import corpora, manifest
from asr.corpora import common
from asr.errors import AsrError, ConfigError
from test_importers import broken as broken_wav, prep, write  # the same helpers

RATE = 16000
BOM = b"\xef\xbb\xbf"
FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def wav(path: Path, seconds: float = 0.3, broken: bool = False) -> Path:
    """`seconds` of quiet noise at 16 kHz (format from the suffix, any case), or a corrupt file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if broken:
        return broken_wav(path)
    noise = 0.05 * np.random.default_rng(len(path.name)).standard_normal(int(round(seconds * RATE)))
    sf.write(str(path), noise.astype(np.float32), RATE, format=FORMATS[path.suffix.lower()], subtype="PCM_16")
    return path


def merged(rows: dict) -> dict:
    return {k: v for split in rows.values() for k, v in split.items()}


def failure(name: str, out: Path, src: Path, **options) -> tuple[str, list[str]]:
    """The AsrError message of a failing import, and its log."""
    lines: list[str] = []
    with pytest.raises(AsrError) as caught:
        corpora.prepare(name, out, src, options, log=lines.append)
    return str(caught.value), lines


# ---------------------------------------------------------------- kaldi

def kaldi_data(data: Path, sep: str = " ", speakers: str = "abcd") -> None:
    """One 0.3 s recording per speaker; utterance <spk>-1 is its first 0.2 s (a segment from 0)."""
    for spk in speakers:
        wav(data / f"{spk}.wav")
    write(data / "wav.scp", "".join(f"rec-{s}{sep}{s}.wav\n" for s in speakers))
    write(data / "segments", "".join(f"{s}-1{sep}rec-{s}{sep}0.0{sep}0.2\n" for s in speakers))
    write(data / "text", "".join(f"{s}-1{sep}HELLO{sep}{s.upper()}{sep}\n" for s in speakers))
    write(data / "utt2spk", "".join(f"{s}-1{sep}speaker-{s}\n" for s in speakers))


@pytest.mark.parametrize("sep", [" ", "\t", " \t  "], ids=["space", "tab", "mixed"])
def test_kaldi_tables_split_on_any_run_of_whitespace(tmp_path, sep):
    kaldi_data(tmp_path / "data", sep)
    rows, _ = prep("kaldi", tmp_path / "out", tmp_path / "data")
    assert merged(rows) == {f"{s}-1": (f"HELLO {s.upper()}", f"speaker-{s}", 0.2, 0.0) for s in "abcd"}


def test_kaldi_whole_recordings_have_no_offset_and_spk2utt_gives_speakers(tmp_path):
    data = tmp_path / "data"
    kaldi_data(data)
    (data / "segments").unlink()
    (data / "utt2spk").unlink()
    write(data / "text", "".join(f"rec-{s} HI {s}\n" for s in "abcd"))
    write(data / "spk2utt", "alice\trec-a  rec-b\nbob rec-c\ncarol rec-d\n")
    rows, _ = prep("kaldi", tmp_path / "out", data)
    assert merged(rows) == {"rec-a": ("HI a", "alice", 0.3, None), "rec-b": ("HI b", "alice", 0.3, None),
                            "rec-c": ("HI c", "bob", 0.3, None), "rec-d": ("HI d", "carol", 0.3, None)}


@pytest.mark.parametrize("levels", [1, 3])
def test_kaldi_paths_relative_to_the_recipe_folder(tmp_path, levels):
    data = tmp_path / "corpus" / "s5" / "data" / "train"
    base = data.parents[levels - 1]  # where the recipe ran: s5/data (1 up) or the corpus root (3 up)
    kaldi_data(data)
    (base / "audio").mkdir()
    for s in "abcd":
        (data / f"{s}.wav").rename(base / "audio" / f"{s}.wav")
    write(data / "wav.scp", "".join(f"rec-{s} audio/{s}.wav\n" for s in "abcd"))
    rows, lines = prep("kaldi", tmp_path / "out", data)
    assert len(merged(rows)) == 4
    assert f"{data / 'wav.scp'}: 4 audio path(s) relative to {base}" in lines


def test_kaldi_runs_piped_commands(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    data = corpus / "data" / "train"
    kaldi_data(data)
    (data / "segments").unlink()
    a, _, c = wav(corpus / "audio" / "a.wav", 0.5), wav(corpus / "audio" / "b.wav", 0.25), wav(corpus / "c.wav", 0.4)
    header = bytearray(c.read_bytes())  # as a tool writing to a pipe leaves it: no sizes
    header[4:8], header[40:44] = struct.pack("<I", 0), struct.pack("<I", 0)
    c.write_bytes(bytes(header))
    write(data / "wav.scp", f"rec-a cat {a} |\nrec-b\tcat  audio/b.wav - |\nrec-c cat {c} |\nrec-d d.wav\n")
    write(data / "text", "".join(f"rec-{s} HI {s}\n" for s in "abcd"))
    rows, lines = prep("kaldi", out, data)
    assert {k: v[2] for k, v in merged(rows).items()} == {"rec-a": 0.5, "rec-b": 0.25, "rec-c": 0.4, "rec-d": 0.3}
    audio = {u.id: Path(u.audio) for s in common.SPLITS for u in manifest.read(out / f"{s}.jsonl")}
    assert {k: p.relative_to(out.resolve()).as_posix() for k, p in audio.items() if k != "rec-d"} == {
        "rec-a": "audio/train/rec-a.wav", "rec-b": "audio/train/rec-b.wav", "rec-c": "audio/train/rec-c.wav"}
    assert any("running 3 piped command(s)" in line for line in lines)
    before = {s: (out / f"{s}.jsonl").read_bytes() for s in common.SPLITS}
    corpora.prepare("kaldi", out, data)  # safe to re-run
    assert {s: (out / f"{s}.jsonl").read_bytes() for s in common.SPLITS} == before


@pytest.mark.parametrize("entry, message", [
    ("no-such-decoder -f wav a.sph |", "wav.scp:2: the piped command 'no-such-decoder -f wav a.sph' needs "
                                       "`no-such-decoder` and it is not on PATH (install it"),
    ("cat missing.wav |", "wav.scp:2: the piped command 'cat missing.wav' failed in "),
    ("raw.ark:1234", "wav.scp:2: 'raw.ark:1234' is a Kaldi archive or stream, not an audio file"),
    ("ark:/x/raw.ark", "wav.scp:2: 'ark:/x/raw.ark' is a Kaldi archive or stream, not an audio file"),
], ids=["missing program", "failing command", "archive offset", "ark"])
def test_kaldi_refuses_what_it_cannot_read(tmp_path, entry, message):
    data = tmp_path / "data"
    kaldi_data(data)
    write(data / "wav.scp", f"rec-a a.wav\nrec-b {entry}\n")
    error, _ = failure("kaldi", tmp_path / "out", data)
    assert message in error
    assert "list their paths" in error  # what to do instead


def test_kaldi_nothing_kept_names_the_commonest_reason(tmp_path):
    data = tmp_path / "data"
    kaldi_data(data)
    wav(data / "a.wav", broken=True)
    write(data / "text", "a-1 HELLO\n")  # b-1, c-1, d-1 have none
    error, lines = failure("kaldi", tmp_path / "out", data)
    assert error.startswith("4 of 4 skipped: no transcript for the key (3, example: ")
    assert "; not a readable audio file (1, example: " in error
    assert "kept 0 utterances, skipped 4" in lines
    assert any(line.startswith("  no transcript for the key: 3 (example: ") for line in lines)


# ---------------------------------------------------------------- nemo

def records(*items: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items)


def test_nemo_manifests_named_by_options(tmp_path):
    src = tmp_path / "src"
    for name in "abcd":
        wav(src / "wavs" / f"{name}.wav")
    write(src / "one.json", records({"audio_filepath": "wavs/a.wav", "text": "alpha"},
                                    {"audio_filepath": "wavs/b.wav", "text": "bravo"}))
    write(src / "two.json", records({"audio_filepath": "wavs/c.wav", "text": "charlie"}))
    write(tmp_path / "elsewhere" / "three.jsonl",
          records({"audio_filepath": str(src / "wavs" / "d.wav"), "text": "delta"}))
    write(src / "train_other.json", records({"audio_filepath": "wavs/x.wav", "text": "not read"}))
    rows, _ = prep("nemo", tmp_path / "out", src, train="one.json", dev="two.json",
                   test=str(tmp_path / "elsewhere" / "three.jsonl"))
    assert {k: sorted(v) for k, v in rows.items()} == {"train": ["a", "b"], "dev": ["c"], "test": ["d"]}
    with pytest.raises(ConfigError, match="option dev=absent.json: no such manifest"):
        corpora.prepare("nemo", tmp_path / "out", src, {"train": "one.json", "dev": "absent.json"})


@pytest.mark.parametrize("how", ["speaker", "utterance"])
def test_nemo_one_manifest_split(tmp_path, how):
    src = tmp_path / "src"
    items = []
    for spk in range(13):
        for i in range(2):
            items.append({"audio_filepath": str(wav(src / "wavs" / f"s{spk}-{i}.wav", 0.1)), "text": f"word {i}",
                          "speaker": f"s{spk}"})
    write(src / "all.json", records(*items))
    rows, _ = prep("nemo", tmp_path / "out", src, train="all.json", split=how)
    assert sum(len(v) for v in rows.values()) == 26 and all(rows.values())
    speakers = {k: {s for _, s, _, _ in v.values()} for k, v in rows.items()}
    if how == "speaker":
        assert not speakers["train"] & (speakers["dev"] | speakers["test"]) and len(speakers["dev"]) == 1
    else:
        assert len(rows["dev"]) == len(rows["test"]) == 2
    rows_again, _ = prep("nemo", tmp_path / "again", src, split=how)  # the only manifest in the folder
    assert rows_again == rows
    with pytest.raises(ConfigError, match="split must be one of speaker, utterance"):
        corpora.prepare("nemo", tmp_path / "out", src, {"split": "random"})


def test_nemo_paths_under_a_root_option(tmp_path):
    src, root = tmp_path / "manifests", tmp_path / "audio_root"
    for name in "abcd":
        wav(root / "wavs" / f"{name}.wav")
    for split, names in (("train", "ab"), ("dev", "c"), ("test", "d")):
        write(src / f"{split}.json", records(*({"audio_filepath": f"wavs/{n}.wav", "text": n} for n in names)))
    rows, lines = prep("nemo", tmp_path / "out", src, root=str(root))
    assert len(merged(rows)) == 4
    assert f"{src / 'train.json'}: audio files 2 relative to root {root}" in lines


def test_nemo_manifest_copied_from_another_machine(tmp_path):
    corpus = tmp_path / "corpus"
    for name in "abcde":
        wav(corpus / "wavs" / f"{name}.wav")
    write(corpus / "manifests" / "train.json", records(
        {"audio_filepath": "/home/someone/corpus/wavs/a.wav", "text": "alpha"},
        {"audio_filepath": "/home/someone/corpus/wavs/b.wav", "text": "bravo"},
        {"audio_filepath": "wavs/c.wav", "text": "charlie"},  # relative to the corpus, not to the manifest
        {"audio_filepath": "C:\\data\\corpus\\wavs\\d.wav", "text": "delta"},
        {"audio_filepath": "/home/someone/corpus/wavs/gone.wav", "text": "gone"}))
    write(corpus / "manifests" / "dev.json", records({"audio_filepath": "../wavs/e.wav", "text": "echo"}))
    write(corpus / "manifests" / "test.json", records({"audio_filepath": "/mnt/x/wavs/e.wav", "text": "echo"}))
    rows, lines = prep("nemo", tmp_path / "out", corpus / "manifests")
    assert sorted(rows["train"]) == ["a", "b", "c", "d"] and list(rows["dev"]) == list(rows["test"]) == ["e"]
    report = next(line for line in lines if line.startswith(f"{corpus / 'manifests' / 'train.json'}: audio files"))
    assert f"2 under {tmp_path} with 2 leading folder(s) dropped" in report
    assert f"1 under {corpus}," in report and "1 not found" in report
    assert any("gone.wav: no such audio file" in line for line in lines)


@pytest.mark.parametrize("offset", [0, 0.0, 0.1])
def test_nemo_offset_zero_is_a_segment(tmp_path, offset):
    src = tmp_path / "src"
    for name in "abcd":
        wav(src / f"{name}.wav")
    write(src / "train.json", records({"audio_filepath": "a.wav", "offset": offset, "duration": 0.2, "text": "seg"},
                                      {"audio_filepath": "b.wav", "duration": 0.2, "text": "whole"},
                                      {"audio_filepath": "c.wav", "offset": None, "duration": 0.2, "text": "whole"}))
    write(src / "test.json", records({"audio_filepath": "d.wav", "duration": 0.3, "text": "whole"}))
    rows, _ = prep("nemo", tmp_path / "out", src)
    start = f"{round(offset * 100):07d}"
    assert merged(rows) == {f"a-{start}": ("seg", None, 0.2, float(offset)), "b": ("whole", None, 0.3, None),
                            "c": ("whole", None, 0.3, None), "d": ("whole", None, 0.3, None)}


# ---------------------------------------------------------------- folder

@pytest.mark.parametrize("audio, transcript", [(".WAV", ".TXT"), (".wav", ".Lab"), (".FLAC", ".lab")])
def test_folder_suffixes_in_any_case(tmp_path, audio, transcript):
    for spk in "abcd":
        wav(tmp_path / "tree" / spk / f"one{audio}")
        write(tmp_path / "tree" / spk / f"one{transcript}", f"hello {spk}")
    rows, _ = prep("folder", tmp_path / "out", tmp_path / "tree")
    assert merged(rows) == {f"{s}/one": (f"hello {s}", s, 0.3, None) for s in "abcd"}


TABLES = {
    "sphinx": ("lists.transcription", "<s> HELLO A </s> (u-a)\n<s> HELLO B </s> (u-b)\nHELLO C (u-c)\n", None),
    "sphinx+fileids": ("lists.transcription", "<s> HELLO A </s>\n<s> HELLO B </s>\n<s> HELLO C </s>\n",
                       ("lists.fileids", "spk/u-a\nspk/u-b\nspk/u-c\n")),
    "kaldi text": ("text", "u-a HELLO A\nu-b\tHELLO B\nu-c  HELLO C\n", None),
    "librispeech": ("19-198.trans.txt", "u-a HELLO A\nu-b HELLO B\nu-c HELLO C\n", None),
    "transcripts.txt": ("transcripts.txt", "u-a HELLO A\nu-b HELLO B\nu-c HELLO C\nu-z NOT HERE\n", None),
}


@pytest.mark.parametrize("kind", TABLES)
def test_folder_transcript_table_per_folder(tmp_path, kind):
    name, table, fileids = TABLES[kind]
    for spk in "abcd":
        folder = tmp_path / "tree" / spk
        for u in "abc":
            wav(folder / f"u-{u}.wav", 0.1)
        write(folder / name, table)
        if fileids:
            write(folder / fileids[0], fileids[1])
        (folder / "README.txt").write_bytes("caf\xe9 notes, not a table\n".encode("latin-1"))  # ignored
    write(tmp_path / "tree" / "a" / "u-c.txt", "beside wins")
    rows, lines = prep("folder", tmp_path / "out", tmp_path / "tree")
    everything = merged(rows)
    assert len(everything) == 12 and everything["a/u-c"][0] == "beside wins"
    assert everything["b/u-a"] == ("HELLO A", "b", 0.1, None) and everything["d/u-b"][0] == "HELLO B"
    assert any(line.startswith(f"{tmp_path / 'tree' / 'c' / name}: transcripts of 3 audio file(s)") for line in lines)


def test_folder_table_in_another_encoding_names_its_line(tmp_path):
    for spk in "abcd":
        wav(tmp_path / "tree" / spk / "u-a.wav", 0.1)
        write(tmp_path / "tree" / spk / "text", "u-a HELLO\n")
    (tmp_path / "tree" / "c" / "text").write_bytes("u-a HELLO\nu-b CAF\xc9\n".encode("latin-1"))
    error, _ = failure("folder", tmp_path / "out", tmp_path / "tree")
    assert error.startswith(f"{tmp_path / 'tree' / 'c' / 'text'}:2: not UTF-8 text (byte 0xc9 at column 8)")


@pytest.mark.parametrize("pattern, expected", [(r"S\d{4}", "S0150"), (r"BAC009(S\d+)W", "S0150"),
                                               (r"^(\w{6})(S)", "BAC009")])
def test_folder_speaker_pattern(tmp_path, pattern, expected):
    for spk in ("S0150", "S0151", "S0152", "S0153"):
        for utt in ("W0337", "W0338"):
            wav(tmp_path / "flat" / f"BAC009{spk}{utt}.wav", 0.1)
            write(tmp_path / "flat" / f"BAC009{spk}{utt}.txt", "ni hao")
    wav(tmp_path / "flat" / "other.wav", 0.1)
    write(tmp_path / "flat" / "other.txt", "odd one")
    rows, lines = prep("folder", tmp_path / "out", tmp_path / "flat", speaker_pattern=pattern)
    everything = merged(rows)
    assert everything["BAC009S0150W0337"][1] == expected and everything["other"][1] == "flat"
    if expected == "S0150":
        assert {s for _, s, _, _ in everything.values()} == {"S0150", "S0151", "S0152", "S0153", "flat"}
    assert any("found nothing in 1 file name(s) (e.g. other.wav)" in line for line in lines)
    with pytest.raises(ConfigError, match="speaker_pattern='S\\(' is not a regular expression"):
        corpora.prepare("folder", tmp_path / "out", tmp_path / "flat", {"speaker_pattern": "S("})


def test_cli_corpus_options_keep_text_as_written(tmp_path):
    """`--set speaker_pattern=[S]\\d{4}` is a pattern, not a YAML list; numbers are still numbers."""
    from typer.testing import CliRunner

    from asr_cli.main import app
    for spk in ("S0150", "S0151", "S0152", "S0153"):
        for utt in ("W0337", "W0338"):
            wav(tmp_path / "flat" / f"BAC009{spk}{utt}.wav", 0.1)
            write(tmp_path / "flat" / f"BAC009{spk}{utt}.txt", "ni hao")
    run = lambda *sets: CliRunner().invoke(app, ["prep", "folder", str(tmp_path / "out"), "--src",  # noqa: E731
                                                 str(tmp_path / "flat"), *[a for s in sets for a in ("--set", s)]])
    result = run(r"speaker_pattern=[S]\d{4}", "dev_share=0.25", "test_share=0.25", "seed=3")
    assert result.exit_code == 0, result.output
    speakers = {u.speaker for split in ("train", "dev", "test") for u in manifest.read(tmp_path / "out" / f"{split}.jsonl")}
    assert speakers == {"S0150", "S0151", "S0152", "S0153"}
    result = run("seed=three")
    assert result.exit_code != 0 and "option seed must be int, got 'three'" in result.output
    with pytest.raises(ConfigError, match="option speaker_pattern must be str, got 7 \\(quote it in YAML"):
        corpora.prepare("folder", tmp_path / "out2", tmp_path / "flat", {"speaker_pattern": 7})  # prep.yaml: 7


# ---------------------------------------------------------------- every importer

@dataclass
class Tree:
    """Writes a tiny corpus: text files with or without a byte-order mark (or
    in Latin-1), audio suffixes lower or upper case, audio readable or not."""

    root: Path
    bom: bool = False
    latin1: bool = False
    upper: bool = False
    broken: bool = False
    where: str = ""  # "file:line" of the first non-UTF-8 text written

    def text(self, path: Path, content: str) -> Path:
        if self.latin1 and "é" in content and not self.where:
            self.where = f"{path}:{content[:content.index('é')].count(chr(10)) + 1}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((BOM if self.bom else b"") + content.encode("latin-1" if self.latin1 else "utf-8"))
        return path

    def audio(self, stem: Path, suffix: str = ".wav") -> Path:
        return wav(stem.with_name(stem.name + (suffix.upper() if self.upper else suffix)), 0.1, self.broken)


def an4_tree(t: Tree) -> tuple[Path, dict]:
    root = t.root / "an4"
    train = [("fash", "an251-fash-b", "YES"), ("mblw", "an1-mblw-b", "CAFé NINE"), ("mjes", "an156-mjes-b", "NO")]
    for spk, uid, _ in train + [("fcaw", "an406-fcaw-b", "")]:
        t.audio(root / "wav" / ("an4test_clstk" if spk == "fcaw" else "an4_clstk") / spk / uid)
    t.text(root / "etc" / "an4_train.fileids", "".join(f"an4_clstk/{s}/{u}\n" for s, u, _ in train))
    t.text(root / "etc" / "an4_train.transcription", "".join(f"<s> {w} </s> ({u})\n" for _, u, w in train))
    t.text(root / "etc" / "an4_test.fileids", "an4test_clstk/fcaw/an406-fcaw-b\n")
    t.text(root / "etc" / "an4_test.transcription", "RUBOUT G (an406-fcaw-b)\n")
    return t.root, {}


def aishell_tree(t: Tree) -> tuple[Path, dict]:
    root = t.root / "data_aishell"
    ids = {"train": ["S0001", "S0002"], "dev": ["S0003"], "test": ["S0004"]}
    for split, speakers in ids.items():
        for spk in speakers:
            t.audio(root / "wav" / split / spk / f"BAC009{spk}W0001")
    t.text(root / "transcript" / "aishell_transcript_v0.8.txt",
           "".join(f"BAC009{s}W0001 ni {'café' if s == 'S0002' else 'hao'}\n" for s in sum(ids.values(), [])))
    return t.root, {}


def librispeech_tree(t: Tree) -> tuple[Path, dict]:
    subsets = {"19": "train-clean-100", "26": "train-clean-100", "84": "dev-clean", "61": "test-clean"}
    for spk, subset in subsets.items():
        chapter = t.root / "LibriSpeech" / subset / spk / "10"
        t.audio(chapter / f"{spk}-10-0000", ".flac")
        t.text(chapter / f"{spk}-10.trans.txt", f"{spk}-10-0000 HELLO {'CAFé' if spk == '26' else spk}\n")
    return t.root, {}


def commonvoice_tree(t: Tree) -> tuple[Path, dict]:
    header = "client_id\tpath\tsentence\n"
    rows = {"train": [("aaa", "a1", "Hi there"), ("bbb", "b1", "Un café")], "dev": [("ccc", "c1", "Dev")],
            "test": [("ddd", "d1", "Test")]}
    for split, items in rows.items():
        for _, clip, _ in items:
            t.audio(t.root / "clips" / clip)
        suffix = ".WAV" if t.upper else ".wav"
        t.text(t.root / f"{split}.tsv", header + "".join(f"{c}\t{p}{suffix}\t{s}\n" for c, p, s in items))
    return t.root, {}


def ljspeech_tree(t: Tree) -> tuple[Path, dict]:
    root = t.root / "LJSpeech-1.1"
    for i in range(1, 5):
        t.audio(root / "wavs" / f"LJ001-000{i}")
    t.text(root / "metadata.csv", "".join(f"LJ001-000{i}|Text {i}|{'café' if i == 2 else 'text'} {i}\n"
                                          for i in range(1, 5)))
    return t.root, {"dev": 1, "test": 1}


def kaldi_tree(t: Tree) -> tuple[Path, dict]:
    data = t.root / "data"
    suffix = ".WAV" if t.upper else ".wav"
    for s in "abcd":
        t.audio(data / s)
    t.text(data / "wav.scp", "".join(f"rec-{s} {s}{suffix}\n" for s in "abcd"))
    t.text(data / "text", "".join(f"rec-{s} HELLO {'CAFé' if s == 'b' else s}\n" for s in "abcd"))
    t.text(data / "utt2spk", "".join(f"rec-{s} {s}\n" for s in "abcd"))
    return data, {}


def nemo_tree(t: Tree) -> tuple[Path, dict]:
    suffix = ".WAV" if t.upper else ".wav"
    for s in "abcd":
        t.audio(t.root / "wavs" / s)
    item = lambda s, text: {"audio_filepath": f"wavs/{s}{suffix}", "duration": 0.1, "text": text}  # noqa: E731
    t.text(t.root / "train.json", records(item("a", "alpha"), item("b", "café")))
    t.text(t.root / "dev.json", records(item("c", "charlie")))
    t.text(t.root / "test.json", records(item("d", "delta")))
    return t.root, {}


def folder_tree(t: Tree) -> tuple[Path, dict]:
    for s in "abcd":
        t.audio(t.root / "tree" / s / "one")
        t.text(t.root / "tree" / s / "one.txt", f"hello {'café' if s == 'b' else s}\n")
    return t.root / "tree", {}


def fsdd_tree(t: Tree) -> tuple[Path, dict]:
    for name in ("3_george_0", "3_george_7", "3_jackson_7", "3_theo_0"):
        t.audio(t.root / "recordings" / name)
    return t.root, {}


def yesno_tree(t: Tree) -> tuple[Path, dict]:
    for name in ("0_1", "1_0", "1_1", "0_0"):
        t.audio(t.root / name)
    return t.root, {"n_test": 1}


TREES = {"an4": an4_tree, "aishell": aishell_tree, "librispeech": librispeech_tree, "commonvoice": commonvoice_tree,
         "ljspeech": ljspeech_tree, "kaldi": kaldi_tree, "nemo": nemo_tree, "folder": folder_tree,
         "fsdd": fsdd_tree, "yesno": yesno_tree}
WITH_TEXT = [name for name in TREES if name not in ("fsdd", "yesno")]


@pytest.mark.parametrize("name", WITH_TEXT)
def test_byte_order_marks_are_ignored(tmp_path, name):
    src, options = TREES[name](Tree(tmp_path / "plain"))
    plain, _ = prep(name, tmp_path / "plain_out", src, **options)
    src, options = TREES[name](Tree(tmp_path / "bom", bom=True))
    marked, lines = prep(name, tmp_path / "bom_out", src, **options)
    assert marked == plain and len(merged(marked)) == 4
    assert "\ufeff" not in json.dumps(marked) and not [line for line in lines if line.startswith("skipped ")]


@pytest.mark.parametrize("name", WITH_TEXT)
def test_text_in_another_encoding_names_the_file_and_line(tmp_path, name):
    tree = Tree(tmp_path / "src", latin1=True)
    src, options = TREES[name](tree)
    error, _ = failure(name, tmp_path / "out", src, **options)
    assert error.startswith(f"{tree.where}: not UTF-8 text (byte 0xe9 at column ")
    assert "save it as UTF-8" in error


@pytest.mark.parametrize("name", TREES)
def test_upper_case_audio_suffixes(tmp_path, name):
    src, options = TREES[name](Tree(tmp_path / "src", upper=True))
    rows, lines = prep(name, tmp_path / "out", src, **options)
    assert len(merged(rows)) == 4, lines
    assert "kept 4 utterances, skipped 0" in lines


@pytest.mark.parametrize("name", TREES)
def test_nothing_usable_names_the_reason_and_reports(tmp_path, name):
    src, options = TREES[name](Tree(tmp_path / "src", broken=True))
    error, lines = failure(name, tmp_path / "out", src, **options)
    assert error.startswith("4 of 4 skipped: not a readable audio file (example: "), error
    assert "kept 0 utterances, skipped 4" in lines
    assert any(line.startswith("  not a readable audio file: 4 (example: ") for line in lines)
    assert not (tmp_path / "out" / "train.jsonl").exists()


def test_the_report_comes_also_when_the_import_then_fails(tmp_path):
    src, _ = ljspeech_tree(Tree(tmp_path / "src"))
    (src / "LJSpeech-1.1" / "wavs" / "LJ001-0004.wav").unlink()
    error, lines = failure("ljspeech", tmp_path / "out", src, dev=2, test=2)
    assert "too few to hold out" in error
    assert "kept 3 utterances, skipped 1" in lines
    assert any(line.startswith("  no such audio file: 1 (example: ") for line in lines)
