"""asr.evaluate: results files that cannot collide, an empty manifest is an error, the
headline metric (WER, or CER for unspaced scripts), audio errors that name the line."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from asr import checkpoint, manifest
from asr.config import to_dict
from asr.errors import AudioError, ManifestError
from asr.evaluate import default_results_path, evaluate
from asr.features import FeatureSettings, Normalizer
from asr.manifest import Utterance
from asr.metrics import headline_metric
from asr.model import AcousticModel, ModelSettings
from asr.text import TextSettings
from asr.vocab import Vocabulary

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
    folder = tmp_path_factory.mktemp("exp")
    fs, ms = FeatureSettings(n_mels=20), ModelSettings(hidden=8, layers=1)
    vocab = Vocabulary.build(["yes no 今天天气好棒棒"])
    torch.manual_seed(0)
    net = AcousticModel(fs.n_mels, len(vocab), ms)
    checkpoint.save(folder / "model.pt", {
        "vocab": vocab.to_dict(), "text": to_dict(TextSettings()),
        "features": {"settings": to_dict(fs), "normalizer": Normalizer(torch.zeros(20), torch.ones(20)).to_dict()},
        "model": {"n_inputs": fs.n_mels, "vocab_size": len(vocab), "settings": to_dict(ms), "state": net.state_dict()},
    })
    return folder / "model.pt"


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
