"""`asr lm build` and `asr lm tune` (asr.lmtools): word LMs with a lexicon in the model's
tokens, token LMs spelt as the model writes, and a tuned LM stored in the model's decoding
settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from asr import manifest, record
from asr.errors import AsrError, ConfigError
from asr.features import FeatureSettings, Normalizer
from asr.lexicon import read_lexicon
from asr.lm import read_arpa
from asr.lmtools import build_lm, lexicon_path, tune
from asr.manifest import Utterance
from asr.model import AcousticModel, ModelSettings
from asr.recognizer import Recognizer
from asr.text import TextSettings
from asr.vocab import Vocabulary
from asr_cli.main import app

TEXTS = ["Go to the CAT.", "the cat sat", "the dog sat", "go home", "the cat went home"]


def model_file(folder: Path, texts=TEXTS) -> Path:
    vocab = Vocabulary.build([t.lower().replace(".", "") for t in texts])
    settings = ModelSettings(hidden=8, layers=1, subsample=3)
    torch.manual_seed(0)
    model = AcousticModel(20, len(vocab), settings)
    rec = record.ModelRecord(TextSettings(), FeatureSettings(n_mels=20), settings, vocab,
                             Normalizer(torch.zeros(20), torch.ones(20)), model.state_dict())
    folder.mkdir(parents=True, exist_ok=True)
    record.save(folder / "model.pt", rec)
    return folder / "model.pt"


def test_a_word_lm_is_normalised_like_the_model_and_gets_a_lexicon(tmp_path):
    (tmp_path / "text.txt").write_text("\ufeff" + "\n".join(TEXTS) + "\n", encoding="utf-8")
    rec = record.load(model_file(tmp_path / "exp"))
    built = build_lm([tmp_path / "text.txt"], tmp_path / "lm" / "x.arpa", order=2, record=rec)
    lm = read_arpa(built.arpa)
    assert "cat" in lm.vocabulary and "CAT." not in lm.vocabulary and built.sentences == 5
    assert built.lexicon == lexicon_path(built.arpa) == tmp_path / "lm" / "x.lexicon.txt"
    spellings = read_lexicon(built.lexicon, rec.vocab.tokens, "|")
    assert spellings["cat"] == [["c", "a", "t"]] and set(spellings) == {"go", "to", "the", "cat", "sat", "dog", "home", "went"}
    assert lm.order == 2 and built.ngrams == list(lm.counts) == [11, 14]  # 8 words, <s> </s> <unk>; 14 pairs


def test_a_token_lm_spells_sentences_in_the_model_s_tokens(tmp_path):
    manifest.write(tmp_path / "m.jsonl", [Utterance(f"u{i}", "x.wav", 1.0, t) for i, t in enumerate(TEXTS)])
    rec = record.load(model_file(tmp_path / "exp"))
    built = build_lm([tmp_path / "m.jsonl"], tmp_path / "tok.arpa", order=3, units="tokens", record=rec)
    lm = read_arpa(built.arpa)
    assert set(lm.vocabulary) >= {"|", "c", "a", "t"} and "cat" not in lm.vocabulary and built.lexicon is None
    assert lm.logprob("t", ("c", "a")) > lm.logprob("g", ("c", "a"))  # "ca" is always followed by "t"


def test_sentences_the_model_cannot_spell_are_skipped_and_counted(tmp_path):
    (tmp_path / "t.txt").write_text("the cat\nzebra quiz\n", encoding="utf-8")
    rec = record.load(model_file(tmp_path / "exp"))
    lines = []
    built = build_lm([tmp_path / "t.txt"], tmp_path / "tok.arpa", order=2, units="tokens", record=rec, log=lines.append)
    assert built.sentences == 1 and built.skipped == 1 and any("1 sentence(s) skipped" in line for line in lines)


@pytest.mark.parametrize("kwargs, message", [
    ({"order": 1}, "--order must be at least 2"),
    ({"units": "tokens"}, "--units tokens spells sentences in a model's tokens: give --model"),
    ({"units": "letters"}, "--units must be one of words, tokens"),
])
def test_bad_requests_are_explained(tmp_path, kwargs, message):
    (tmp_path / "t.txt").write_text("the cat\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        build_lm([tmp_path / "t.txt"], tmp_path / "x.arpa", **kwargs)


def test_an_empty_corpus_is_an_error(tmp_path):
    (tmp_path / "t.txt").write_text("...\n!!\n", encoding="utf-8")
    with pytest.raises(AsrError, match="no sentence to build an LM from"):
        build_lm([tmp_path / "t.txt"], tmp_path / "x.arpa")


@pytest.fixture
def dev(tmp_path) -> Path:
    """Three noise 'utterances' with transcripts: enough to run the tuning loop end to end."""
    utts = []
    for i, text in enumerate(TEXTS[:3]):
        wav = tmp_path / f"d{i}.wav"
        sf.write(wav, (0.1 * np.random.default_rng(i).standard_normal(16000)).astype(np.float32), 16000)
        utts.append(Utterance(f"d{i}", str(wav), 1.0, text))
    manifest.write(tmp_path / "dev.jsonl", utts)
    return tmp_path / "dev.jsonl"


def test_tune_tries_the_grid_and_stores_the_best_relative_to_the_model(tmp_path, dev):
    path = model_file(tmp_path / "exp")
    (tmp_path / "t.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    built = build_lm([tmp_path / "t.txt"], tmp_path / "lm" / "w.arpa", order=2, record=record.load(path))
    result = tune(path, dev, built.arpa, built.lexicon, lm_weights=(0.0, 1.0), word_scores=(0.0, 2.0), beam_size=8)
    assert [(w, s) for w, s, _ in result.rows] == [(0.0, 0.0), (0.0, 2.0), (1.0, 0.0), (1.0, 2.0)]
    assert result.best_rate == min(r for _, _, r in result.rows) and result.metric == "wer"
    saved = record.load(path).decoding
    assert saved.decoder == "beam" and saved.beam_size == 8
    assert saved.lm == "../lm/w.arpa" and saved.lexicon == "../lm/w.lexicon.txt"  # found from the model's folder
    assert (saved.lm_weight, saved.word_score) == (result.best.lm_weight, result.best.word_score)
    rec = Recognizer.load(path)  # from another working folder, the model's settings still resolve
    assert type(rec.decoder).__name__ == "BeamDecoder"
    assert all(w in {"go", "to", "the", "cat", "sat", "dog", "home", "went"}
               for r in rec.recognize([rec.features(torch.randn(16000) * 0.1)]) for w in r.text.split())


def test_cli_build_then_tune_then_evaluate_uses_the_stored_lm(tmp_path, dev, monkeypatch):
    path = model_file(tmp_path / "exp")
    (tmp_path / "t.txt").write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["lm", "build", "t.txt", "lm/w.arpa", "--order", "2", "--model", str(path), "-q"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["arpa"] == "lm/w.arpa" and out["lexicon"] == "lm/w.lexicon.txt" and out["sentences"] == 5
    result = runner.invoke(app, ["lm", "tune", str(dev), "--lm", "lm/w.arpa", "--model", str(path), "--lm-weights",
                                 "0 1", "--word-scores", "0", "--beam-size", "4", "-q"])
    assert result.exit_code == 0, result.output
    best = json.loads(result.stdout.splitlines()[-1])
    assert best["saved"] and best["lm_weight"] in (0.0, 1.0) and "greedy_dev_wer" in best
    result = runner.invoke(app, ["evaluate", str(dev), "--model", str(path), "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["decoding"]["decoder"] == "beam"
    result = runner.invoke(app, ["evaluate", str(dev), "--model", str(path), "--json", "-q", "--decoder", "greedy"])
    assert json.loads(result.stdout)["decoding"]["decoder"] == "greedy"
    result = runner.invoke(app, ["lm", "build", "t.txt", "x.arpa", "--prune", "0 one"])
    assert result.exit_code == 2 and "give whole numbers" in result.output
