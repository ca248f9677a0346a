"""int8 quantization of a trained model: static (calibrated), quantization-aware, dynamic.

The current PyTorch path is **PT2E** ("PyTorch 2 Export"), which lives in torchao:

    torch.export.export(model, example)          a graph of aten ops
    prepare_pt2e(graph, X86InductorQuantizer())  insert observers where int8 kernels exist
    run a few calibration batches                observers record activation ranges
    convert_pt2e(prepared)                       weights become int8 tensors; quantize /
                                                 dequantize ops mark the int8 regions
    torch.compile(converted, dynamic=False)      Inductor fuses those regions into
                                                 oneDNN int8 convolutions: the speed-up

Without the last step the converted graph runs its quantize/dequantize ops one by one
in float and is *slower* than the float model; the int8 arithmetic only happens once
compiled. Compiling costs tens of seconds the first time and again for every new batch
size (shapes are static), so compile once per deployment batch size.

Deprecated, not used here: eager and FX quantization in `torch.ao.quantization`
(`quantize_dynamic`, `prepare`/`convert`, `prepare_fx`/`convert_fx`, `QuantStub`) warn
"torch.ao.quantization is deprecated" and point to torchao (`quantize_` and PT2E); the
PT2E functions in `torch.ao.quantization.quantize_pt2e` moved to
`torchao.quantization.pt2e`; observers' `reduce_range` is deprecated.

The maths of each int8 number is in `cvbook.compress.quant_math`.
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
from torchao.quantization.pt2e import move_exported_model_to_eval, move_exported_model_to_train
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e, prepare_qat_pt2e
from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
    X86InductorQuantizer,
    get_default_x86_inductor_quantization_config,
)

from .size import atomic_write_bytes


def _batches(calibration: Iterable, limit: int | None) -> list[torch.Tensor]:
    """Input tensors from an iterable of tensors or (inputs, labels) pairs, at most `limit`."""
    batches = []
    for item in calibration:
        x = item[0] if isinstance(item, (tuple, list)) else item
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"calibration batches must be tensors or (inputs, labels) pairs, got {type(x).__name__}")
        batches.append(x)
        if limit is not None and len(batches) >= limit:
            break
    if not batches:
        raise ValueError("no calibration batches: pass a few batches of real training images")
    return batches


def export_model(model: nn.Module, example: torch.Tensor, *, dynamic_batch: bool = True) -> torch.fx.GraphModule:
    """torch.export the model to a graph module, with the batch size left free if `dynamic_batch`.

    Without a dynamic batch dimension the graph is specialised to `example`'s batch size
    and calling it with another one fails a guard. The example is cloned: exporting a
    view of a large tensor (one batch of a whole dataset) would otherwise drag the whole
    storage into the graph's constants.
    """
    if not isinstance(example, torch.Tensor) or example.dim() < 2:
        raise ValueError(f"example must be an input batch of shape (N, C, H, W), got {getattr(example, 'shape', example)}")
    example = example.detach().clone()
    if dynamic_batch and example.shape[0] < 2:
        example = torch.cat([example, example])  # a batch of 1 would be specialised as a constant
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    # strict (TorchDynamo) tracing records which call of a module each op came from; the default
    # non-strict export does not, and X86InductorQuantizer then merges the two calls of a reused
    # ReLU module (as in ResNet's BasicBlock) into one pattern and fails ("more than one output node").
    try:
        return torch.export.export(model, (example,), dynamic_shapes=dynamic_shapes, strict=True).module()
    except Exception:  # code TorchDynamo cannot trace: non-strict export (raises its own error if it fails too)
        return torch.export.export(model, (example,), dynamic_shapes=dynamic_shapes).module()


def _copy_in_mode(model: nn.Module, training: bool) -> nn.Module:
    """A copy of the model in train or eval mode (a loaded torch.export program keeps the mode
    it was exported in: it refuses .train()/.eval())."""
    model = copy.deepcopy(model)
    try:
        model.train(training)
    except NotImplementedError:
        pass
    return model


def _x86_quantizer(is_qat: bool = False) -> X86InductorQuantizer:
    # Per-channel symmetric int8 weights, per-tensor uint8 activations: what oneDNN runs fastest.
    return X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config(is_qat=is_qat))


@torch.no_grad()
def quantize_static(
    model: nn.Module,
    calibration: Iterable,
    *,
    num_batches: int | None = 8,
    dynamic_batch: bool = True,
) -> torch.fx.GraphModule:
    """Post-training static int8 quantization (PT2E, X86InductorQuantizer).

    `calibration`: batches of typical inputs (tensors or (inputs, labels) pairs, e.g. a
    DataLoader over training images); the first `num_batches` are run through the
    observed model to fix the activations' scales. A few hundred images are enough;
    they must be preprocessed exactly like inference inputs. With `dynamic_batch` (the
    default) calibration and inference may use any batch sizes; otherwise every batch
    must have the size of the first one.

    Returns the converted graph module with int8 weights (runs in eager, slowly: pass it
    to `compile_int8` for the int8 kernels). The float model is left untouched.
    """
    batches = _batches(calibration, num_batches)
    if not dynamic_batch and any(b.shape[0] != batches[0].shape[0] for b in batches):
        raise ValueError("with dynamic_batch=False every calibration batch must have the same size, got "
                         f"{sorted({b.shape[0] for b in batches})}")
    graph = export_model(_copy_in_mode(model, False), batches[0], dynamic_batch=dynamic_batch)
    prepared = prepare_pt2e(graph, _x86_quantizer())
    for batch in batches:
        prepared(batch)
    return drop_unused_attributes(convert_pt2e(prepared))


def prepare_qat(model: nn.Module, example: torch.Tensor, *, dynamic_batch: bool = True) -> torch.fx.GraphModule:
    """Quantization-aware training, step 1: a copy of the model with fake-quantize ops.

    Train the returned module like the float one (it is in training mode; the forward
    pass rounds weights and activations to int8 values, the backward pass lets gradients
    through unchanged: the straight-through estimator), typically a few epochs at a
    small learning rate from the trained float weights, then call `convert_qat`.
    Use `move_exported_model_to_eval` / `move_exported_model_to_train` (torchao) to switch
    modes: `.eval()` does not work on exported graphs.
    """
    graph = export_model(_copy_in_mode(model, True), example, dynamic_batch=dynamic_batch)
    prepared = prepare_qat_pt2e(graph, _x86_quantizer(is_qat=True))
    move_exported_model_to_train(prepared)
    return prepared


def convert_qat(prepared: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Quantization-aware training, step 2: the trained fake-quantized model to int8."""
    move_exported_model_to_eval(prepared)
    return drop_unused_attributes(convert_pt2e(prepared))


def drop_unused_attributes(graph_module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Delete parameters and buffers the graph no longer reads.

    convert_pt2e adds the int8 weights as new constants but leaves the float32 originals
    attached to the module, so its state_dict (and anything saved from it) would be
    *larger* than the float model's.
    """
    used = {node.target for node in graph_module.graph.nodes if node.op == "get_attr"}
    stale = [n for n, _ in list(graph_module.named_parameters()) + list(graph_module.named_buffers()) if n not in used]
    for name in stale:
        owner, _, attr = name.rpartition(".")
        delattr(graph_module.get_submodule(owner) if owner else graph_module, attr)
    graph_module.delete_all_unused_submodules()
    return graph_module


def compile_int8(quantized: torch.fx.GraphModule):
    """torch.compile the converted model so it runs oneDNN int8 kernels.

    `dynamic=False`: dynamic-shape compilation of the int8 convolutions fails; each new
    batch size is compiled once (tens of seconds) and then reused. Inductor's `freezing`
    (weights treated as constants and pre-packed for oneDNN) is what turns the int8 graph
    into int8 kernels; it is switched on globally, as PyTorch's PT2E tutorial does, because
    passing it per call (`options={"freezing": True}`) fails in torch 2.13 (no fake kernel for
    onednn.qconv_prepack). It only affects inference under torch.no_grad().
    """
    enable_freezing()
    return torch.compile(quantized, dynamic=False)


def enable_freezing() -> None:
    """Inductor's freezing, globally (see `compile_int8`): compile a float model after
    this to compare like with like."""
    torch._inductor.config.freezing = True


def quantize_dynamic(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantization of the Linear layers (torchao `quantize_`), on a copy.

    Weights are stored as int8; each activation is quantized on the fly with a scale
    computed from that batch, so no calibration is needed. Only nn.Linear is converted:
    in a CNN almost all the time is in the convolutions, which stay float32, so it
    gives no speed-up and little size gain on a conv net. It suits Linear-heavy models
    (transformers, large classifier heads). Replaces the deprecated
    `torch.ao.quantization.quantize_dynamic`.
    """
    model = _copy_in_mode(model, False)
    if not any(isinstance(m, nn.Linear) for m in model.modules()):
        raise ValueError("dynamic quantization converts nn.Linear layers and this model has none")
    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return model


DEBUG_METADATA = ("stack_trace", "nn_module_stack", "source_fn_stack", "torch_fn", "from_node", "custom")


def save_quantized(quantized: torch.fx.GraphModule, path: str | os.PathLike, example: torch.Tensor,
                   *, dynamic_batch: bool = True) -> Path:
    """Save a converted int8 model as a torch.export program (.pt2), atomically.

    The file holds the graph and the int8 weights; load it with `load_quantized`
    (no Python class needed) and compile it again for speed. `example` must have the
    batch size the model was exported with when `dynamic_batch` is False. What running
    the program does not need is left out: the example input and each node's debugging
    metadata (source stack traces, module paths), which would otherwise weigh more than
    a small model's int8 weights.
    """
    path = Path(path)
    example = example.detach().clone()
    if dynamic_batch:
        example = example[:2] if example.shape[0] >= 2 else torch.cat([example, example])
    dynamic_shapes = ({0: torch.export.Dim("batch")},) if dynamic_batch else None
    program = torch.export.export(quantized, (example,), dynamic_shapes=dynamic_shapes)
    program.example_inputs = None
    for node in program.graph_module.graph.nodes:
        for key in DEBUG_METADATA:
            node.meta.pop(key, None)
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def load_quantized(path: str | os.PathLike) -> torch.fx.GraphModule:
    """The int8 model saved by `save_quantized`, as a callable graph module."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        return torch.export.load(path).module()
    except Exception as err:  # a damaged or foreign file: say which
        raise ValueError(f"{path} is not a torch.export program saved by save_quantized ({err})") from err
