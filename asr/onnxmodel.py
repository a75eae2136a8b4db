"""Run an ONNX export (asr.export) with onnxruntime, in place of the torch acoustic model.

    record, model = load("exp/an4/model.onnx", threads=2)
    log_probs, out_lengths = model(features, lengths)   # as AcousticModel.forward

The record comes from the export's metadata, without weights (`record.weights == {}`);
`OnnxModel` answers the calls the Recognizer makes of an AcousticModel (`__call__`,
`eval`, `train`, `training`), so `Recognizer.load("model.onnx")` works like a model.pt
(transcribe, evaluate, align). It runs on the CPU whatever the Recognizer's device:
inputs are copied to the CPU and outputs come back there. onnxruntime is imported
when an export is loaded, not before, so commands that do not use one do not pay for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from asr.errors import AsrError, CheckpointError
from asr.export import FORMAT, INPUTS, INSTALL, OUTPUTS, VERSION, from_json
from asr.record import ModelRecord


class OnnxModel:
    """An onnxruntime session of an export, called like AcousticModel: features (B, T, n_mels)
    float32, lengths (B,) -> log_probs (B, T', V) float32, out_lengths (B,) int64 (CPU tensors).
    Always in eval mode: `eval()` and `train()` change nothing (there is no dropout to switch)."""

    training = False

    def __init__(self, session):
        self.session = session

    def __call__(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = {"features": features.detach().to("cpu", torch.float32).contiguous().numpy(),
                  "lengths": lengths.detach().to("cpu", torch.int64).contiguous().numpy()}
        log_probs, out_lengths = self.session.run(list(OUTPUTS), inputs)
        return torch.from_numpy(log_probs), torch.from_numpy(out_lengths)

    def eval(self) -> OnnxModel:
        return self

    def train(self, mode: bool = True) -> OnnxModel:
        return self


def load(path: str | Path, threads: int | None = None) -> tuple[ModelRecord, OnnxModel]:
    """The record (from the metadata, no weights) and model of an export written by
    `asr export`; `threads`: onnxruntime's intra-op threads (None: its default, one per
    physical core). A CheckpointError naming the file if it is missing, unreadable, or not
    an asr export; an AsrError if onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        raise AsrError(f"{path}: running an ONNX model needs onnxruntime ({INSTALL})") from None
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file")
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 (onnxruntime's Fail, InvalidProtobuf, ... derive from Exception alone)
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: cannot read the ONNX model ({reason}); "
                              "export it again with `asr export MODEL.pt OUT.onnx`") from None
    return _record(path, session.get_modelmeta().custom_metadata_map, session), OnnxModel(session)


def _record(path: Path, meta: dict[str, str], session) -> ModelRecord:
    """The model record in an export's metadata, after checking its format, version and graph."""
    again = "export the model.pt with `asr export MODEL.pt OUT.onnx`"
    if meta.get("asr.format") != FORMAT:
        raise CheckpointError(f"{path}: not an asr export (no '{FORMAT}' format tag in its metadata); {again}")
    if meta.get("asr.version") != str(VERSION):
        raise CheckpointError(f"{path}: export version {meta.get('asr.version')!r} is not one this asr reads "
                              f"({VERSION}): upgrade asr, or {again}")
    names = (tuple(i.name for i in session.get_inputs()), tuple(o.name for o in session.get_outputs()))
    if names != (INPUTS, OUTPUTS):
        raise CheckpointError(f"{path}: the graph's inputs and outputs are {names}, not {(INPUTS, OUTPUTS)}; {again}")
    try:
        d = from_json(json.loads(meta.get("asr.record", "")))
        d["model"]["state"] = {}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise CheckpointError(f"{path}: the export's model record is unreadable (altered?); {again}") from None
    return ModelRecord.from_dict(d, str(path))
