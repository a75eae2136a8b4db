"""What `asr transcribe` reads (asr.inputs): files, folders searched recursively by
audio suffix in any case, manifests (relative audio, byte-order mark, segments), "-" for
stdin; inputs that give nothing are usage errors, and two inputs that would write the
same output file are found before anything is read. No audio is read here: expand() only
looks at names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asr.errors import ManifestError, UsageError
from asr.inputs import Source, check_outputs, expand


def touch(path: Path, content: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


@pytest.fixture
def tree(tmp_path) -> Path:
    """rec/: audio at three depths, suffixes in any case, files that are not audio."""
    root = tmp_path / "rec"
    for name in [
        "A.WAV",
        "b.Flac",
        "c.wav",
        "sub/x.wav",
        "sub/deeper/y.ogg",
        "x.wav",
        "z.mp3",
        "notes.txt",
        "x.wav.bak",
        "sub/readme.md",
        "sub/deeper/wav",
    ]:
        touch(root / name)
    (root / "empty").mkdir()
    (root / "folder.wav").mkdir()  # a folder with an audio suffix is not a file
    return root


# ---- folders -------------------------------------------------------------------------


def test_a_folder_gives_its_audio_files_recursively_in_sorted_order(tree):
    sources = expand([tree])
    assert [Path(s.name).relative_to(tree).as_posix() for s in sources] == [
        "A.WAV",
        "b.Flac",
        "c.wav",
        "sub/deeper/y.ogg",
        "sub/x.wav",
        "x.wav",
        "z.mp3",
    ]
    assert [s.out for s in sources] == [
        "A",
        "b",
        "c",
        "sub/deeper/y",
        "sub/x",
        "x",
        "z",
    ]
    assert all(
        s.path == Path(s.name) and s.offset is None and s.duration is None
        for s in sources
    )
    assert sources[0] == Source(str(tree / "A.WAV"), tree / "A.WAV", "A")


def test_a_folder_given_with_a_trailing_slash_or_relative_to_the_cwd(tree, monkeypatch):
    monkeypatch.chdir(tree.parent)
    sources = expand(["rec/sub/"])
    assert [(s.name, s.out) for s in sources] == [
        ("rec/sub/deeper/y.ogg", "deeper/y"),
        ("rec/sub/x.wav", "x"),
    ]
    assert sources[1].path == Path("rec/sub/x.wav")


def test_an_empty_folder_or_one_without_audio_is_a_usage_error(tree, tmp_path):
    with pytest.raises(UsageError, match="empty: no audio files in the folder"):
        expand([tree / "empty"])
    only_text = tmp_path / "texts"
    touch(only_text / "notes.txt")
    touch(only_text / "x.wav.bak")
    with pytest.raises(UsageError, match="texts: no audio files"):
        expand([only_text])


# ---- files, stdin, missing paths -----------------------------------------------------


def test_files_are_kept_as_given_in_the_order_given(tree):
    sources = expand([tree / "sub" / "x.wav", str(tree / "A.WAV"), tree / "notes.txt"])
    assert sources == [
        Source(str(tree / "sub" / "x.wav"), tree / "sub" / "x.wav", "x"),
        Source(str(tree / "A.WAV"), tree / "A.WAV", "A"),
        # a file named is read (or fails) as audio, whatever its suffix
        Source(str(tree / "notes.txt"), tree / "notes.txt", "notes"),
    ]


def test_stdin_is_the_file_it_was_saved_to(tmp_path):
    saved = touch(tmp_path / "saved")
    assert expand(["-"], stdin=saved) == [Source("-", saved, "stdin")]
    with pytest.raises(UsageError, match="standard input"):
        expand(["-"])


def test_a_missing_path_is_a_usage_error_naming_it(tree):
    for missing in [tree / "nothing.wav", tree / "nothing", tree / "gone.jsonl"]:
        with pytest.raises(UsageError) as e:
            expand([tree / "A.WAV", missing])
        assert str(missing) in str(e.value) and "does not exist" in str(e.value)


# ---- manifests -----------------------------------------------------------------------


def manifest_line(uid: str, audio: str, duration: float = 1.0, **extra) -> str:
    return json.dumps(
        {"id": uid, "audio": audio, "duration": duration, "text": "x", **extra}
    )


def test_manifest_audio_is_relative_to_the_manifest_folder_not_the_cwd(
    tmp_path, monkeypatch
):
    data = tmp_path / "data"
    touch(data / "wav" / "one.wav")
    (data / "m.jsonl").write_text(
        manifest_line("u1", "wav/one.wav")
        + "\n"
        + manifest_line("u2", str(data / "wav" / "one.wav"))
        + "\n",
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    sources = expand(["../data/m.jsonl"])
    assert [(s.name, s.out, s.offset, s.duration) for s in sources] == [
        ("u1", "u1", None, None),
        ("u2", "u2", None, None),
    ]
    assert [s.path.resolve() for s in sources] == [
        (data / "wav" / "one.wav").resolve()
    ] * 2
    assert sources[0].path.is_file()


def test_a_manifest_with_a_byte_order_mark(tmp_path):
    (tmp_path / "bom.jsonl").write_bytes(
        b"\xef\xbb\xbf" + manifest_line("first", "a.wav").encode() + b"\n"
    )
    assert [(s.name, s.path) for s in expand([tmp_path / "bom.jsonl"])] == [
        ("first", tmp_path / "a.wav")
    ]


def test_a_manifest_segment_carries_its_offset_and_duration(tmp_path):
    (tmp_path / "seg.jsonl").write_text(
        manifest_line("whole", "long.wav", 9.5)
        + "\n"
        + manifest_line("seg-0", "long.wav", 2.5, offset=0)
        + "\n"
        + manifest_line("seg-1", "long.wav", 1.25, offset=3.5)
        + "\n",
        encoding="utf-8",
    )
    sources = expand([tmp_path / "seg.jsonl"])
    assert sources == [
        # no offset: the whole file
        Source("whole", tmp_path / "long.wav", "whole", None, None),
        Source("seg-0", tmp_path / "long.wav", "seg-0", 0.0, 2.5),
        Source("seg-1", tmp_path / "long.wav", "seg-1", 3.5, 1.25),
    ]


def test_a_bad_manifest_line_is_a_manifest_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        manifest_line("ok", "a.wav") + "\n\n" + '{"id": "broken", "audio": "a.wav"\n',
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match=f"{path}:3: not valid JSON"):
        expand([path])
    path.write_text(
        manifest_line("ok", "a.wav")
        + "\n"
        + json.dumps({"id": "no-audio", "duration": 1, "text": ""}),
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match=f"{path}:2: missing key"):
        expand([path])


def test_an_empty_manifest_is_a_manifest_error(tmp_path):
    touch(tmp_path / "empty.jsonl", b"\n\n")
    with pytest.raises(ManifestError, match="no utterances"):
        expand([tmp_path / "empty.jsonl"])


def test_inputs_of_every_kind_together_keep_their_order(tree, tmp_path):
    (tmp_path / "m.jsonl").write_text(
        manifest_line("utt", "rec/c.wav") + "\n", encoding="utf-8"
    )
    saved = touch(tmp_path / "stdin")
    sources = expand(
        [tree / "sub", tmp_path / "m.jsonl", "-", tree / "z.mp3"], stdin=saved
    )
    assert [s.name for s in sources] == [
        str(tree / "sub/deeper/y.ogg"),
        str(tree / "sub/x.wav"),
        "utt",
        "-",
        str(tree / "z.mp3"),
    ]
    assert [s.out for s in sources] == ["deeper/y", "x", "utt", "stdin", "z"]


# ---- output names --------------------------------------------------------------------


def test_two_files_of_one_name_from_different_folders_collide(tmp_path):
    a, b = touch(tmp_path / "a" / "x.wav"), touch(tmp_path / "b" / "x.wav")
    sources = expand([a, b])
    with pytest.raises(UsageError) as e:
        check_outputs(sources, ".srt")
    assert str(a) in str(e.value) and str(b) in str(e.value) and "x.srt" in str(e.value)
    # the same file twice writes the same output: no collision
    check_outputs(expand([a, a]), ".srt")


def test_the_same_names_inside_one_folder_tree_do_not_collide(tree):
    sources = expand([tree])
    check_outputs(sources, ".txt")  # x.wav and sub/x.wav: outputs x.txt and sub/x.txt
    assert {s.out for s in sources} >= {"x", "sub/x"}


def test_a_file_and_a_folder_holding_a_file_of_that_name_collide(tree, tmp_path):
    other = touch(tmp_path / "other" / "x.flac")
    with pytest.raises(UsageError, match="x.json"):
        check_outputs(expand([tree, other]), ".json")
    # two folders whose top levels both hold an x
    with pytest.raises(UsageError, match="x.json"):
        check_outputs(expand([tree, tmp_path / "other"]), ".json")
