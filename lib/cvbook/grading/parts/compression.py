"""Checks of the compression assignment (quantization and pruning by hand)."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from cvbook.compress import prune as pruning
from cvbook.compress import quant_math
from cvbook.grading.checks import CheckFailed, call_unchanged, check_number, check_tensor

QMIN, QMAX = -128, 127


def _near_half(w: torch.Tensor) -> torch.Tensor:
    """Where float32 arithmetic may round `w` (computed exactly, in float64) either way: within
    a few float32 steps of a half, but not exactly on it (exact halves are exact in float32 too)."""
    gap = (w - w.floor() - 0.5).abs()
    return (gap > 0) & (gap <= 4 * 2.0 ** -24 * w.abs().clamp(min=1.0))


def _range(x: torch.Tensor) -> str:
    return f"x of shape {tuple(x.shape)} in [{float(x.min()):.4g}, {float(x.max()):.4g}]"


def check_choose_qparams(choose_qparams, x: torch.Tensor) -> None:
    """(scale, zero_point) as a Python float and int, as the library's asymmetric signed int8 choice."""
    what = f"choose_qparams({_range(x)})"
    ref_scale, ref_zp = quant_math.choose_qparams(x, bits=8, signed=True)
    ref_scale, ref_zp = float(ref_scale), int(ref_zp)
    got = call_unchanged(choose_qparams, "choose_qparams", {"x": x})
    if not (isinstance(got, tuple) and len(got) == 2):
        raise CheckFailed(f"{what}: must return a tuple (scale, zero_point), got {got!r}"[:400])
    scale, zero_point = got
    check_number(scale, ref_scale, f"{what}: scale", kind="float", rel=1e-5)
    if isinstance(zero_point, bool) or not isinstance(zero_point, numbers.Integral):
        raise CheckFailed(f"{what}: zero_point must be a Python int, got {type(zero_point).__name__} "
                          f"{zero_point!r}"[:400])
    zero_point = int(zero_point)
    if zero_point != ref_zp and zero_point == -ref_zp:
        raise CheckFailed(f"{what}: zero_point has the wrong sign ({zero_point}, expected {ref_zp}): "
                          "the range's minimum must map to qmin = -128")
    # lo / scale may land on the other side of a half in float32: then either rounding is right.
    lo_steps = torch.tensor(min(float(x.min()), 0.0) / ref_scale, dtype=torch.float64)
    if zero_point != ref_zp and not (abs(zero_point - ref_zp) == 1 and bool(_near_half(lo_steps))):
        raise CheckFailed(f"{what}: zero_point: expected {ref_zp}, got {zero_point}")


def check_quantize(quantize, x: torch.Tensor, scale: float, zero_point: int) -> None:
    """An int8 tensor of x's shape: clamp(round(x / scale) + zero_point, -128, 127)."""
    what = f"quantize({_range(x)}, scale={scale!r}, zero_point={zero_point})"
    expected = quant_math.quantize(x, scale, zero_point, bits=8, signed=True)
    got = call_unchanged(quantize, "quantize", {"x": x, "scale": scale, "zero_point": zero_point})
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == torch.int8:
        exact = x.double() / scale
        # x / scale and x * (1 / scale) may differ in the last float32 bit: either rounding is right there.
        either = _near_half(exact) & ((got.long() - expected.long()).abs() <= 1)
        expected = torch.where(either, got, expected)
        wide = torch.round(exact) + zero_point
        outside = (wide < QMIN) | (wide > QMAX)
        if bool((got != expected).any()) and bool(outside.any()) and torch.equal(got[~outside], expected[~outside]):
            raise CheckFailed(f"{what}: values outside [-128, 127] must be clamped (saturate), not wrap around")
    check_tensor(got, expected, what, atol=0, rtol=0)


def check_dequantize(dequantize, q: torch.Tensor, scale: float, zero_point: int) -> None:
    """A float32 tensor (q - zero_point) * scale, to a thousandth of a quantization step."""
    what = f"dequantize(q of shape {tuple(q.shape)}, scale={scale!r}, zero_point={zero_point})"
    expected = quant_math.dequantize(q, scale, zero_point)
    got = call_unchanged(dequantize, "dequantize", {"q": q, "scale": scale, "zero_point": zero_point})
    check_tensor(got, expected, what, atol=1e-3 * scale, rtol=1e-5)


def expected_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The library's L1 pruning mask of `weight` at `sparsity` (torch.nn.utils.prune underneath)."""
    layer = nn.Linear(1, 1, bias=False)
    layer.weight = nn.Parameter(weight.detach().clone().reshape(weight.shape[0] if weight.dim() else 1, -1))
    pruning.prune_per_layer(layer, sparsity, permanent=False)
    return layer.weight_mask.bool().reshape(weight.shape)


def check_magnitude_mask(magnitude_mask, weight: torch.Tensor, sparsity: float) -> None:
    """A bool mask of weight's shape, False for the round(sparsity * numel) smallest |w|."""
    what = f"magnitude_mask(weight of shape {tuple(weight.shape)}, sparsity={sparsity})"
    expected = expected_mask(weight, sparsity)
    got = call_unchanged(magnitude_mask, "magnitude_mask", {"weight": weight, "sparsity": sparsity})
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == torch.bool:
        removed, k = int((~got).sum()), int((~expected).sum())
        if removed != k:
            raise CheckFailed(f"{what}: removed {removed} weights, expected k = round({sparsity} * "
                              f"{weight.numel()}) = {k}")
        if 0 < k < weight.numel() and bool(weight[~got].abs().min() > weight[got].abs().max()):
            raise CheckFailed(f"{what}: you removed the largest weights; remove the smallest |w|")
    check_tensor(got, expected, what)


def _describe_model(model: nn.Module) -> str:
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    weights = sum(m.weight.numel() for m in layers)
    zeros = sum(int((m.weight == 0).sum()) for m in layers)
    others = sum(p.numel() for p in model.parameters()) - weights
    return (f"a {type(model).__name__} with {len(layers)} conv/linear layers, {weights} weights "
            f"({zeros} of them zero) and {others} other parameters")


def check_model_sparsity(model_sparsity, model: nn.Module) -> None:
    """A float: zero entries over all entries of the conv and linear weights together."""
    expected = pruning.sparsity_report(model)["total"]["sparsity"]
    got = call_unchanged(model_sparsity, "model_sparsity", {"model": model})
    check_number(got, expected, f"model_sparsity({_describe_model(model)})", kind="float", rel=1e-6, abs_=1e-9)


def expected_int8_size(model: nn.Module, bits: int = 8) -> float:
    """Bytes of `model` with conv/linear weights at `bits` bits plus a float32 scale per output
    channel, every other parameter float32."""
    layers = [m for m, _ in pruning.prunable_parameters(model, (nn.Conv2d, nn.Linear))]
    weights = sum(m.weight.numel() for m in layers)
    scales = sum(m.weight.shape[0] for m in layers)
    others = sum(p.numel() for p in model.parameters()) - weights
    return weights * bits / 8 + 4 * scales + 4 * others


def check_int8_size_bytes(int8_size_bytes, model: nn.Module, bits: int = 8) -> None:
    """A number (int or float) of bytes, as `expected_int8_size`."""
    expected = expected_int8_size(model, bits)
    got = call_unchanged(int8_size_bytes, "int8_size_bytes", {"model": model, "bits": bits})
    check_number(got, expected, f"int8_size_bytes({_describe_model(model)}, bits={bits})", kind="number",
                 rel=1e-7, abs_=1e-6)
