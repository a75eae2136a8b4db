"""Manifests: JSON lines, relative audio paths, errors that name file and line."""

import json
import math

import pytest

from asr import manifest
from asr.errors import ManifestError
from asr.manifest import Utterance


def test_write_read_round_trip(tmp_path):
    folder = tmp_path / "data"
    outside = tmp_path / "elsewhere" / "c.flac"
    utts = [
        Utterance(id="a", audio=str(folder / "wav" / "a.wav"), duration=1.5, text="yes no"),
        Utterance(id="b", audio=str(folder / "wav" / "b.wav"), duration=12.25, text="今天天气好棒棒",
                  speaker="spk1", offset=3.5, extra={"lang": "zh", "align": [1, 2]}),
        Utterance(id="c", audio=str(outside), duration=0.0, text=""),
    ]
    path = folder / "train.jsonl"
    manifest.write(path, utts)

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert records[0] == {"id": "a", "audio": "wav/a.wav", "duration": 1.5, "text": "yes no"}
    assert records[1]["audio"] == "wav/b.wav" and records[1]["offset"] == 3.5
    assert records[2]["audio"] == str(outside)  # outside the folder: stays absolute
    assert "今天天气好棒棒" in path.read_text(encoding="utf-8")  # not \\u-escaped

    again = manifest.read(path)
    assert again == utts
    assert again[1].speaker == "spk1" and again[1].extra == {"lang": "zh", "align": [1, 2]}
    assert [p.name for p in folder.iterdir()] == ["train.jsonl"]  # no temp file left


def test_relative_paths_are_made_absolute(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"id": 7, "audio": "wav/x.wav", "duration": 2, "text": "hi", "speaker": 3}\n'
        "\n"
        '{"id": "y", "audio": "/abs/y.wav", "duration": 1.0, "text": "yo", "offset": null}\n',
        encoding="utf-8",
    )
    a, b = manifest.read(path)
    assert a.audio == str(tmp_path.resolve() / "wav" / "x.wav")
    assert a.id == "7" and a.speaker == "3" and a.duration == 2.0 and isinstance(a.duration, float)
    assert a.offset is None and a.extra == {}  # no "offset" key: the whole file
    assert b.audio == "/abs/y.wav" and b.offset is None  # "offset": null too
    assert a.where == f"{path}:1" and b.where == f"{path}:3"


def test_empty_manifest(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text("\n\n")
    assert manifest.read(path) == []


GOOD = '{"id": "a", "audio": "a.wav", "duration": 1.0, "text": "yes"}'


@pytest.mark.parametrize(
    "bad, words",
    [
        ('{"id": "a", "audio": ', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"id": "a", "audio": "a.wav"}', "missing key(s) duration, text"),
        ('{"id": "a", "audio": "a.wav", "duration": -1, "text": "x"}', "'duration' must be finite, non-negative"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "offset": -0.5, "text": "x"}', "'offset' must be finite"),
        ('{"id": "a", "audio": "a.wav", "duration": "long", "text": "x"}', "'duration' must be a number"),
        ('{"id": "a", "audio": "a.wav", "duration": "1.5", "text": "x"}', "'duration' must be a number"),
        ('{"id": "a", "audio": "a.wav", "duration": true, "text": "x"}', "'duration' must be a number"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "offset": false, "text": "x"}', "'offset' must be a number"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "offset": "0", "text": "x"}', "'offset' must be a number"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "text": 5}', "'text' must be a string"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "text": null}', "'text' must be a string"),
        ('{"id": "a", "audio": "", "duration": 1, "text": "x"}', "'audio' must be a non-empty path"),
        ('{"id": "a", "audio": ["a.wav"], "duration": 1, "text": "x"}', "'audio' must be a non-empty path"),
        ('{"id": null, "audio": "a.wav", "duration": 1, "text": "x"}', "'id' must be a string or a number"),
        ('{"id": true, "audio": "a.wav", "duration": 1, "text": "x"}', "'id' must be a string or a number"),
        ('{"id": {"x": 1}, "audio": "a.wav", "duration": 1, "text": "x"}', "'id' must be a string or a number"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "text": "x", "speaker": ["s"]}', "'speaker' must be a string"),
        ('{"id": "a", "audio": "a.wav", "duration": 1, "text": "x", "speaker": false}', "'speaker' must be a string"),
    ],
)
def test_malformed_line_reports_file_and_line(tmp_path, bad, words):
    path = tmp_path / "m.jsonl"
    path.write_text(f"{GOOD}\n\n{bad}\n{GOOD}\n", encoding="utf-8")
    with pytest.raises(ManifestError) as e:
        manifest.read(path)
    message = str(e.value)
    assert message.startswith(f"{path}:3: ")
    assert words in message


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="no such manifest") as e:
        manifest.read(tmp_path / "nope.jsonl")
    assert "nope.jsonl" in str(e.value)


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_non_finite_duration_is_rejected(tmp_path, value):
    path = tmp_path / "m.jsonl"
    path.write_text(f'{{"id": "a", "audio": "a.wav", "duration": {value}, "text": "x"}}\n')
    try:
        utts = manifest.read(path)
    except ManifestError as e:
        assert f"{path}:1" in str(e)
        return
    assert math.isfinite(utts[0].duration), "a non-finite duration was accepted"


def test_offset_zero_is_a_segment_and_survives_a_round_trip(tmp_path):
    path = tmp_path / "m.jsonl"
    utts = [Utterance("seg", str(tmp_path / "a.wav"), 0.5, "x", offset=0.0),
            Utterance("whole", str(tmp_path / "a.wav"), 2.0, "y")]
    manifest.write(path, utts)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert "offset" in records[0] and records[0]["offset"] == 0
    assert "offset" not in records[1]
    seg, whole = manifest.read(path)
    assert seg.offset == 0.0 and seg.is_segment
    assert whole.offset is None and not whole.is_segment
    assert [seg, whole] == utts


def test_where_is_not_written_nor_compared(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(f"\n{GOOD}\n", encoding="utf-8")
    (u,) = manifest.read(path)
    assert u.where == f"{path}:2"
    assert u == Utterance("a", str(tmp_path.resolve() / "a.wav"), 1.0, "yes")
    assert "where" not in json.loads(u.to_json())
    assert manifest.read_numbered(path) == [(2, u)]


def test_byte_order_mark_and_crlf_are_accepted(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode() + b"\r\n" + GOOD.replace('"a"', '"b"', 1).encode() + b"\r\n")
    assert [u.id for u in manifest.read(path)] == ["a", "b"]


def test_line_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "m.jsonl"
    bad = '{"id": "x", "audio": "a.wav", "duration": 1, "text": "caf\u00e9"}'.encode("latin-1")
    path.write_bytes(GOOD.encode() + b"\n" + bad + b"\n")
    with pytest.raises(ManifestError) as e:
        manifest.read(path)
    message = str(e.value)
    assert message.startswith(f"{path}:2: not UTF-8 text") and "re-save as UTF-8" in message
    assert "0xe9" in message


def test_utf16_manifest_says_so(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes((GOOD + "\n").encode("utf-16"))
    with pytest.raises(ManifestError, match="UTF-16") as e:
        manifest.read(path)
    assert str(e.value).startswith(f"{path}:1: ")


def _foreign_file(tmp_path, kind):
    if kind == "nemo":
        path = tmp_path / "corpus" / "train_manifest.json"
        text = json.dumps({"audio_filepath": "a.wav", "duration": 1.0, "text": "hi"}) + "\n"
    elif kind == "commonvoice":
        path = tmp_path / "cv" / "train.tsv"
        text = "client_id\tpath\tsentence_id\tsentence\nabc\tclip.mp3\t1\thello\n"
    elif kind == "ljspeech":
        path = tmp_path / "LJSpeech-1.1" / "metadata.csv"
        text = "LJ001-0001|Printing, in 1 sense|Printing, in one sense\n"
    elif kind == "kaldi-text":
        path = tmp_path / "data" / "train" / "text"
        text = "utt1 HELLO WORLD\nutt2 BYE\n"
    else:  # kaldi-wav.scp
        path = tmp_path / "data" / "train" / "wav.scp"
        text = "rec1 /corpus/rec1.wav\nrec2 sox /corpus/rec2.flac -t wav - |\n"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind, words", [
    ("nemo", "this is a NeMo manifest"),
    ("commonvoice", "Common Voice"),
    ("ljspeech", "LJSpeech"),
    ("kaldi-text", "Kaldi table"),
    ("kaldi-wav.scp", "Kaldi table"),
])
def test_another_tools_manifest_names_its_importer(tmp_path, kind, words):
    path = _foreign_file(tmp_path, kind)
    importer = kind.split("-")[0]
    with pytest.raises(ManifestError) as e:
        manifest.read(path)
    message = str(e.value)
    assert message.startswith(f"{path}: ") and words in message
    assert f"`asr prep {importer} OUT --src {path.parent}" in message
    if kind == "nemo":
        assert "--set train=train_manifest.json`" in message


@pytest.mark.parametrize("first", ['{id: u1}', "hello there", "a,b,c"])
def test_unrecognised_first_line_is_a_json_error(tmp_path, first):
    path = tmp_path / "m.jsonl"
    path.write_text(first + "\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="not valid JSON") as e:
        manifest.read(path)
    assert str(e.value).startswith(f"{path}:1: ")


def test_foreign_looking_later_line_is_only_a_line_error(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(GOOD + "\n" + json.dumps({"audio_filepath": "a.wav", "duration": 1, "text": "x"}) + "\n")
    with pytest.raises(ManifestError, match="missing key") as e:
        manifest.read(path)
    assert str(e.value).startswith(f"{path}:2: ")
