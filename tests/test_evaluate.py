"""asr.evaluate: results files that cannot collide, an empty manifest is an error, the
headline metric (WER, or CER for unspaced scripts), audio errors that name the line; the
analysis, several manifests and their total, --csv, --html and --json (issue 11)."""

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from asr_cli.main import app
from models import untrained_model
from typer.testing import CliRunner

from asr import html_report, manifest
from asr.errors import AsrError, AudioError, ManifestError, UsageError
from asr.evaluate import (
    EvalReport,
    default_results_path,
    evaluate,
    evaluate_all,
    read_results,
    results_name,
    results_paths,
    total,
    write_csv,
)
from asr.manifest import Utterance
from asr.metrics import headline_metric

RATE = 16000


@pytest.mark.parametrize("refs, metric", [
    (["yes no", "no"], "wer"),
    (["今天天气好棒棒", "你好"], "cer"),
    (["今天 天气", "你好"], "wer"),  # one spaced reference: words are marked
    (["seven", "eight"], "cer"),  # single words: WER would be a sentence error rate too
    ([], "wer"),
    (["", ""], "wer"),
])
def test_headline_metric(refs, metric):
    assert headline_metric(refs) == metric


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """An untrained model: enough to run evaluate end to end."""
    return untrained_model(tmp_path_factory.mktemp("exp") / "model.pt", ["yes no 今天天气好棒棒"])


def _manifest(folder, texts, audio_name="a.wav"):
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / "a.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32), RATE)
    path = folder / "test.jsonl"
    manifest.write(path, [Utterance(f"u{i}", str(folder / audio_name), 1.0, t) for i, t in enumerate(texts)])
    return path


def test_two_test_manifests_of_different_folders_do_not_collide(model, tmp_path):
    a = evaluate(_manifest(tmp_path / "corpus_a", ["yes no"]), model)
    b = evaluate(_manifest(tmp_path / "corpus_b", ["no"]), model)
    assert a.results_path != b.results_path and a.results_path.is_file() and b.results_path.is_file()
    assert a.results_path.parent == model.parent
    assert a.results_path.name.startswith("eval-corpus_a-test-") and a.results_path.suffix == ".jsonl"
    assert a.results_path == default_results_path(tmp_path / "corpus_a" / "test.jsonl", model)
    assert [json.loads(x)["ref"] for x in a.results_path.read_text().splitlines()] == ["yes no"]
    d = a.to_dict()
    assert d["results"] == str(a.results_path) and d["metric"] == "wer" and d["utterances"] == 1


def test_results_path_is_honoured(model, tmp_path):
    out = tmp_path / "out" / "results.jsonl"
    report = evaluate(_manifest(tmp_path / "c", ["yes"]), model, results_path=out)
    assert report.results_path == out and out.is_file()


def test_unspaced_references_make_cer_the_headline(model, tmp_path):
    report = evaluate(_manifest(tmp_path / "zh", ["今天天气好", "好棒棒"]), model)
    assert report.metric == "cer" and report.to_dict()["metric"] == "cer"


def test_empty_manifest_is_an_error_not_a_perfect_score(model, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    with pytest.raises(ManifestError, match="no utterances to evaluate") as e:
        evaluate(path, model)
    assert str(e.value).startswith(f"{path}: ")


def test_missing_audio_names_the_manifest_line(model, tmp_path):
    path = _manifest(tmp_path / "m", ["yes"])
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "gone", "audio": "gone.wav", "duration": 1.0, "text": "no"}) + "\n")
    with pytest.raises(AudioError) as e:
        evaluate(path, model)
    assert str(e.value).startswith(f"{path}:2: ") and "gone.wav: no such audio file" in str(e.value)


# Issue 11: evaluation that explains (several manifests, analysis, --csv, --html, --json).

def _speakers_manifest(folder, name="test.jsonl"):
    """Three utterances of two speakers, 1 s and 3 s long (the duration field; the audio is 1 s)."""
    path = _manifest(folder, ["yes no", "no", "yes"])
    utts = manifest.read(path)
    for i, u in enumerate(utts):
        u.speaker, u.duration = f"s{i % 2}", (3.0 if i == 2 else 1.0)
    manifest.write(folder / name, utts)
    return folder / name


def test_results_carry_speaker_and_duration_and_the_report_its_analysis(model, tmp_path):
    report = evaluate(_speakers_manifest(tmp_path / "c"), model, worst=2)
    lines = [json.loads(x) for x in report.results_path.read_text().splitlines()]
    assert [(r["id"], r["speaker"], r["duration"]) for r in lines] == [("u0", "s0", 1.0), ("u1", "s1", 1.0),
                                                                       ("u2", "s0", 3.0)]
    assert lines == report.records and read_results(report.results_path) == lines
    a = report.analysis
    assert a.summary.utterances == 3 and a.summary.wer == pytest.approx(report.rates.wer)
    assert a.summary.cer == pytest.approx(report.rates.cer) and len(a.worst) <= 2
    assert [g.name for g in a.by_speaker] and sorted(g.name for g in a.by_speaker) == ["s0", "s1"]
    assert [g.name for g in a.by_duration] == ["<2 s", "2-5 s"]
    assert report.seconds > 0 and report.speed == pytest.approx(5.0 / report.seconds)
    d = json.loads(json.dumps(report.to_dict()))
    for key in ("wer", "cer", "substitutions", "deletions", "insertions", "words", "utterances", "metric", "hours",
                "results", "decoding", "sentence_error_rate", "char_substitutions", "worst", "confusions",
                "by_speaker", "by_duration", "speed", "unit"):
        assert key in d, key


def test_several_manifests_load_the_model_once_and_add_up(model, tmp_path, monkeypatch):
    from asr.recognizer import Recognizer
    loads = []
    original = Recognizer.load.__func__
    monkeypatch.setattr(Recognizer, "load", classmethod(lambda cls, *a, **k: loads.append(a) or original(cls, *a, **k)))
    a, b = _manifest(tmp_path / "a", ["yes no", "no"]), _manifest(tmp_path / "b", ["yes"])
    reports = evaluate_all([a, b], model, results_paths=results_paths([a, b], tmp_path / "out"))
    assert len(loads) == 1 and [r.name for r in reports] == [str(a), str(b)]
    assert [r.results_path for r in reports] == [tmp_path / "out" / results_name(a), tmp_path / "out" / results_name(b)]
    t = total(reports)
    assert t.name == "total" and t.results_path is None and t.rates.utterances == 3
    assert t.rates.words == reports[0].rates.words + reports[1].rates.words
    assert t.hours == pytest.approx(3 / 3600) and t.seconds == pytest.approx(sum(r.seconds for r in reports))
    assert [r["id"] for r in t.records] == [f"{a}:u0", f"{a}:u1", f"{b}:u0"]  # ids of two manifests may clash


def test_an_empty_manifest_among_several_fails_before_decoding(model, tmp_path, monkeypatch):
    from asr.recognizer import Recognizer
    monkeypatch.setattr(Recognizer, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ManifestError, match="no utterances to evaluate"):
        evaluate_all([_manifest(tmp_path / "a", ["yes"]), empty], model)


def test_results_paths(tmp_path):
    a, b = tmp_path / "x" / "test.jsonl", tmp_path / "y" / "test.jsonl"
    assert results_paths([a, b], None) == [None, None]
    assert results_paths([a], tmp_path / "r.jsonl") == [tmp_path / "r.jsonl"]
    assert results_paths([a, b], tmp_path / "out") == [tmp_path / "out" / results_name(a),
                                                        tmp_path / "out" / results_name(b)]
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="--out is a folder"):
        results_paths([a, b], tmp_path / "file")


def test_read_results_refuses_what_is_not_a_results_file(model, tmp_path):
    path = _manifest(tmp_path / "m", ["yes"])
    with pytest.raises(AsrError, match=r"test.jsonl:1: not a per-utterance result of `asr evaluate`"):
        read_results(path)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(AsrError, match="no results in it"):
        read_results(tmp_path / "empty.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"id": "a", "ref": "x", "hyp": "x"}\n{oops\n')
    with pytest.raises(AsrError, match=r"bad.jsonl:2: not JSON"):
        read_results(tmp_path / "bad.jsonl")


def _report(records, name="set"):
    """An EvalReport of known per-utterance results, without a model."""
    from asr.analysis import analyse
    from asr.metrics import error_rates
    refs, hyps = [r["ref"] for r in records], [r["hyp"] for r in records]
    return EvalReport(error_rates(refs, hyps), sum(r.get("duration", 0) for r in records) / 3600, None,
                      headline_metric(refs), {}, analyse(records), 1.0, name, records)


KNOWN = [{"id": "u1", "ref": "the cat sat on the mat", "hyp": "the cat sit on mat mat", "speaker": "s1", "duration": 2.5},
         {"id": "u2", "ref": "a <b> & c", "hyp": "x a c", "speaker": "s2", "duration": 1.0},
         {"id": "u3", "ref": "yes", "hyp": "yes", "speaker": "s1", "duration": 30.0}]


class _Html(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_is_one_self_contained_file_with_the_diffs(tmp_path):
    reports = [_report(KNOWN, "a <set>"), _report(KNOWN[:1], "b")]
    dicts = [r.to_dict() for r in reports + [total(reports)]]
    html_report.write(tmp_path / "r.html", dicts)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    parser = _Html()
    parser.feed(page)
    parser.close()
    tags = {t for t, _ in parser.tags}
    assert "<script" not in page.lower() and "src=" not in page.lower() and 'href="http' not in page.lower()
    assert "link" not in tags and "style" in tags and {"del", "ins", "span"} <= tags
    # the worst utterance of "a <set>" is u2 (3 errors): a inserted... as jiwer aligns it
    assert dicts[0]["worst"][0]["id"] == "u2"
    assert html_report.diff_html(dicts[0]["worst"][0]["ops"], "word") in page
    assert ('the cat <span class="sub">sat→sit</span> on <span class="sub">the→mat</span> mat' in page)
    assert "&lt;b&gt;" in page and "<b>" not in page and "a &lt;set&gt;" in page and "&amp;" in page
    text = "".join(parser.text)
    assert "by speaker" in text and "by duration" in text and ">20 s" in text and "total" in text


def test_csv_has_one_row_per_utterance(tmp_path):
    reports = [_report(KNOWN, "a"), _report(KNOWN[:1], "b")]
    write_csv(tmp_path / "r.csv", reports)
    with open(tmp_path / "r.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["manifest", "id", "speaker", "duration", "ref", "hyp", "errors", "words", "wer", "cer"]
    assert [(r["manifest"], r["id"]) for r in rows] == [("a", "u1"), ("a", "u2"), ("a", "u3"), ("b", "u1")]
    assert rows[0] == {"manifest": "a", "id": "u1", "speaker": "s1", "duration": "2.5", "ref": KNOWN[0]["ref"],
                       "hyp": KNOWN[0]["hyp"], "errors": "2", "words": "6", "wer": "0.3333", "cer": "0.1818"}


def test_cli_evaluates_two_manifests_with_json_csv_and_html(model, tmp_path):
    a, b = _speakers_manifest(tmp_path / "a"), _manifest(tmp_path / "b", ["no"])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["evaluate", str(a), str(b), "--model", str(model), "--json", "-q", "--device",
                                      "cpu", "--out", str(out), "--csv", str(tmp_path / "r.csv"), "--html",
                                      str(tmp_path / "r.html"), "--worst", "1"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert [m["name"] for m in d["manifests"]] == [str(a), str(b)] and d["total"]["name"] == "total"
    assert [m["utterances"] for m in d["manifests"]] == [3, 1] and d["total"]["utterances"] == 4
    assert all(len(m["worst"]) <= 1 for m in d["manifests"])
    assert sorted(p.name for p in out.iterdir()) == sorted([results_name(a), results_name(b)])
    rows = list(csv.DictReader(open(tmp_path / "r.csv", encoding="utf-8")))
    assert [r["id"] for r in rows] == ["u0", "u1", "u2", "u0"] and [r["speaker"] for r in rows] == ["s0", "s1", "s0", ""]
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    worst = d["manifests"][0]["worst"][0]
    assert html_report.diff_html(worst["ops"], d["manifests"][0]["unit"]) in page


def test_cli_table_output_of_one_manifest(model, tmp_path):
    a = _speakers_manifest(tmp_path / "a")
    result = CliRunner().invoke(app, ["evaluate", str(a), "--model", str(model), "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for title in ("evaluation", "WER", "SER (sentences)", "worst utterances", "by speaker", "by duration"):
        assert title in out, title
    assert "{+" in out or "[-" in out or "→" in out  # the diffs, marked without colours
    assert "per-utterance results:" in result.stderr
    single = CliRunner().invoke(app, ["evaluate", str(a), "--model", str(model), "-q", "--device", "cpu", "--json"])
    assert single.exit_code == 0 and json.loads(single.stdout)["utterances"] == 3  # one manifest: the object as before


def test_terminal_diffs_coloured_and_marked_without_colours():
    from asr_cli.report import diff_text
    ops = [["equal", "the", "the"], ["substitute", "sat", "sit"], ["delete", "on", ""], ["insert", "", "mat"]]
    t = diff_text(ops, "word")
    assert t.plain == "the sat→sit on mat"
    assert [(t.plain[s.start:s.end], s.style) for s in t.spans] == [("sat→sit", "yellow"), ("on", "red strike"),
                                                                   ("mat", "green")]
    assert diff_text(ops, "word", plain=True).plain == "the sat→sit [-on-] {+mat+}"
    zh = [["equal", "好", "好"], ["substitute", "气", "汽"], ["insert", "", "棒"]]
    assert diff_text(zh, "char", plain=True).plain == "好(气→汽){+棒+}"
