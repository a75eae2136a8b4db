"""Export a model record to ONNX, for onnxruntime (asr.onnxmodel) and other runtimes.

    export_onnx("exp/an4/model.pt", "exp/an4/model.onnx")

The graph is the acoustic model alone, traced by torch's TorchScript-based exporter
(`dynamo=False`: the dynamo exporter fails on this model and fixes nn.LSTM's time axis,
pytorch/pytorch#115092):

    features (batch, frames, n_mels) float32, lengths (batch,) int64
      -> log_probs (batch, frames', vocab) float32, out_lengths (batch,) int64

with batch and frames free (frames' = ceil(frames / subsample), as in asr.model). The
file describes itself: its ONNX metadata holds a format tag and version (`asr.format`,
`asr.version`) and the model record without its weights as JSON (`asr.record`: text,
feature and decoding settings, vocabulary, normalisation statistics, info), so
`asr transcribe --model model.onnx` needs nothing else. Feature extraction, normalisation
and decoding stay in Python (asr.recognizer) and are the same as for model.pt.

`int8=True` quantises the weights to int8 after the check (onnxruntime's dynamic quantisation,
see `quantize`): a quarter of the size and, measured, over twice as fast on a CPU, with the
same word error rate within noise; the metadata says `asr.weights` = int8.

The LM and lexicon paths of the decoding settings are relative to the model file's
folder; they are rewritten relative to the export's folder, so the export finds the same
files wherever it is written (absolute paths stay as they are).

Tracing records one path through the Python code: the example input has a frame count
that is not a multiple of the subsampling, so the frame stacking's padding is in the
graph (a padding of 0 frames is a no-op there), and the export is checked against the
torch model on another batch size and length before it is written.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from asr import record as model_record
from asr.checkpoint import reason, write_atomic
from asr.errors import AsrError, UsageError
from asr.record import ModelRecord

FORMAT = "asr-onnx"
VERSION = 1
OPSET = 17
INPUTS = ("features", "lengths")
OUTPUTS = ("log_probs", "out_lengths")
INSTALL = 'pip install "asr[onnx]"'
TOLERANCE = 1e-3  # max abs difference of log-probabilities, export vs torch, before writing


def export_onnx(model_path: str | Path, out_path: str | Path, int8: bool = False) -> Path:
    """Write the model of `model_path` (a model.pt or training checkpoint) as ONNX at
    `out_path` (named *.onnx, else a UsageError), atomically (an existing file there stays
    intact on failure); returns it. `int8`: weights quantised to int8 (see `quantize`)."""
    try:
        import onnx
    except ImportError:
        raise AsrError(f"exporting to ONNX needs the onnx package ({INSTALL})") from None
    model_path, out_path = Path(model_path), Path(out_path)
    if out_path.suffix.lower() != ".onnx":
        raise UsageError(f"{out_path}: name the export *.onnx (that is how asr tells it from a model.pt)")
    record = model_record.load(model_path)
    model = record.build_model("cpu")
    k = record.model.subsample
    features, lengths = _example(record.features.n_mels, k)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The legacy exporter's deprecation notice, and tracer warnings from nn.LSTM's input
        # checks and the frame stacking's `if pad`; what they warn of is checked below.
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(
                model, (features, lengths), buffer, dynamo=False, opset_version=OPSET,
                input_names=list(INPUTS), output_names=list(OUTPUTS),
                dynamic_axes={"features": {0: "batch", 1: "frames"}, "lengths": {0: "batch"},
                              "log_probs": {0: "batch", 1: "out_frames"}, "out_lengths": {0: "batch"}})
    data = buffer.getvalue()
    _check(data, model, record.features.n_mels, k, TOLERANCE)
    if int8:
        data = quantize(data)
        _check(data, model, record.features.n_mels, k, None)
    proto = onnx.load_from_string(data)
    for key, value in metadata(record, model_path.parent, out_path.parent, int8).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    _write(out_path, proto.SerializeToString())
    return out_path


def quantize(onnx_bytes: bytes) -> bytes:
    """An export with int8 weights: onnxruntime's dynamic quantisation (QInt8 weights, one
    scale per tensor; activations quantised on the fly). LSTM becomes com.microsoft's
    DynamicQuantizeLSTM, so only onnxruntime runs the result; GRU and RNN layers stay float
    (onnxruntime has no quantised GRU): there only the output layer and convolution are int8.
    Measured by bench/onnx_int8.py on the 100-epoch AN4 model (3x256 BiLSTM, 16.8 MB ->
    4.3 MB) on 2 AMD EPYC cores with AVX-512 VNNI, the model alone on 100 s of test audio in
    30 s chunks: 0.14 s on 1 thread and 0.08 s on 2, against 0.41 s and 0.21 s for torch fp32
    (2.8x and 2.6x its speed; onnxruntime fp32: 0.37 s and 0.22 s); test WER 9.06 % instead
    of 9.18 % (CER 4.25 % instead of 4.21 %), dev WER 23.31 % for both."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise AsrError(f"int8 quantisation needs onnxruntime ({INSTALL})") from None
    previous = logging.root.manager.disable
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        fp32.write_bytes(onnx_bytes)
        logging.disable(logging.WARNING)  # its advice to "pre-process" a vision model, on the root logger
        try:
            quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
        finally:
            logging.disable(previous)
        return int8.read_bytes()


def metadata(record: ModelRecord, model_folder: Path, out_folder: Path, int8: bool = False) -> dict[str, str]:
    """The export's ONNX metadata: format tag, version, weight type (float32 or int8), and the
    record without weights as JSON, its LM and lexicon paths made relative to `out_folder`
    instead of `model_folder`."""
    decoding = replace(record.decoding, lm=_moved(record.decoding.lm, model_folder, out_folder),
                       lexicon=_moved(record.decoding.lexicon, model_folder, out_folder))
    d = replace(record, weights={}, decoding=decoding).to_dict()
    del d["model"]["state"]
    return {"asr.format": FORMAT, "asr.version": str(VERSION), "asr.weights": "int8" if int8 else "float32",
            "asr.record": json.dumps(to_json(d), ensure_ascii=False)}


def to_json(x):
    """Plain data with tensors (ModelRecord.to_dict output) -> JSON-safe data: a tensor
    becomes {"tensor": nested lists, "dtype": "float32"}; `from_json` undoes it."""
    if isinstance(x, torch.Tensor):
        return {"tensor": x.tolist(), "dtype": str(x.dtype).removeprefix("torch.")}
    if isinstance(x, dict):
        return {k: to_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_json(v) for v in x]
    return x


def from_json(x):
    """The inverse of `to_json` (tuples come back as lists)."""
    if isinstance(x, dict):
        if set(x) == {"tensor", "dtype"} and isinstance(x["dtype"], str):
            return torch.tensor(x["tensor"], dtype=getattr(torch, x["dtype"]))
        return {k: from_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [from_json(v) for v in x]
    return x


def _moved(path: str, model_folder: Path, out_folder: Path) -> str:
    """A path relative to `model_folder`, relative to `out_folder` instead ("" and absolute
    paths as they are)."""
    if not path or Path(path).is_absolute():
        return path
    target = os.path.abspath(model_folder / path)
    try:
        return os.path.relpath(target, os.path.abspath(out_folder))
    except ValueError:  # another drive (Windows): no relative path leads there
        return target


def _example(n_mels: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The input the export is traced with: 2 utterances, the longest of a frame count that is
    not a multiple of `k` (so the frame stacking pads, and its padding is in the graph)."""
    frames = 10 * k + 1 if k > 1 else 10
    features = torch.randn(2, frames, n_mels, generator=torch.Generator().manual_seed(0))
    return features, torch.tensor([frames, frames - 3], dtype=torch.int64)


def _check(onnx_bytes: bytes, model, n_mels: int, k: int, tolerance: float | None) -> None:
    """Run the export on two batches of other sizes and lengths than the traced example (a
    frame count that is a multiple of the subsampling `k`, and one that is not) and compare
    with the torch model: an AsrError if tracing fixed a shape or took a branch that does not
    hold for them, or log-probabilities differ by more than `tolerance` (None: not compared,
    for int8 weights). Skipped without onnxruntime."""
    try:
        import onnxruntime
    except ImportError:
        return
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # a failure is reported below, not logged by onnxruntime as well
    session = onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(1)
    for features, lengths in ((torch.randn(3, 12 * k, n_mels, generator=g), [12 * k, 5 * k + 1, 1]),
                              (torch.randn(1, 12 * k + 1, n_mels, generator=g), [12 * k + 1])):
        lengths = torch.tensor(lengths, dtype=torch.int64)
        try:
            got, got_lengths = session.run(list(OUTPUTS), {"features": features.numpy(), "lengths": lengths.numpy()})
        except Exception as e:  # noqa: BLE001 (onnxruntime's error types derive from Exception alone)
            raise AsrError(f"the ONNX export fails on {tuple(features.shape)} features ({str(e).splitlines()[0]}; "
                           "a bug in asr)") from None
        with torch.no_grad():
            want, want_lengths = model(features, lengths)
        if tuple(got.shape) != tuple(want.shape) or got_lengths.tolist() != want_lengths.tolist():
            raise AsrError(f"the ONNX export does not match the model: shapes {tuple(got.shape)} and {tuple(want.shape)}, "
                           f"lengths {got_lengths.tolist()} and {want_lengths.tolist()} (a bug in asr)")
        diff = max(float((torch.from_numpy(got[b, :n]) - want[b, :n]).abs().max())
                   for b, n in enumerate(want_lengths.tolist()))
        if tolerance is not None and diff > tolerance:
            raise AsrError(f"the ONNX export does not match the model: log-probabilities differ by {diff:.2g} "
                           "(a bug in asr)")


def _write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file renamed over it; an AsrError naming
    the path if it cannot be written (the file there, if any, is intact)."""
    try:
        write_atomic(path, lambda f: f.write(data))
    except OSError as e:
        raise AsrError(f"{path}: cannot write the export ({reason(e, path.parent)}); "
                       "choose a writable place for it") from None
