"""The affine quantization maths, written out: the reference the exercises test against.

A real number x is stored as an integer q with a scale and a zero-point:

    q = clamp(round(x / scale) + zero_point, qmin, qmax)      (quantize)
    x' = (q - zero_point) * scale                             (dequantize)

`round` is round-half-to-even (what torch.round and every int8 kernel use), and the
clamp is what makes outliers cost accuracy. These functions agree exactly with
`torch.quantize_per_tensor` / `torch.quantize_per_channel` and with the observers'
`calculate_qparams` in `torch.ao.quantization` (the tests check equality), but they work
on ordinary tensors, for any width from 2 to 8 bits, so a widget can show what 4 bits do.
"""

from __future__ import annotations

import torch

# Observers clamp the scale to float32's machine epsilon so a constant tensor never
# gives scale 0 (a division by zero when quantizing).
_EPS = torch.finfo(torch.float32).eps


def qrange(bits: int = 8, signed: bool = True) -> tuple[int, int]:
    """The integer range [qmin, qmax] of a `bits`-wide integer: int8 is (-128, 127), uint8 (0, 255)."""
    if not isinstance(bits, int) or not 2 <= bits <= 8:
        raise ValueError(f"bits must be an integer from 2 to 8, got {bits!r}")
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _min_max(x: torch.Tensor, axis: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().float()
    if x.numel() == 0:
        raise ValueError("cannot choose quantization parameters for an empty tensor")
    if axis is None:
        return x.min(), x.max()
    if not -x.dim() <= axis < x.dim():
        raise ValueError(f"axis {axis} is out of range for a tensor of shape {tuple(x.shape)}")
    per_channel = x.movedim(axis, 0).reshape(x.shape[axis], -1)
    return per_channel.min(dim=1).values, per_channel.max(dim=1).values


def choose_qparams(
    x: torch.Tensor | None = None,
    *,
    min_val: float | torch.Tensor | None = None,
    max_val: float | torch.Tensor | None = None,
    bits: int = 8,
    signed: bool = True,
    symmetric: bool = False,
    axis: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale (float32) and zero-point (int64) that map [min, max] onto the integer range.

    Give either the tensor `x` (its min/max are taken, per channel along `axis` if set)
    or `min_val`/`max_val` directly. The range is first widened to include 0, so that
    0.0 (padding, ReLU outputs, pruned weights) is represented exactly.

    * asymmetric: scale = (max - min) / (qmax - qmin); zero_point = qmin - round(min / scale)
    * symmetric:  scale = max(|min|, |max|) / ((qmax - qmin) / 2); zero_point = 0 for signed
      types, the middle of the range for unsigned ones (128 for uint8, as torch does).

    Returns 0-d tensors per tensor, 1-d tensors (one per channel) with `axis`.
    """
    qmin, qmax = qrange(bits, signed)
    if x is not None:
        if min_val is not None or max_val is not None:
            raise ValueError("give either x or min_val/max_val, not both")
        lo, hi = _min_max(x, axis)
    elif min_val is None or max_val is None:
        raise ValueError("give a tensor x, or both min_val and max_val")
    else:
        lo = torch.as_tensor(min_val, dtype=torch.float32)
        hi = torch.as_tensor(max_val, dtype=torch.float32)
    if bool((lo > hi).any()):
        raise ValueError(f"min_val must not exceed max_val, got min {lo.tolist()} and max {hi.tolist()}")
    lo = torch.clamp(lo, max=0.0)  # widen the range to include zero
    hi = torch.clamp(hi, min=0.0)
    if symmetric:
        scale = torch.clamp(torch.maximum(-lo, hi) / ((qmax - qmin) / 2), min=_EPS)
        if signed:
            middle = 0
        elif bits == 8:
            middle = 128
        else:
            middle = (qmin + qmax) // 2  # torch's rule for a customised (narrower) range
        zero_point = torch.full_like(scale, middle, dtype=torch.int64)
    else:
        scale = torch.clamp((hi - lo) / float(qmax - qmin), min=_EPS)
        zero_point = torch.clamp(qmin - torch.round(lo / scale).to(torch.int64), qmin, qmax)
    return scale.float(), zero_point


def _broadcast(param: torch.Tensor | float, x: torch.Tensor, axis: int | None, dtype) -> torch.Tensor:
    param = torch.as_tensor(param, dtype=dtype)
    if axis is None:
        if param.numel() != 1:
            raise ValueError(f"per-tensor quantization needs one scale/zero-point, got {param.numel()}; pass axis=")
        return param.reshape(())
    axis = axis % x.dim()
    if param.dim() != 1 or param.numel() != x.shape[axis]:
        raise ValueError(
            f"per-channel quantization along axis {axis} needs {x.shape[axis]} values, got shape {tuple(param.shape)}"
        )
    shape = [1] * x.dim()
    shape[axis] = -1
    return param.reshape(shape)


def quantize(
    x: torch.Tensor,
    scale: torch.Tensor | float,
    zero_point: torch.Tensor | int,
    *,
    bits: int = 8,
    signed: bool = True,
    axis: int | None = None,
) -> torch.Tensor:
    """q = clamp(round(x / scale) + zero_point, qmin, qmax), as int8 (signed) or uint8.

    Like torch's kernels it multiplies by the float32 reciprocal of the scale, and
    torch.round rounds halves to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2).
    """
    qmin, qmax = qrange(bits, signed)
    s = _broadcast(scale, x, axis, torch.float32)
    zp = _broadcast(zero_point, x, axis, torch.int64)
    q = torch.round(x.float() * (1.0 / s)) + zp
    return torch.clamp(q, qmin, qmax).to(torch.int8 if signed else torch.uint8)


def dequantize(
    q: torch.Tensor, scale: torch.Tensor | float, zero_point: torch.Tensor | int, *, axis: int | None = None
) -> torch.Tensor:
    """x' = (q - zero_point) * scale, as float32."""
    s = _broadcast(scale, q, axis, torch.float32)
    zp = _broadcast(zero_point, q, axis, torch.int64)
    return (q.to(torch.int64) - zp).float() * s


def fake_quantize(x: torch.Tensor, *, bits: int = 8, signed: bool = True, symmetric: bool = False,
                  axis: int | None = None) -> torch.Tensor:
    """Quantize then dequantize x with parameters chosen from x itself: the values x turns into."""
    scale, zero_point = choose_qparams(x, bits=bits, signed=signed, symmetric=symmetric, axis=axis)
    q = quantize(x, scale, zero_point, bits=bits, signed=signed, axis=axis)
    return dequantize(q, scale, zero_point, axis=axis)


def quantization_error(x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, float]:
    """How far the round trip moved the values: mean squared error, largest absolute
    error and signal-to-quantization-noise ratio in dB (higher is better; about 6 dB a bit)."""
    if x.shape != x_hat.shape:
        raise ValueError(f"shapes differ: {tuple(x.shape)} and {tuple(x_hat.shape)}")
    x, x_hat = x.detach().double(), x_hat.detach().double()
    noise = (x - x_hat).pow(2).mean()
    signal = x.pow(2).mean()
    sqnr = float("inf") if noise == 0 else float(10 * torch.log10(signal / noise))
    return {"mse": float(noise), "max_abs": float((x - x_hat).abs().max()), "sqnr_db": sqnr}
