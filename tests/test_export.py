"""ONNX export (asr.export) and running it with onnxruntime (asr.onnxmodel): the export gives
the torch model's log-probabilities on inputs of any batch size and length, describes itself
(settings, vocabulary, normalisation), and goes through the Recognizer and the CLI like model.pt."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from asr_cli.main import app

from asr import record as model_record
from asr.decoding import DecodingSettings
from asr.errors import AsrError, CheckpointError
from asr.export import export_onnx
from asr.features import FeatureSettings, Normalizer, UtteranceNormalizer
from asr.model import AcousticModel, ModelSettings
from asr.onnxmodel import OnnxModel, load
from asr.recognizer import Recognizer
from asr.text import TextSettings
from asr.vocab import SubwordVocabulary, Vocabulary

FEATURES = FeatureSettings(n_mels=20)
TEXTS = ["yes no maybe", "hello world", "no way yes"]
MODELS = {
    "lstm": ModelSettings(cell="lstm", hidden=32, layers=2, subsample=3),
    "gru": ModelSettings(cell="gru", hidden=32, layers=2, subsample=3),
    "lstm-conv": ModelSettings(cell="lstm", hidden=32, layers=2, subsample=2, frontend="conv", conv_channels=32),
}


def make_record(name: str) -> model_record.ModelRecord:
    """An untrained model whose greedy output is not all blank: its output layer is scaled
    up, so each frame's best token is a clear winner (no near-ties for rounding to flip)."""
    settings = MODELS[name]
    vocab = SubwordVocabulary.train(TEXTS, 20) if name == "gru" else Vocabulary.build(TEXTS)
    normalizer = (UtteranceNormalizer() if name == "gru" else
                  Normalizer(torch.linspace(-8, -4, FEATURES.n_mels), torch.linspace(2, 4, FEATURES.n_mels)))
    torch.manual_seed(0)
    net = AcousticModel(FEATURES.n_mels, len(vocab), settings)
    with torch.no_grad():
        net.output.weight.mul_(8.0)
    return model_record.ModelRecord(TextSettings(), FEATURES, settings, vocab, normalizer, net.state_dict(),
                                    DecodingSettings(beam_size=8, lm_weight=0.7),
                                    info={"model": "epoch 3", "metrics": {"dev_wer": 0.25}, "speeds": [0.9, 1.0]})


@pytest.fixture(scope="module", params=list(MODELS))
def exported(request, tmp_path_factory) -> tuple[Path, Path]:
    """(model.pt, model.onnx) of each model in MODELS."""
    folder = tmp_path_factory.mktemp(request.param)
    model_record.save(folder / "model.pt", make_record(request.param))
    return folder / "model.pt", export_onnx(folder / "model.pt", folder / "model.onnx")


def padded(lengths: list[int], seed: int = 0) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Features of the given lengths: the list, the padded batch (B, T, n_mels) and the lengths."""
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(n, FEATURES.n_mels, generator=g) for n in lengths]
    return feats, torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), torch.tensor(lengths)


def compare(model_pt: Path, model_onnx: Path, lengths: list[int]) -> float:
    """Max abs difference of the log-probabilities over valid frames (out_lengths must be equal)."""
    torch_model = model_record.load(model_pt).build_model()
    _, onnx_model = load(model_onnx, threads=1)
    _, batch, n = padded(lengths)
    with torch.no_grad():
        want, want_lengths = torch_model(batch, n)
        got, got_lengths = onnx_model(batch, n)
    assert got.dtype == torch.float32 and got_lengths.dtype == torch.int64
    assert got.shape == want.shape and got_lengths.tolist() == want_lengths.tolist()
    return max(float((got[b, :k] - want[b, :k]).abs().max()) for b, k in enumerate(want_lengths.tolist()))


def test_log_probs_and_texts_match_the_torch_model(exported):
    model_pt, model_onnx = exported
    lengths = [7, 50, 123, 301, 999]
    assert compare(model_pt, model_onnx, lengths) <= 1e-4
    feats, _, _ = padded(lengths)
    want = [r.text for r in Recognizer.load(model_pt).recognize(feats)]
    got = [r.text for r in Recognizer.load(model_onnx, threads=1).recognize(feats)]
    assert got == want and any(want)


@pytest.mark.parametrize("lengths", [[1], [2000, 1500, 2]])
def test_other_batch_sizes_and_lengths_than_the_traced_example(exported, lengths):
    assert compare(*exported, lengths) <= 1e-4


def test_the_export_describes_itself(exported):
    model_pt, model_onnx = exported
    want = model_record.load(model_pt)
    got, model = load(model_onnx)
    assert isinstance(model, OnnxModel) and not model.training and model.eval() is model and model.train() is model
    assert got.weights == {}
    assert (got.text, got.features, got.model, got.decoding) == (want.text, want.features, want.model, want.decoding)
    assert type(got.vocab) is type(want.vocab) and got.vocab.to_dict() == want.vocab.to_dict()
    assert type(got.normalizer) is type(want.normalizer)
    for key, value in want.normalizer.to_dict().items():
        assert torch.equal(got.normalizer.to_dict()[key], value) if torch.is_tensor(value) else got.normalizer.to_dict()[key] == value
    assert got.info == want.info and got.frame_seconds == want.frame_seconds


def test_int8_weights(exported, tmp_path):
    """Quantised: a smaller file of the same shapes and lengths, log-probabilities near the
    float ones (on this untrained model; bench/onnx_int8.py measures WER on a trained one)."""
    import onnx

    model_pt, model_onnx = exported
    out = export_onnx(model_pt, tmp_path / "model-int8.onnx", int8=True)
    proto = onnx.load(str(out))
    assert {p.key: p.value for p in proto.metadata_props}["asr.weights"] == "int8"
    if model_record.load(model_pt).model.cell == "lstm":  # onnxruntime has no quantised GRU
        assert "DynamicQuantizeLSTM" in {node.op_type for node in proto.graph.node}
        assert out.stat().st_size < model_onnx.stat().st_size / 2
    assert compare(model_pt, out, [7, 50, 301]) < 0.2  # 0.03 seen
    assert load(out)[0].vocab.tokens == model_record.load(model_pt).vocab.tokens


def test_a_trace_that_does_not_hold_for_other_lengths_is_caught_before_writing(tmp_path, monkeypatch):
    """Traced with a frame count that is a multiple of the subsampling, the frame stacking's
    `if pad:` is recorded as never padding: other lengths then fail, and nothing is written."""
    import asr.export

    model_record.save(tmp_path / "model.pt", make_record("lstm"))
    monkeypatch.setattr(asr.export, "_example", lambda n_mels, k: (torch.randn(2, 10 * k, n_mels), torch.tensor([10 * k, 9])))
    with pytest.raises(AsrError, match="the ONNX export fails on"):
        export_onnx(tmp_path / "model.pt", tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_lm_and_lexicon_paths_are_made_relative_to_the_export(tmp_path):
    from dataclasses import replace

    rec = replace(make_record("lstm"), decoding=DecodingSettings(decoder="beam", lm="lm/an4.arpa", lexicon="/abs/lexicon.txt"))
    model_record.save(tmp_path / "exp" / "model.pt", rec)
    out = export_onnx(tmp_path / "exp" / "model.pt", tmp_path / "exports" / "an4" / "model.onnx")
    got, _ = load(out)
    assert got.decoding.lm == os.path.join("..", "..", "exp", "lm", "an4.arpa")
    assert (out.parent / got.decoding.lm).resolve() == (tmp_path / "exp" / "lm" / "an4.arpa").resolve()
    assert got.decoding.lexicon == "/abs/lexicon.txt"


def test_an_onnx_file_that_is_not_an_asr_export_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    plain = tmp_path / "plain.onnx"
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "plain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), plain)
    with pytest.raises(CheckpointError, match="not an asr export.*asr export"):
        Recognizer.load(plain)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CheckpointError, match="garbage.onnx: cannot read the ONNX model"):
        load(garbage)
    with pytest.raises(CheckpointError, match="no such model file"):
        load(tmp_path / "missing.onnx")


def test_missing_packages_say_how_to_install_them(exported, monkeypatch, tmp_path):
    model_pt, model_onnx = exported
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    with pytest.raises(AsrError, match=r'pip install "asr\[onnx\]"'):
        load(model_onnx)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(AsrError, match=r'pip install "asr\[onnx\]"'):
        export_onnx(model_pt, tmp_path / "x.onnx")


def test_an_unwritable_output_is_named_and_the_old_export_kept(exported, tmp_path):
    model_pt, _ = exported
    (tmp_path / "afile").write_text("not a folder")
    with pytest.raises(AsrError, match="afile/model.onnx: cannot write the export"):
        export_onnx(model_pt, tmp_path / "afile" / "model.onnx")
    assert list(tmp_path.iterdir()) == [tmp_path / "afile"]  # no temporary file left behind


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_cli_export_then_transcribe_gives_the_same_text(exported, runner, tmp_path):
    model_pt, _ = exported
    out = tmp_path / "cli" / "model.onnx"
    result = runner.invoke(app, ["export", str(model_pt), "--format", "onnx", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out) and result.stderr == ""
    wav = tmp_path / "a.wav"
    sf.write(wav, (0.1 * np.random.default_rng(0).standard_normal(24000)).astype(np.float32), FEATURES.sample_rate)
    texts = []
    for model in (model_pt, out):
        result = runner.invoke(app, ["transcribe", "--model", str(model), "--device", "cpu", str(wav)])
        assert result.exit_code == 0, result.output
        texts.append(result.stdout)
    assert texts[0] == texts[1] and texts[0].strip()


def test_cli_export_int8(exported, runner, tmp_path):
    model_pt, _ = exported
    out = tmp_path / "model-int8.onnx"
    result = runner.invoke(app, ["export", str(model_pt), str(out), "--int8"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out) and "exported" in result.stderr
    assert load(out)[1].session.get_modelmeta().custom_metadata_map["asr.weights"] == "int8"


def test_cli_export_refuses_other_formats_and_bad_files(exported, runner, tmp_path):
    model_pt, _ = exported
    result = runner.invoke(app, ["export", str(model_pt), "--format", "torchscript", str(tmp_path / "m.pt")])
    assert result.exit_code == 2 and "torchscript" in result.stderr and "onnx" in result.stderr
    result = runner.invoke(app, ["export", str(model_pt), str(tmp_path / "model.pt")])
    assert result.exit_code == 2 and "*.onnx" in result.stderr and not (tmp_path / "model.pt").exists()
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a model")
    result = runner.invoke(app, ["export", str(garbage), str(tmp_path / "m.onnx")])
    assert result.exit_code == 1 and "not an asr checkpoint" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["export", "--help"])
    assert result.exit_code == 0 and "Example:" in result.stdout
    assert "export" in runner.invoke(app, ["--help"]).stdout


def test_the_metadata_is_plain_json(exported):
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(exported[1])).metadata_props}
    assert meta["asr.format"] == "asr-onnx" and meta["asr.version"] == "1"
    assert "state" not in json.loads(meta["asr.record"])["model"]
