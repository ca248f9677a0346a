"""Making a trained model smaller and faster.

    quant_math   the affine int8 maths: choose_qparams, quantize, dequantize, fake_quantize
    prune        unstructured magnitude pruning (per layer, global), sparsity report
    size         bytes on disk; what shrinks a pruned file (sparse storage, compression)
    structured   channel pruning with torch-pruning: a really smaller, faster network
    quantize     int8: static PT2E with calibration, quantization-aware training, dynamic
    onnx_export  ONNX export, ONNX Runtime inference, int8 QDQ quantization

`structured`, `quantize` and `onnx_export` import large libraries (torch-pruning,
torchao, ONNX Runtime), so their names load on first use: `from cvbook.compress import
quantize_static` works, and `import cvbook.compress` stays quick.
"""

from __future__ import annotations

import importlib

from .prune import (
    count_nonzero_parameters,
    format_sparsity_report,
    make_permanent,
    prune_global,
    prune_per_layer,
    sparsity_report,
)
# quant_math.quantize is not re-exported: `cvbook.compress.quantize` is the module of int8 workflows.
from .quant_math import choose_qparams, dequantize, fake_quantize, qrange, quantization_error
from .size import compressed_size, load_compressed, save_compressed, size_on_disk, size_report

_LAZY = {
    "prune_channels": "structured",
    "layer_widths": "structured",
    "quantize_static": "quantize",
    "quantize_dynamic": "quantize",
    "prepare_qat": "quantize",
    "convert_qat": "quantize",
    "compile_int8": "quantize",
    "save_quantized": "quantize",
    "load_quantized": "quantize",
    "export_onnx": "onnx_export",
    "quantize_onnx": "onnx_export",
    "OnnxModel": "onnx_export",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "choose_qparams", "compressed_size", "count_nonzero_parameters", "dequantize", "fake_quantize",
    "format_sparsity_report", "load_compressed", "make_permanent", "prune_global", "prune_per_layer",
    "qrange", "quantization_error", "save_compressed", "size_on_disk", "size_report",
    "sparsity_report", *_LAZY,
]
