"""`asr transcribe` end to end (issue 10): folders, manifests and stdin in; txt, json,
jsonl, srt, vtt and tsv out, to stdout or one file per input under --output-dir; a file
that fails is named and skipped; usage errors come before anything is written; long
recordings are decoded in pieces and keep the recording's time.

The model is untrained (its output layer scaled up so that it writes something): its
words mean nothing, so the tests compare structure, times and one format's text with
another's from the same model, never words with a reference. Subtitles are read back
with test_formats' strict SRT and WebVTT readers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from asr_cli.main import app
from test_formats import parse_srt, parse_vtt
from typer.testing import CliRunner

from asr import record
from asr.features import FeatureSettings, UtteranceNormalizer
from asr.model import AcousticModel, ModelSettings
from asr.text import TextSettings
from asr.vocab import Vocabulary

RATE = 16000
FORMATS = ["txt", "json", "jsonl", "srt", "vtt", "tsv"]
# The model's output frame (hop 10 ms x subsampling 3).
FRAME = 0.03


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A small untrained character model: its greedy output is a few words a second."""
    vocab = Vocabulary.build(["the cat sat on a mat", "go home"])
    settings = ModelSettings(hidden=16, layers=1, subsample=3)
    torch.manual_seed(0)
    net = AcousticModel(20, len(vocab), settings)
    with torch.no_grad():
        net.output.weight.mul_(8.0)  # clear winners per frame: not all blank
    path = tmp_path_factory.mktemp("model") / "model.pt"
    record.save(
        path,
        record.ModelRecord(
            TextSettings(),
            FeatureSettings(n_mels=20),
            settings,
            vocab,
            UtteranceNormalizer(),
            net.state_dict(),
        ),
    )
    assert record.load(path).frame_seconds == pytest.approx(FRAME)
    return path


def noise(seconds: float, seed: int) -> np.ndarray:
    """Noise whose loudness changes every 50 ms (the model writes several words)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * RATE))
    envelope = np.repeat(rng.uniform(0.0, 1.0, n // 800 + 1), 800)[:n]
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


def wav(path: Path, seconds: float, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, noise(seconds, seed), RATE)
    return path


class Result:
    def __init__(self, result):
        self.code, self.stdout, self.stderr, self.exception = (
            result.exit_code,
            result.stdout,
            result.stderr,
            result.exception,
        )
        self.message = " ".join(self.stderr.split())  # rich may wrap long lines
        self.errors = [
            line for line in self.stderr.splitlines() if line.startswith("error:")
        ]

    def __repr__(self) -> str:
        return (
            f"exit {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}\n"
            f"exception: {self.exception!r}"
        )


def transcribe(model: Path, *args, input: bytes | None = None) -> Result:
    return Result(
        CliRunner().invoke(
            app, ["transcribe", "--model", str(model), *map(str, args)], input=input
        )
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """rec/: three good recordings (one in a subfolder, one .WAV), one that is text and
    one file that is not audio."""
    root = tmp_path_factory.mktemp("inputs") / "rec"
    wav(root / "a.wav", 1.0, seed=1)
    wav(root / "sub" / "b.wav", 1.5, seed=2)
    wav(root / "C.WAV", 0.75, seed=3)
    (root / "bad.wav").write_text("this is not audio\n")
    (root / "notes.txt").write_text("not looked at\n")
    return root


# sorted as paths are; bad.wav comes between a.wav and sub/b.wav
GOOD = ["C.WAV", "a.wav", "sub/b.wav"]
DURATIONS = {"C.WAV": 0.75, "a.wav": 1.0, "sub/b.wav": 1.5}


@pytest.fixture(scope="module")
def texts(model, folder) -> dict[str, str]:
    """Each good recording's text, from --format jsonl on the whole folder."""
    result = transcribe(model, folder, "--format", "jsonl")
    assert result.code == 1, result
    found = {
        Path(d["audio"]).relative_to(folder).as_posix(): d["text"]
        for d in map(json.loads, result.stdout.splitlines())
    }
    assert list(found) == GOOD and any(found.values()), found
    return found


def check_words(d: dict, duration: float, slack: float = 0.0) -> None:
    """A json/jsonl object: its keys and duration, and words in order within
    [0, duration + slack] with confidences in [0, 1]."""
    assert set(d) == {"audio", "text", "duration", "words"}, d
    assert d["duration"] == pytest.approx(duration, abs=0.01)
    assert d["text"] == " ".join(w["word"] for w in d["words"])
    previous = 0.0
    for w in d["words"]:
        assert set(w) <= {"word", "start", "end", "confidence"} and w["word"], w
        assert previous <= w["start"] <= w["end"] <= d["duration"] + slack + 1e-9, (
            w,
            d["duration"],
        )
        previous = w["start"]
        if "confidence" in w:
            assert 0.0 <= w["confidence"] <= 1.0, w


# ---- a folder to stdout --------------------------------------------------------------


def test_a_folder_with_a_bad_file_transcribes_the_others_and_names_it(
    model, folder, texts
):
    result = transcribe(model, folder)
    assert result.code == 1, result
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        str(folder / name) for name in GOOD
    ], result
    assert [line.split("\t", 1)[1] for line in lines] == [texts[name] for name in GOOD]
    assert len(result.errors) == 1 and "bad.wav" in result.errors[0], result
    assert not any(name in result.errors[0] for name in ["a.wav", "b.wav", "C.WAV"])
    assert "transcribed 3 of 4 inputs; 1 failed" in result.message, result
    assert "Traceback" not in result.stderr


def test_json_is_one_array_and_jsonl_one_line_per_input(model, folder):
    files = [folder / "a.wav", folder / "sub" / "b.wav"]
    as_json = transcribe(model, *files, "--format", "json")
    as_jsonl = transcribe(model, *files, "--format", "jsonl")
    assert (
        as_json.code == as_jsonl.code == 0 and as_json.errors == as_jsonl.errors == []
    ), (as_json, as_jsonl)
    array = json.loads(as_json.stdout)
    lines = as_jsonl.stdout.splitlines()
    assert isinstance(array, list) and len(array) == 2 and len(lines) == 2
    assert [json.loads(line) for line in lines] == array
    assert [d["audio"] for d in array] == [str(f) for f in files]
    for d, name in zip(array, ["a.wav", "sub/b.wav"]):
        check_words(d, DURATIONS[name])
    assert any(d["words"] for d in array)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_of_several_inputs_need_an_output_dir(model, folder, fmt):
    result = transcribe(model, folder / "a.wav", folder / "C.WAV", "--format", fmt)
    assert result.code == 2 and result.stdout == "", result
    assert len(result.errors) == 1 and "--output-dir" in result.message, result
    # one input: its subtitles on stdout
    one = transcribe(model, folder / "a.wav", "--format", fmt)
    assert one.code == 0, one
    (parse_srt if fmt == "srt" else parse_vtt)(one.stdout)


def test_an_unknown_format_names_the_choices(model, folder):
    result = transcribe(model, folder / "a.wav", "--format", "nope")
    assert result.code == 2 and result.stdout == "", result
    assert len(result.errors) == 1 and "nope" in result.errors[0], result
    assert "txt, json, jsonl, srt, vtt, tsv" in result.message, result


def test_a_file_alone_gets_the_text_it_gets_among_others(model, folder, texts):
    for name in GOOD:
        alone = transcribe(model, folder / name)  # one input: the text alone, no name
        assert (
            alone.code == 0
            and alone.stdout == texts[name] + "\n"
            and alone.stderr == ""
        ), alone


def test_timestamps_default_to_jsonl_and_threads_change_nothing(model, folder, texts):
    result = transcribe(model, folder / "a.wav", "--timestamps", "--threads", 1)
    assert result.code == 0 and result.stderr == "", result
    d = json.loads(result.stdout)
    assert d["text"] == texts["a.wav"] and d["words"]
    check_words(d, 1.0)


def test_cue_limits_shape_the_subtitles(model, folder, texts):
    text = texts["sub/b.wav"]
    default = parse_srt(
        transcribe(model, folder / "sub" / "b.wav", "--format", "srt").stdout
    )
    result = transcribe(
        model,
        folder / "sub" / "b.wav",
        "--format",
        "srt",
        "--max-chars",
        8,
        "--max-cue",
        0.4,
    )
    assert result.code == 0, result
    cues = parse_srt(result.stdout)
    assert (
        " ".join(cue for _, _, cue in default)
        == " ".join(cue for _, _, cue in cues)
        == text
    )
    assert len(cues) > len(default)
    for start, end, cue in cues:
        # several words: within the limits (one long word is a cue of its own)
        if " " in cue:
            assert len(cue) <= 8 and end - start <= 0.4 + 0.001, cues


# ---- stdin and manifests -------------------------------------------------------------


def test_audio_on_stdin_gives_the_same_transcript_as_the_file(model, folder):
    path = folder / "sub" / "b.wav"
    for fmt in ["txt", "jsonl"]:
        from_file = transcribe(model, path, "--format", fmt)
        from_stdin = transcribe(model, "-", "--format", fmt, input=path.read_bytes())
        assert from_file.code == from_stdin.code == 0, (from_file, from_stdin)
        if fmt == "txt":
            assert from_stdin.stdout == from_file.stdout and from_stdin.stdout.strip()
        else:
            d, e = json.loads(from_file.stdout), json.loads(from_stdin.stdout)
            assert e["audio"] == "-" and {**e, "audio": d["audio"]} == d


def test_a_manifest_gives_one_output_per_utterance_named_by_its_id(
    model, folder, tmp_path
):
    long = wav(tmp_path / "audio" / "long.wav", 2.0, seed=5)
    lines = [
        {"id": "whole", "audio": "audio/long.wav", "duration": 2.0, "text": ""},
        {
            "id": "seg",
            "audio": "audio/long.wav",
            "duration": 0.75,
            "offset": 0.5,
            "text": "",
        },
        {"id": "other", "audio": str(folder / "a.wav"), "duration": 1.0, "text": ""},
    ]
    (tmp_path / "m.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8"
    )
    result = transcribe(model, tmp_path / "m.jsonl", "--format", "jsonl")
    assert result.code == 0, result
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["audio"] for d in got] == ["whole", "seg", "other"]
    for d, duration in zip(got, [2.0, 0.75, 1.0]):
        check_words(d, duration)
    # the whole file as if named itself; the segment as if its samples were a file
    direct = json.loads(transcribe(model, long, "--format", "jsonl").stdout)
    assert {**got[0], "audio": str(long)} == direct
    cut = tmp_path / "cut.wav"
    sf.write(cut, sf.read(long, dtype="float32")[0][8000:20000], RATE)
    alone = json.loads(transcribe(model, cut, "--format", "jsonl").stdout)
    assert {**got[1], "audio": str(cut)} == alone

    out = tmp_path / "out"
    written = transcribe(model, tmp_path / "m.jsonl", "--output-dir", out)
    assert written.code == 0 and written.stdout == "", written
    assert sorted(p.name for p in out.iterdir()) == [
        "other.txt",
        "seg.txt",
        "whole.txt",
    ]
    assert [(out / f"{d['audio']}.txt").read_text(encoding="utf-8") for d in got] == [
        d["text"] + "\n" for d in got
    ]


# ---- one file per input --------------------------------------------------------------


def read_outputs(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_dir_has_one_parseable_file_per_good_input(
    model, folder, texts, tmp_path, fmt
):
    out = tmp_path / "out"
    result = transcribe(model, folder, "--output-dir", out, "--format", fmt)
    assert result.code == 1 and result.stdout == "", result
    assert len(result.errors) == 1 and "bad.wav" in result.errors[0], result
    assert "transcribed 3 of 4 inputs; 1 failed" in result.message, result
    files = read_outputs(out)
    assert list(files) == [f"{Path(name).with_suffix('')}.{fmt}" for name in GOOD]
    for name, content in zip(GOOD, files.values()):
        text, duration = texts[name], DURATIONS[name]
        if fmt == "txt":
            assert content == text + "\n"
        elif fmt in ("json", "jsonl"):
            if fmt == "jsonl":
                assert content.count("\n") == 1 and content.endswith("\n")
            d = json.loads(content)
            assert d["audio"] == str(folder / name) and d["text"] == text
            check_words(d, duration)
        else:
            if fmt == "tsv":
                header, *rows = content.splitlines()
                assert header == "audio\tstart\tend\ttext"
                cues = []
                for row in rows:
                    audio, start, end, cue = row.split("\t")
                    assert audio == str(folder / name)
                    cues.append((float(start), float(end), cue))
            else:
                cues = (parse_srt if fmt == "srt" else parse_vtt)(content)
            assert " ".join(cue for _, _, cue in cues) == text
            previous = 0.0
            for start, end, _ in cues:
                assert previous <= start <= end <= duration
                previous = end


def test_an_existing_output_file_is_replaced_whole(model, folder, texts, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = "stale transcript\n" * 1000  # longer than the new one
    (out / "a.txt").write_text(stale, encoding="utf-8")
    result = transcribe(model, folder / "a.wav", "--output-dir", out)
    assert result.code == 0 and result.stdout == "" and result.stderr == "", result
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]  # no temporary files left
    assert (out / "a.txt").read_text(encoding="utf-8") == texts["a.wav"] + "\n"


def test_colliding_output_names_are_a_usage_error_before_anything_is_written(
    model, tmp_path
):
    first, second = (
        wav(tmp_path / "one" / "x.wav", 0.5),
        wav(tmp_path / "two" / "x.wav", 0.5, seed=1),
    )
    good = wav(tmp_path / "good.wav", 0.5)
    for out, existing in [(tmp_path / "new", None), (tmp_path / "old", "keep me\n")]:
        if existing is not None:
            out.mkdir()
            (out / "x.txt").write_text(existing)
            (out / "good.txt").write_text(existing)
        result = transcribe(model, good, first, second, "--output-dir", out)
        assert result.code == 2 and result.stdout == "", result
        assert (
            len(result.errors) == 1
            and str(first) in result.message
            and str(second) in result.message
        ), result
        if existing is None:
            assert not out.exists()
        else:
            assert read_outputs(out) == {"good.txt": existing, "x.txt": existing}


def test_the_same_name_in_subfolders_of_one_folder_is_kept_apart(model, tmp_path):
    wav(tmp_path / "rec" / "x.wav", 0.5, seed=1)
    wav(tmp_path / "rec" / "sub" / "x.wav", 0.5, seed=2)
    result = transcribe(
        model, tmp_path / "rec", "--output-dir", tmp_path / "out", "--format", "jsonl"
    )
    assert result.code == 0, result
    files = read_outputs(tmp_path / "out")
    assert list(files) == ["sub/x.jsonl", "x.jsonl"]
    assert [json.loads(files[k])["audio"] for k in files] == [
        str(tmp_path / "rec" / "sub" / "x.wav"),
        str(tmp_path / "rec" / "x.wav"),
    ]


# ---- a long recording ----------------------------------------------------------------


def bursts(seconds: float, seed: int = 0) -> np.ndarray:
    """Alternating 1 s of noise and 0.5 s of silence, `seconds` long."""
    t = np.arange(int(round(seconds * RATE))) / RATE
    return np.where(t % 1.5 < 1.0, noise(seconds, seed), 0.0).astype(np.float32)


LONG = {
    # cut at the pauses
    "bursts": lambda: bursts(25.0),
    # no pause: cut where it is quietest, the pieces overlapping by --chunk's context
    "continuous": lambda: noise(12.0, seed=7),
}


@pytest.mark.parametrize("kind", sorted(LONG))
def test_a_recording_longer_than_chunk_keeps_its_time(model, tmp_path, kind):
    path = tmp_path / "long.wav"
    sf.write(path, LONG[kind](), RATE)
    seconds = sf.info(str(path)).duration
    result = transcribe(model, path, "--chunk", 5, "--format", "jsonl")
    assert result.code == 0 and result.stderr == "", result
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    assert d["audio"] == str(path) and d["duration"] == pytest.approx(seconds, abs=0.01)
    check_words(d, seconds)
    starts = [w["start"] for w in d["words"]]
    ends = [w["end"] for w in d["words"]]
    # in order: a word of the overlap between two pieces is taken from one of them only
    assert starts == sorted(starts) and ends == sorted(ends), d["words"]
    # words from the first piece and from the last, in the recording's time
    assert starts and starts[0] < 5 and starts[-1] > seconds - 5
    plain = transcribe(model, path, "--chunk", 5)
    assert plain.code == 0 and plain.stdout == d["text"] + "\n", plain


# ---- known bugs ----------------------------------------------------------------------


def test_word_times_do_not_pass_the_end_of_the_recording(model, tmp_path):
    short = wav(tmp_path / "short.wav", 1.5, seed=2)
    long = tmp_path / "long.wav"
    sf.write(long, bursts(25.0), RATE)
    (tmp_path / "m.jsonl").write_text(
        json.dumps(
            {
                "id": "seg",
                "audio": "short.wav",
                "duration": 0.75,
                "offset": 0.5,
                "text": "",
            }
        )
        + "\n"
    )
    found = []
    for args, duration in [
        ((short, "--timestamps"), 1.5),
        ((tmp_path / "m.jsonl",), 0.75),
        ((long, "--chunk", 5), 25.0),
    ]:
        result = transcribe(model, *args, "--format", "jsonl")
        assert result.code == 0, result
        d = json.loads(result.stdout)
        check_words(d, duration)  # within one frame: holds now
        found.append((d["audio"], d["duration"], max(w["end"] for w in d["words"])))
    assert [end <= duration for _, duration, end in found] == [True] * 3, found


def test_manifest_ids_cannot_write_outside_the_output_dir(model, folder, tmp_path):
    lines = [
        {
            "id": "../escaped",
            "audio": str(folder / "a.wav"),
            "duration": 1.0,
            "text": "",
        },
        {
            "id": str(tmp_path / "abs"),
            "audio": str(folder / "a.wav"),
            "duration": 1.0,
            "text": "",
        },
    ]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    result = transcribe(model, tmp_path / "m.jsonl", "--output-dir", tmp_path / "out")
    assert "Traceback" not in result.stderr, result
    outside = sorted(p.name for p in tmp_path.iterdir() if p.name != "out")
    # refused (exit 2) or written inside out/: either way not here
    assert outside == ["m.jsonl"], outside


def test_two_utterances_with_one_id_are_not_written_over_each_other(
    model, folder, tmp_path
):
    lines = [
        {"id": "dup", "audio": str(folder / "a.wav"), "duration": 1.0, "text": ""},
        {
            "id": "dup",
            "audio": str(folder / "sub" / "b.wav"),
            "duration": 1.5,
            "text": "",
        },
    ]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "out"
    result = transcribe(
        model, tmp_path / "m.jsonl", "--output-dir", out, "--format", "jsonl"
    )
    assert result.code == 2 and "dup" in result.message and not out.exists(), (
        result,
        read_outputs(out),
    )
