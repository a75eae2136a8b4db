"""Corpus importers on tiny synthetic trees: exact splits, skips, re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from asr import corpora, manifest
from asr.corpora import common
from asr.errors import AsrError, ConfigError, ManifestError

RATE = 8000
FORMATS = {".sph": ("NIST", "PCM_16"), ".mp3": ("MP3", None)}


def tone(path: Path, seconds: float, rate: int = RATE) -> Path:
    """A quiet sine of exactly `seconds` (a whole number of samples)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(round(seconds * rate))) / rate
    fmt, subtype = FORMATS.get(path.suffix, (None, None))
    sf.write(str(path), (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format=fmt, subtype=subtype)
    return path


def broken(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(40))
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def prep(name: str, out: Path, src: Path | None, **options) -> tuple[dict, list[str]]:
    """Run an importer; its manifests as {split: {id: (text, speaker, duration, offset)}} and its log
    (offset None: the whole file)."""
    lines: list[str] = []
    paths = corpora.prepare(name, out, src, options, log=lines.append)
    assert set(paths) == {"train", "dev", "test"}
    rows = {split: {u.id: (u.text, u.speaker, round(u.duration, 4), None if u.offset is None else round(u.offset, 4))
                    for u in manifest.read(path)}
            for split, path in paths.items()}
    for path in paths.values():  # absolute audio paths that exist
        for u in manifest.read(path):
            assert Path(u.audio).is_absolute() and Path(u.audio).is_file()
    return rows, lines


def skipped(lines: list[str], name: str, reason: str) -> bool:
    return any(line.startswith("skipped ") and name in line and reason in line for line in lines)


def assert_rerun_identical(name: str, out: Path, src: Path, **options) -> None:
    before = {s: (out / f"{s}.jsonl").read_bytes() for s in common.SPLITS}
    corpora.prepare(name, out, src, options)
    assert {s: (out / f"{s}.jsonl").read_bytes() for s in common.SPLITS} == before


# ---------------------------------------------------------------- an4

def an4_tree(root: Path, suffix: str) -> Path:
    train = {("fash", "an251-fash-b"): 0.5, ("fash", "an253-fash-b"): 0.25, ("mblw", "an1-mblw-b"): 0.75,
             ("mblw", "an2-mblw-b"): 0.5, ("mjes", "an156-mjes-b"): 0.5}
    for (spk, uid), seconds in train.items():
        tone(root / "wav" / "an4_clstk" / spk / f"{uid}{suffix}", seconds)
    broken(root / "wav" / "an4_clstk" / "mjes" / f"an157-mjes-b{suffix}")
    tone(root / "wav" / "an4test_clstk" / "fcaw" / f"an406-fcaw-b{suffix}", 1.0)
    tone(root / "wav" / "an4test_clstk" / "fcaw" / f"an407-fcaw-b{suffix}", 1.0)
    ids = [f"an4_clstk/{s}/{u}" for s, u in train] + ["an4_clstk/mjes/an157-mjes-b"]
    write(root / "etc" / "an4_train.fileids", "\n".join(ids) + "\n")
    write(root / "etc" / "an4_train.transcription",
          "<s> YES </s> (an251-fash-b)\n<s> GO </s> (an253-fash-b)\n<s> X I SIXTY ONE </s> (an1-mblw-b)\n"
          "<s> </s> (an2-mblw-b)\n<s> ENTER THIRTY SEVEN </s> (an156-mjes-b)\n<s> NO </s> (an157-mjes-b)\n")
    write(root / "etc" / "an4_test.fileids", "an4test_clstk/fcaw/an406-fcaw-b\nan4test_clstk/fcaw/an407-fcaw-b\n")
    write(root / "etc" / "an4_test.transcription", "RUBOUT G M E F THREE NINE (an406-fcaw-b)\n")
    return root


@pytest.mark.parametrize("suffix, nested", [(".wav", False), (".sph", True)])
def test_an4(tmp_path, suffix, nested):
    src = tmp_path / "src"
    an4_tree(src / "an4" if nested else src, suffix)
    rows, lines = prep("an4", tmp_path / "out", src)
    assert rows["test"] == {"an406-fcaw-b": ("RUBOUT G M E F THREE NINE", "fcaw", 1.0, None)}
    assert rows["dev"] == {"an156-mjes-b": ("ENTER THIRTY SEVEN", "mjes", 0.5, None)}  # one speaker held out
    assert rows["train"] == {"an251-fash-b": ("YES", "fash", 0.5, None), "an253-fash-b": ("GO", "fash", 0.25, None),
                             "an1-mblw-b": ("X I SIXTY ONE", "mblw", 0.75, None)}
    assert skipped(lines, f"an157-mjes-b{suffix}", "not a readable audio file")
    assert skipped(lines, f"an2-mblw-b{suffix}", "empty transcript")
    assert skipped(lines, "an407-fcaw-b", "no transcript")
    assert "kept 5 utterances, skipped 3" in lines
    assert_rerun_identical("an4", tmp_path / "out", src)


def test_an4_needs_its_folders(tmp_path):
    with pytest.raises(AsrError, match="an4 folder holding etc/ and wav/"):
        corpora.prepare("an4", tmp_path / "out", tmp_path)
    write(tmp_path / "an4" / "etc" / "an4_train.fileids", "an4_clstk/fash/an251-fash-b\n")
    write(tmp_path / "an4" / "wav" / "an4_clstk" / "fash" / "an251-fash-b.raw", "raw samples")
    with pytest.raises(AsrError, match="only headerless .raw audio"):
        corpora.prepare("an4", tmp_path / "out", tmp_path)


# ---------------------------------------------------------------- librispeech

def libri_subset(root: Path, subset: str, speakers: dict[str, float]) -> None:
    for spk, seconds in speakers.items():
        chapter = root / subset / spk / "10"
        tone(chapter / f"{spk}-10-0000.flac", seconds)
        tone(chapter / f"{spk}-10-0001.flac", seconds / 2)
        write(chapter / f"{spk}-10.trans.txt", f"{spk}-10-0000 HELLO {spk.upper()}\n{spk}-10-0001 IT'S ME\n")


def test_librispeech(tmp_path):
    root = tmp_path / "LibriSpeech"
    libri_subset(root, "train-clean-100", {"19": 0.5, "26": 0.25})
    libri_subset(root, "dev-clean", {"84": 0.5})
    libri_subset(root, "test-clean", {"61": 0.5})
    chapter = root / "train-clean-100" / "19" / "10"
    broken(chapter / "19-10-0002.flac")
    tone(chapter / "19-10-0003.flac", 0.5)  # not in the transcript
    tone(chapter / "19-10-0004.flac", 0.5)  # its line has no text
    with open(chapter / "19-10.trans.txt", "a", encoding="utf-8") as f:
        f.write("19-10-0002 BROKEN\n19-10-0004\n19-10-0005 NO AUDIO\n")
    rows, lines = prep("librispeech", tmp_path / "out", tmp_path)  # the parent of LibriSpeech/
    assert rows["train"] == {"19-10-0000": ("HELLO 19", "19", 0.5, None), "19-10-0001": ("IT'S ME", "19", 0.25, None),
                             "26-10-0000": ("HELLO 26", "26", 0.25, None), "26-10-0001": ("IT'S ME", "26", 0.125, None)}
    assert list(rows["dev"]) == ["84-10-0000", "84-10-0001"] and list(rows["test"]) == ["61-10-0000", "61-10-0001"]
    assert skipped(lines, "19-10-0002.flac", "not a readable audio file")
    assert skipped(lines, "19-10-0003.flac", "no transcript line in 19-10.trans.txt")
    assert skipped(lines, "19-10-0004.flac", "empty transcript")
    assert skipped(lines, "19-10-0005.flac", "no such audio file")
    assert_rerun_identical("librispeech", tmp_path / "out", tmp_path)


def test_librispeech_subsets(tmp_path):
    root = tmp_path / "LibriSpeech"
    libri_subset(root, "train-clean-100", {"19": 0.5, "26": 0.25, "27": 0.25})
    libri_subset(root, "test-clean", {"61": 0.5})
    with pytest.raises(ConfigError, match="names no test-\\* subset"):
        corpora.prepare("librispeech", tmp_path / "out", root, {"subsets": "train-clean-100"})
    with pytest.raises(AsrError, match="found: test-clean, train-clean-100"):
        corpora.prepare("librispeech", tmp_path / "out", root, {"subsets": "train-clean-360,test-clean"})
    rows, lines = prep("librispeech", tmp_path / "a", root, subsets="train-clean-100,test-clean")
    assert {s for _, s, _, _ in rows["dev"].values()} == {"27"} and len(rows["train"]) == 4
    assert any(line.startswith("dev: none in the corpus") for line in lines)
    rows, _ = prep("librispeech", tmp_path / "b", root / "train-clean-100")  # one subset: all held out from it
    assert [{s for _, s, _, _ in rows[k].values()} for k in common.SPLITS] == [{"26"}, {"27"}, {"19"}]


# ---------------------------------------------------------------- commonvoice

CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\n"


def test_commonvoice(tmp_path):
    src = tmp_path / "en"
    for name, seconds in (("a1", 0.5), ("a2", 0.25), ("b1", 0.75), ("c1", 0.5), ("d1", 0.5)):
        tone(src / "clips" / f"common_voice_en_{name}.mp3", seconds)
    broken(src / "clips" / "common_voice_en_a3.mp3")
    write(src / "train.tsv", CV_HEADER + 'aaa\tcommon_voice_en_a1.mp3\tShe said "hi".\t2\t0\n'
          "aaa\tcommon_voice_en_a2.mp3\tIt's fine\t2\t0\naaa\tcommon_voice_en_a3.mp3\tBroken clip\t2\t0\n"
          "aaa\tcommon_voice_en_a4.mp3\tNo clip\t2\t0\nbbb\tcommon_voice_en_b1.mp3\t\t2\t0\n")
    write(src / "dev.tsv", CV_HEADER + "ccc\tcommon_voice_en_c1.mp3\tA dev sentence\t2\t0\n")
    write(src / "test.tsv", CV_HEADER + "ddd\tcommon_voice_en_d1.mp3\tA test sentence\t2\t0\n")
    rows, lines = prep("commonvoice", tmp_path / "out", src)
    assert rows["train"] == {"common_voice_en_a1": ('She said "hi".', "aaa", 0.5, None),
                             "common_voice_en_a2": ("It's fine", "aaa", 0.25, None)}
    assert rows["dev"] == {"common_voice_en_c1": ("A dev sentence", "ccc", 0.5, None)}
    assert rows["test"] == {"common_voice_en_d1": ("A test sentence", "ddd", 0.5, None)}
    assert skipped(lines, "common_voice_en_a3.mp3", "not a readable audio file")
    assert skipped(lines, "common_voice_en_a4.mp3", "no such audio file")
    assert skipped(lines, "common_voice_en_b1.mp3", "empty transcript")
    assert_rerun_identical("commonvoice", tmp_path / "out", src)
    for name in ("train", "dev", "test"):
        (src / f"{name}.tsv").unlink()
    write(src / "validated.tsv", CV_HEADER + "".join(
        f"{spk * 3}\tcommon_voice_en_{spk}1.mp3\tsay {spk}\t2\t0\n" for spk in "abcd"))
    rows, _ = prep("commonvoice", tmp_path / "validated", src)
    assert [sorted(rows[k]) for k in common.SPLITS] == [["common_voice_en_a1", "common_voice_en_b1"],
                                                        ["common_voice_en_d1"], ["common_voice_en_c1"]]


def test_commonvoice_needs_columns(tmp_path):
    write(tmp_path / "train.tsv", "path\tsentence\nx.mp3\thi\n")
    with pytest.raises(AsrError, match="no column\\(s\\) client_id"):
        corpora.prepare("commonvoice", tmp_path / "out", tmp_path)


# ---------------------------------------------------------------- ljspeech

def test_ljspeech(tmp_path):
    src = tmp_path / "LJSpeech-1.1"
    for i in range(1, 7):
        tone(src / "wavs" / f"LJ001-000{i}.wav", i / 8)
    broken(src / "wavs" / "LJ001-0007.wav")
    write(src / "metadata.csv", "".join(f"LJ001-000{i}|Text {i}, Dr. \"{i}\"|text {i} doctor \"{i}\"\n"
                                        for i in range(1, 5))
          + "LJ001-0005|Raw only 5|\nLJ001-0006|Two columns 6\nLJ001-0007|Broken|broken\nLJ001-0008|No audio|no\n")
    rows, lines = prep("ljspeech", tmp_path / "out", tmp_path, dev=1, test=2)
    everything = {k: v for split in rows.values() for k, v in split.items()}
    assert everything == {**{f"LJ001-000{i}": (f'text {i} doctor "{i}"', "LJ", i / 8, None) for i in range(1, 5)},
                          "LJ001-0005": ("Raw only 5", "LJ", 0.625, None), "LJ001-0006": ("Two columns 6", "LJ", 0.75, None)}
    assert [sorted(rows[k]) for k in common.SPLITS] == [["LJ001-0001", "LJ001-0003", "LJ001-0005"],
                                                        ["LJ001-0004"], ["LJ001-0002", "LJ001-0006"]]
    assert skipped(lines, "LJ001-0007.wav", "not a readable audio file")
    assert skipped(lines, "LJ001-0008.wav", "no such audio file")
    assert_rerun_identical("ljspeech", tmp_path / "out", tmp_path, dev=1, test=2)
    with pytest.raises(ConfigError, match="dev must be at least 1"):
        corpora.prepare("ljspeech", tmp_path / "out", src, {"dev": 0})
    with pytest.raises(AsrError, match="too few to hold out"):
        corpora.prepare("ljspeech", tmp_path / "out", src, {"dev": 2, "test": 4})


# ---------------------------------------------------------------- kaldi

def test_kaldi_segments(tmp_path):
    data = tmp_path / "data"
    tone(tmp_path / "audio" / "rec1.wav", 2.0)
    tone(data / "rec2.wav", 1.0)
    broken(tmp_path / "audio" / "rec3.wav")
    write(data / "wav.scp", f"rec1 {tmp_path / 'audio' / 'rec1.wav'}\nrec2 rec2.wav\nrec3 {tmp_path / 'audio' / 'rec3.wav'}\n")
    write(data / "segments", "s1a rec1 0.0 0.5\ns1b rec1 0.5 1.25\ns1c rec1 1.5 2.5\ns2a rec2 0.25 -1\n"
          "s2b rec2 0 0.5\ns3a rec3 0 1\ns4a rec4 0 1\n")
    write(data / "text", "s1a ONE\ns1b TWO  THREE\ns1c BEYOND\ns2a FOUR\ns3a BROKEN\ns4a NO RECORDING\n")
    write(data / "utt2spk", "s1a alice\ns1b alice\ns1c alice\ns2a bob\ns2b bob\ns3a carol\ns4a dave\n")
    rows, lines = prep("kaldi", tmp_path / "out", data)
    assert [len(rows[k]) for k in common.SPLITS] == [1, 1, 1]  # two speakers: held out by utterance
    assert {k: v for split in rows.values() for k, v in split.items()} == {
        "s1a": ("ONE", "alice", 0.5, 0.0), "s1b": ("TWO THREE", "alice", 0.75, 0.5), "s2a": ("FOUR", "bob", 0.75, 0.25)}
    assert skipped(lines, "rec1.wav", "segment s1c (1.5 s + 1 s) is outside the recording (2 s)")
    assert skipped(lines, "rec2.wav", "no transcript for s2b")
    assert skipped(lines, "rec3.wav", "not a readable audio file")
    assert skipped(lines, "segments", "recording rec4 of s4a is not in wav.scp")


def test_kaldi_splits_and_pipes(tmp_path):
    for split, speakers in (("train", ("alice", "bob")), ("dev", ("carol",)), ("test", ("dave",))):
        data = tmp_path / "data" / split
        for spk in speakers:
            tone(data / f"{spk}.wav", 0.5)
            tone(data / f"{spk}-2.wav", 0.25)
        write(data / "wav.scp", "".join(f"{spk}-1 {spk}.wav\n{spk}-2 {spk}-2.wav\n" for spk in speakers))
        write(data / "text", "".join(f"{spk}-1 HI {spk.upper()}\n{spk}-2 {'' if spk == 'bob' else 'BYE'}\n"
                                     for spk in speakers))
    rows, lines = prep("kaldi", tmp_path / "out", tmp_path / "data")
    assert rows["train"] == {"alice-1": ("HI ALICE", None, 0.5, None), "alice-2": ("BYE", None, 0.25, None),
                             "bob-1": ("HI BOB", None, 0.5, None)}
    assert sorted(rows["dev"]) == ["carol-1", "carol-2"] and sorted(rows["test"]) == ["dave-1", "dave-2"]
    assert skipped(lines, "bob-2.wav", "empty transcript")
    assert_rerun_identical("kaldi", tmp_path / "out", tmp_path / "data")
    with open(tmp_path / "data" / "dev" / "wav.scp", "a") as f:
        f.write("carol-3 no-such-decoder carol.sph -t wav - |\n")  # a program that is not installed
    with pytest.raises(AsrError, match="wav.scp:3: the piped command 'no-such-decoder carol.sph -t wav -' "
                                       "needs `no-such-decoder` and it is not on PATH"):
        corpora.prepare("kaldi", tmp_path / "out", tmp_path / "data")


# ---------------------------------------------------------------- nemo

def test_nemo(tmp_path):
    src = tmp_path / "manifests"
    tone(src / "wavs" / "a.wav", 0.5)
    tone(src / "wavs" / "long.wav", 2.0)
    tone(tmp_path / "elsewhere" / "b.wav", 0.75)
    broken(src / "wavs" / "c.wav")
    tone(src / "wavs" / "d.wav", 0.5)
    tone(src / "wavs" / "e.wav", 0.25)
    lines_of = lambda *records: "".join(json.dumps(r) + "\n" for r in records)  # noqa: E731
    write(src / "train_manifest.json", lines_of(
        {"audio_filepath": "wavs/a.wav", "duration": 0.5, "text": "alpha", "speaker": 7},
        {"audio_filepath": str(tmp_path / "elsewhere" / "b.wav"), "duration": 0.7, "text": "bravo"},
        {"audio_filepath": "wavs/long.wav", "offset": 0.5, "duration": 1.0, "text": "segment"},
        {"audio_filepath": "wavs/long.wav", "offset": 1.5, "duration": 1.0, "text": "too long"},
        {"audio_filepath": "wavs/c.wav", "duration": 0.5, "text": "broken"},
        {"audio_filepath": "wavs/d.wav", "duration": 0.5}) + "\n")
    write(src / "val_manifest.jsonl", lines_of({"audio_filepath": "wavs/d.wav", "duration": 0.5, "text": "delta"}))
    write(src / "test_manifest.json", lines_of({"audio_filepath": "wavs/e.wav", "duration": 0.25, "text": "echo"}))
    rows, lines = prep("nemo", tmp_path / "out", src)
    assert rows == {"train": {"a": ("alpha", "7", 0.5, None), "b": ("bravo", None, 0.75, None),
                              "long-0000050": ("segment", None, 1.0, 0.5)},
                    "dev": {"d": ("delta", None, 0.5, None)}, "test": {"e": ("echo", None, 0.25, None)}}
    assert skipped(lines, "long.wav", "outside the recording")
    assert skipped(lines, "c.wav", "not a readable audio file")
    assert skipped(lines, "d.wav", "no transcript (")
    assert_rerun_identical("nemo", tmp_path / "out", src)
    write(src / "test_manifest.json", '{"audio_filepath": "wavs/e.wav",\n')
    with pytest.raises(ManifestError, match="test_manifest.json:1: not valid JSON"):
        corpora.prepare("nemo", tmp_path / "out", src)


# ---------------------------------------------------------------- folder

def test_folder(tmp_path):
    src = tmp_path / "tree"
    for spk in ("alice", "bob", "carol", "dave"):
        tone(src / spk / "one.wav", 0.5)
        write(src / spk / "one.txt", f"hello {spk}\n")
    tone(src / "alice" / "deep" / "two.flac", 0.25)
    write(src / "alice" / "deep" / "two.lab", "from a lab file")
    tone(src / "bob" / "untold.ogg", 0.25)
    tone(src / "bob" / "blank.wav", 0.25)
    write(src / "bob" / "blank.txt", "  \n")
    broken(src / "carol" / "bad.wav")
    write(src / "carol" / "bad.txt", "broken")
    rows, lines = prep("folder", tmp_path / "out", src, dev_share=0.2, test_share=0.2)
    assert rows == {"train": {"alice/deep/two": ("from a lab file", "deep", 0.25, None),  # speaker: its folder
                              "bob/one": ("hello bob", "bob", 0.5, None), "dave/one": ("hello dave", "dave", 0.5, None)},
                    "dev": {"alice/one": ("hello alice", "alice", 0.5, None)},
                    "test": {"carol/one": ("hello carol", "carol", 0.5, None)}}
    assert skipped(lines, "untold.ogg", "no transcript (untold.txt or untold.lab beside it, or a line in a transcript")
    assert skipped(lines, "blank.wav", "empty transcript")
    assert skipped(lines, "bad.wav", "not a readable audio file")
    assert "kept 5 utterances, skipped 3" in lines
    assert_rerun_identical("folder", tmp_path / "out", src, dev_share=0.2, test_share=0.2)
    with pytest.raises(ConfigError, match="dev_share must be a fraction"):
        corpora.prepare("folder", tmp_path / "out", src, {"dev_share": 1.5})


def test_folder_few_speakers_split_by_utterance(tmp_path):
    for i in range(10):
        tone(tmp_path / "me" / f"u{i}.wav", 0.125)
        write(tmp_path / "me" / f"u{i}.txt", f"utterance {i}")
    rows, lines = prep("folder", tmp_path / "out", tmp_path / "me")
    assert [len(rows[k]) for k in common.SPLITS] == [8, 1, 1]
    assert any("held-out sets are drawn by utterance" in line for line in lines)


# ---------------------------------------------------------------- aishell

def test_aishell(tmp_path):
    root = tmp_path / "data_aishell"
    tone(root / "wav" / "train" / "S0002" / "BAC009S0002W0122.wav", 0.5)
    tone(root / "wav" / "train" / "S0002" / "BAC009S0002W0123.wav", 0.25)  # no transcript
    broken(root / "wav" / "train" / "S0002" / "BAC009S0002W0124.wav")
    tone(root / "wav" / "dev" / "S0724" / "BAC009S0724W0121.wav", 0.5)
    tone(root / "wav" / "test" / "S0764" / "BAC009S0764W0121.wav", 0.75)
    write(root / "transcript" / "aishell_transcript_v0.8.txt",
          "BAC009S0002W0122 而 对 楼市 成交 抑制 作用 最 大 的 限 购\nBAC009S0002W0124 坏\n"
          "BAC009S0724W0121 甚至 出现 交易 几乎 停滞 的 情况\nBAC009S0764W0121 一二 三\n")
    rows, lines = prep("aishell", tmp_path / "out", tmp_path)
    assert rows == {"train": {"BAC009S0002W0122": ("而对楼市成交抑制作用最大的限购", "S0002", 0.5, None)},
                    "dev": {"BAC009S0724W0121": ("甚至出现交易几乎停滞的情况", "S0724", 0.5, None)},
                    "test": {"BAC009S0764W0121": ("一二三", "S0764", 0.75, None)}}
    assert skipped(lines, "BAC009S0002W0123.wav", "no transcript line")
    assert skipped(lines, "BAC009S0002W0124.wav", "not a readable audio file")
    assert_rerun_identical("aishell", tmp_path / "out", tmp_path)


# ---------------------------------------------------------------- fsdd

def test_fsdd(tmp_path):
    rec = tmp_path / "fsdd" / "recordings"
    for spk in ("george", "jackson", "theo", "yweweler"):
        tone(rec / f"3_{spk}_0.wav", 0.25)
        tone(rec / f"7_{spk}_1.wav", 0.5)
    broken(rec / "0_george_2.wav")
    tone(rec / "george_oops.wav", 0.25)
    tone(rec / "7_jackson_12.wav", 0.5)
    rows, lines = prep("fsdd", tmp_path / "out", tmp_path / "fsdd")
    assert rows["test"] == {"3_theo_0": ("three", "theo", 0.25, None), "7_theo_1": ("seven", "theo", 0.5, None)}
    # dev: FSDD's own held-out indices 0-4 of the training speakers; every other speaker trains
    assert sorted(rows["dev"]) == ["3_george_0", "3_jackson_0", "3_yweweler_0", "7_george_1", "7_jackson_1", "7_yweweler_1"]
    assert rows["train"] == {"7_jackson_12": ("seven", "jackson", 0.5, None)}
    assert skipped(lines, "0_george_2.wav", "not a readable audio file")
    assert skipped(lines, "george_oops.wav", "not {digit}_{speaker}_{index}.wav")
    assert_rerun_identical("fsdd", tmp_path / "out", rec)  # --src may be recordings/ itself
    rows, _ = prep("fsdd", tmp_path / "swap", rec, test_speaker="george", dev_speaker="jackson")
    assert sorted(rows["test"]) == ["3_george_0", "7_george_1"]
    assert sorted(rows["dev"]) == ["3_jackson_0", "7_jackson_1", "7_jackson_12"]
    assert sorted(rows["train"]) == ["3_theo_0", "3_yweweler_0", "7_theo_1", "7_yweweler_1"]
    with pytest.raises(ConfigError, match="test_speaker 'nobody' has no recordings"):
        corpora.prepare("fsdd", tmp_path / "out", rec, {"test_speaker": "nobody"})


# ---------------------------------------------------------------- every importer

IMPORTERS = ["an4", "librispeech", "commonvoice", "ljspeech", "kaldi", "nemo", "folder", "aishell", "fsdd"]


@pytest.mark.parametrize("name", IMPORTERS)
def test_missing_src_says_what_is_expected(tmp_path, name):
    assert name in corpora.CORPORA
    with pytest.raises(AsrError, match=f"{name} needs --src: "):
        corpora.prepare(name, tmp_path / "out", None)
    with pytest.raises(AsrError, match=f"no such folder \\({name} expects "):
        corpora.prepare(name, tmp_path / "out", tmp_path / "absent")
    assert not (tmp_path / "out").exists()


def test_speaker_split_keeps_one_training_speaker():
    utts = [manifest.Utterance(id=f"{s}{i}", audio="/a.wav", duration=1.0, text="x", speaker=s)
            for s in "abc" for i in range(2)]
    parts = common.speaker_split(utts, {"dev": 0.5, "test": 0.5})
    assert [len({u.speaker for u in parts[k]}) for k in common.SPLITS] == [1, 1, 1]
    again = common.speaker_split(list(reversed(utts)), {"dev": 0.5, "test": 0.5})
    assert {k: {u.id for u in v} for k, v in again.items()} == {k: {u.id for u in v} for k, v in parts.items()}


# ---------------------------------------------------------------- common

def test_skips_are_counted_by_reason_and_reported_commonest_first():
    lines: list[str] = []
    skips = common.Skips(lines.append)
    for i in range(common.LISTED + 2):
        skips(f"a{i}.wav", f"no transcript for a{i} in text", "no transcript for the key")
    skips("b.wav", "not a readable audio file (junk)", "not a readable audio file")
    skips.kept = 3
    skips.report()
    listed = [line for line in lines if line.startswith("skipped ")]
    assert len(listed) == common.LISTED + 1 and "skipped a0.wav: no transcript for a0 in text" in listed
    assert "(further skips for 'no transcript for the key' are counted, not listed)" in lines
    assert lines[-3:] == ["kept 3 utterances, skipped 13",
                          "  no transcript for the key: 12 (example: a0.wav: no transcript for a0 in text)",
                          "  not a readable audio file: 1 (example: b.wav: not a readable audio file (junk))"]
    assert skips.nothing_kept() == ("13 of 13 skipped: no transcript for the key (12, example: a0.wav: no "
                                    "transcript for a0 in text); not a readable audio file (1, example: b.wav: "
                                    "not a readable audio file (junk))")


def test_skips_report_once_also_when_the_import_fails():
    lines: list[str] = []
    with pytest.raises(AsrError, match="boom"), common.Skips(lines.append) as skips:
        skips("x.wav", "no such audio file")
        raise AsrError("boom")
    assert lines[-2:] == ["kept 0 utterances, skipped 1", "  no such audio file: 1 (example: x.wav)"]
    lines.clear()
    with common.Skips(lines.append) as skips:
        skips.report()
    assert lines == ["kept 0 utterances, skipped 0"]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
def test_read_text_drops_a_byte_order_mark(tmp_path, bom):
    path = tmp_path / "t.txt"
    path.write_bytes(bom + "a b\r\nç d\n".encode())
    assert common.read_text(path) == "a b\r\nç d\n"
    assert common.read_lines(path) == ["a b", "ç d"]


def test_read_text_names_the_line_of_other_encodings(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("first\nsecond caf\xe9\n".encode("latin-1"))
    with pytest.raises(AsrError, match=r"t.txt:2: not UTF-8 text \(byte 0xe9 at column 11\); save it as UTF-8"):
        common.read_text(path)
    path.write_bytes("hi".encode("utf-16"))
    with pytest.raises(AsrError, match="t.txt: UTF-16 text; save it as UTF-8"):
        common.read_text(path)


def test_measure_keeps_whole_files_apart_from_segments_at_zero(tmp_path):
    a = tone(tmp_path / "a.wav", 1.0)
    sources = [common.Source(id="whole", audio=a, text="x"),
               common.Source(id="from-zero", audio=a, text="x", offset=0.0, duration=0.5),
               common.Source(id="to-end", audio=a, text="x", offset=0.25)]
    utts = {u.id: (u.offset, u.duration) for u in common.measure(sources, common.Skips(print))}
    assert utts == {"whole": (None, 1.0), "from-zero": (0.0, 0.5), "to-end": (0.25, 0.75)}


@pytest.mark.parametrize("suffix", [".wav", ".WAV"])
def test_audio_suffixes_in_either_case(tmp_path, suffix):
    path = tone(tmp_path / f"x{suffix}", 0.1)
    assert common.glob_audio(tmp_path, "*", (".wav",)) == [path]
    assert common.find_audio(tmp_path / "x", (".sph", ".wav")) == path
