"""Checks that exercise test cells call. Each failure tells the student what was
compared, on which input, and what differed, so the message is something to act on."""

from __future__ import annotations

import numbers
from typing import Any

import torch


class CheckFailed(AssertionError):
    """A graded check did not pass; the message is written for the student."""


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)}, dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:200]


def check_tensor(got: Any, expected: torch.Tensor, what: str, *, atol: float = 1e-6,
                 rtol: float = 1e-5, check_dtype: bool = True) -> None:
    """`got` must be a tensor like `expected`: same shape, dtype (optionally) and values."""
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{what}: expected a torch.Tensor, got {_describe(got)}")
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    if check_dtype and got.dtype != expected.dtype:
        raise CheckFailed(f"{what}: expected dtype {expected.dtype}, got {got.dtype}")
    g, e = got.detach().double(), expected.detach().double()
    if not torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        diff = (g - e).abs()
        idx = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        raise CheckFailed(
            f"{what}: values differ (largest difference {diff.max().item():.3g} at index {idx}: "
            f"got {g[idx].item():.6g}, expected {e[idx].item():.6g})")


def _plain(x: Any, what: str, expected: Any) -> Any:
    """`x` as builtin values only, so that comparing it runs no code the student wrote
    (an object whose __eq__ always says True must not pass)."""
    if isinstance(x, bool):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, str):
        return str(x)
    if isinstance(x, (tuple, list, torch.Size)):
        return tuple(_plain(i, what, expected) for i in x)
    if isinstance(x, dict):
        return {_plain(k, what, expected): _plain(v, what, expected) for k, v in x.items()}
    if x is None:
        return None
    raise CheckFailed(f"{what}: expected {expected!r}, got {_describe(x)}")


def check_equal(got: Any, expected: Any, what: str) -> None:
    """Exact equality for plain values (ints, floats, strings, tuples, dicts)."""
    g, e = _plain(got, what, expected), _plain(expected, what, expected)
    if type(g) is not type(e) or g != e:
        shown = repr(got) if isinstance(got, (int, str, tuple)) else _describe(got)
        raise CheckFailed(f"{what}: expected {expected!r}, got {shown}")


def check_close(got: Any, expected: float, what: str, *, rel: float = 1e-6, abs_: float = 1e-9) -> None:
    """A number within a tolerance of the reference."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: expected a number, got {_describe(got)}") from None
    if abs(value - expected) > max(abs_, rel * abs(expected)):
        raise CheckFailed(f"{what}: expected {expected:.6g}, got {value:.6g}")
