"""Checks of the compression assignment (quantization and pruning by hand)."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from cvbook.compress import prune as pruning
from cvbook.compress import quant_math
from cvbook.grading.checks import CheckFailed, call_unchanged, check_number, check_tensor

# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"choose_qparams": 1, "quantize": 2, "dequantize": 3, "magnitude_mask": 4, "model_sparsity": 5,
         "int8_size_bytes": 6}

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
    got = call_unchanged(choose_qparams, "choose_qparams", {"x": x}, what=what)
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
    got = call_unchanged(quantize, "quantize", {"x": x, "scale": scale, "zero_point": zero_point}, what=what)
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
    got = call_unchanged(dequantize, "dequantize", {"q": q, "scale": scale, "zero_point": zero_point},
                         what=what)
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
    k = round(sparsity * weight.numel())
    hint = ("k = 0: no weight is removed, every entry of the mask is True" if k == 0 else
            f"k = {k} = every weight: every entry of the mask is False" if k == weight.numel() else "")
    got = call_unchanged(magnitude_mask, "magnitude_mask", {"weight": weight, "sparsity": sparsity}, what=what,
                         hint=hint)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == torch.bool:
        removed, k = int((~got).sum()), int((~expected).sum())
        if removed != k:
            raise CheckFailed(f"{what}: removed {removed} weights, expected k = round({sparsity} * "
                              f"{weight.numel()}) = {k}")
        if 0 < k < weight.numel() and bool(weight[~got].abs().min() > weight[got].abs().max()):
            raise CheckFailed(f"{what}: you removed the largest weights; remove the smallest |w|")
    check_tensor(got, expected, what)


class Stage(nn.Module):
    """Two convolutions in a ModuleList and a BatchNorm: a block of layers one level down."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                                    nn.Conv2d(c_out, c_out, 1)])
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return torch.relu(self.norm(self.convs[1](self.convs[0](x))))


def nested_cnn(width: int = 4, classes: int = 10) -> nn.Module:
    """A small net whose conv and linear layers sit at several depths (a Sequential of a conv,
    a Stage, a Sequential holding another Stage, and a head), one conv without a bias."""
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), Stage(width, width),
                         nn.Sequential(Stage(width, 2 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten()),
                         nn.Linear(2 * width, classes))


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
    what = f"model_sparsity({_describe_model(model)})"
    got = call_unchanged(model_sparsity, "model_sparsity", {"model": model}, what=what, hint=_model_hint(model))
    nested = _nested_layers(model)
    if nested and isinstance(got, float) and abs(got - expected) > 1e-6:
        top = [m for m in model.children() if isinstance(m, (nn.Conv2d, nn.Linear))]
        zeros = sum(int((m.weight == 0).sum()) for m in top)
        if top and abs(got - zeros / sum(m.weight.numel() for m in top)) < 1e-9:
            raise CheckFailed(f"{what}: expected {expected:.6g}, got {got:.6g}, the sparsity of the top-level layers "
                              f"only; layers inside submodules ({nested[0]!r}, ...) count too: model.modules() "
                              f"visits them all")
    check_number(got, expected, what, kind="float", rel=1e-6, abs_=1e-9)


def _nested_layers(model: nn.Module) -> list[str]:
    """Names of the conv/linear layers that are not direct children of `model`."""
    return [name for name, m in model.named_modules() if "." in name and isinstance(m, (nn.Conv2d, nn.Linear))]


def _model_hint(model: nn.Module) -> str:
    """What is unusual about `model`, for a message about an exception it caused."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if any(m.bias is None for m in layers):
        return "some of its layers have no bias (bias=False, so layer.bias is None)"
    if isinstance(model, (nn.Conv2d, nn.Linear)):
        return "the model is a single layer (model.modules() yields the model itself)"
    if _nested_layers(model):
        return "some layers sit inside submodules"
    return ""


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
    what = f"int8_size_bytes({_describe_model(model)}, bits={bits})"
    got = call_unchanged(int8_size_bytes, "int8_size_bytes", {"model": model, "bits": bits}, what=what,
                         hint=_model_hint(model))
    if isinstance(got, (int, float)) and abs(got - expected) > 1e-6 and abs(got - 4 * sum(
            p.numel() for p in model.parameters())) < 1e-6:
        raise CheckFailed(f"{what}: expected {expected:.10g}, got {got:.10g}, every parameter counted as float32: "
                          f"no conv/linear layer was found (model.modules() visits the model itself and every "
                          f"layer inside it; model.children() misses both)")
    nested = _nested_layers(model)
    if nested and isinstance(got, (int, float)) and abs(got - expected) > 1e-6:
        flat = nn.ModuleList([m for m in model.children() if isinstance(m, (nn.Conv2d, nn.Linear))])
        others = sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in flat.parameters())
        if abs(got - (expected_int8_size(flat, bits) + 4 * others)) < 1e-6:
            raise CheckFailed(f"{what}: expected {expected:.10g}, got {got:.10g}: the conv/linear layers inside "
                              f"submodules ({nested[0]!r}, ...) were counted as float32; model.modules() visits "
                              f"every layer")
    check_number(got, expected, what, kind="number", rel=1e-7, abs_=1e-6)
