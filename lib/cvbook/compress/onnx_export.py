"""Export to ONNX and run with ONNX Runtime, in float32 and int8.

ONNX is the portable format: one file that ONNX Runtime (C++, no Python or PyTorch
needed) runs on CPUs, phones and browsers, usually much faster than eager PyTorch at
batch size 1. Two things to know:

* torch.onnx.export's default (dynamo) exporter writes large weights to a second file,
  `model.onnx.data`, next to `model.onnx`: move or copy them together. `export_onnx`
  passes `external_data=False` so the weights are inside the one .onnx file (fine below
  ONNX's 2 GB limit, i.e. every model in this course).
* Both exporters fold BatchNorm into the preceding convolution.
* The dynamo exporter annotates every node with debugging metadata (the PyTorch module
  path, the FX node, the rewrite rules applied): about 40 KB for a 100K-parameter
  network, a tenth of its float32 file and a third of its int8 one. Runtimes ignore it;
  `export_onnx` and `quantize_onnx` strip it, so file sizes measure the model.

int8: ONNX Runtime's static quantization in QDQ format (QuantizeLinear/DequantizeLinear
pairs around each op, which the runtime fuses into int8 kernels), with per-channel
weights and activation ranges calibrated on a few batches, the same recipe as PT2E.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

from .size import atomic_write_bytes

INPUT_NAME = "images"
OUTPUT_NAME = "logits"


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | os.PathLike, *,
                dynamic_batch: bool = True) -> Path:
    """Write `model` (in eval mode) to a self-contained ONNX file, atomically.

    The batch dimension is left free when `dynamic_batch`, so one file serves batch 1
    and batch 256. Input "images", output "logits".
    """
    path = Path(path)
    if not isinstance(example, torch.Tensor) or example.dim() < 2:
        raise ValueError(f"example must be an input batch (N, C, H, W), got {getattr(example, 'shape', example)}")
    example = example.detach().clone()
    if dynamic_batch and example.shape[0] < 2:
        example = torch.cat([example, example])  # batch 1 would be specialised as a constant
    was_training = model.training
    try:
        model.eval()
    except NotImplementedError:  # a loaded torch.export program: its mode was fixed when exported
        was_training = None
    try:
        program = torch.onnx.export(
            model, (example,), dynamo=True, external_data=False, verbose=False,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},) if dynamic_batch else None,
        )
    finally:
        if was_training is not None:
            model.train(was_training)
    atomic_write_bytes(path, strip_debug_metadata(program.model_proto).SerializeToString())
    return path


def strip_debug_metadata(model: onnx.ModelProto) -> onnx.ModelProto:
    """Remove the per-node debugging annotations (metadata_props, doc strings) in place."""
    for graph in [model.graph, *(f for f in model.functions)]:
        for node in graph.node:
            del node.metadata_props[:]
            node.doc_string = ""
    return model


def _session_options(threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return options


class OnnxModel:
    """An ONNX file loaded into ONNX Runtime on the CPU, called like a model:
    `OnnxModel("model.onnx")(images)` takes and returns torch tensors."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no such ONNX file: {self.path}")
        try:
            self.session = ort.InferenceSession(str(self.path), _session_options(threads),
                                                providers=["CPUExecutionProvider"])
        except Exception as err:
            raise ValueError(f"{self.path} is not a valid ONNX model ({err})") from err
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        (out,) = self.session.run(None, {self.input_name: x.astype(np.float32, copy=False)})
        return torch.from_numpy(out)


class _Batches(CalibrationDataReader):
    """Feeds calibration batches to ONNX Runtime's calibrator, one input dict at a time."""

    def __init__(self, input_name: str, batches: list[np.ndarray]):
        self._items = iter([{input_name: b} for b in batches])

    def get_next(self):
        return next(self._items, None)


def quantize_onnx(float_path: str | os.PathLike, int8_path: str | os.PathLike, calibration: Iterable,
                  *, num_batches: int | None = 8, per_channel: bool = True) -> Path:
    """Static int8 quantization of an ONNX model (QDQ format, per-channel weights).

    `calibration`: batches (tensors or (inputs, labels) pairs) of typical, preprocessed
    inputs; the first `num_batches` fix the activation ranges (min/max). The float model
    is first run through ONNX Runtime's pre-processing (shape inference and graph
    optimisation), as its quantization guide recommends. Written atomically.
    """
    float_path, int8_path = Path(float_path), Path(int8_path)
    if not float_path.is_file():
        raise FileNotFoundError(f"no such ONNX file: {float_path}")
    batches = []
    for item in calibration:
        x = item[0] if isinstance(item, (tuple, list)) else item
        batches.append(np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float32))
        if num_batches is not None and len(batches) >= num_batches:
            break
    if not batches:
        raise ValueError("no calibration batches: pass a few batches of real training images")
    input_name = onnx.load(str(float_path), load_external_data=False).graph.input[0].name
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared))
        output = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prepared), str(output), _Batches(input_name, batches),
            quant_format=QuantFormat.QDQ, per_channel=per_channel,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )
        atomic_write_bytes(int8_path, strip_debug_metadata(onnx.load(str(output))).SerializeToString())
    return int8_path
