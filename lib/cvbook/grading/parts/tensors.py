"""Checks of the tensors assignment (batch memory, NCHW to NHWC, channels_last strides, to_tensor)."""

from __future__ import annotations

import numpy as np
import torch

from cvbook.data import formats
from cvbook.grading.checks import CheckFailed, call_unchanged, check_equal, check_strides, check_tensor

# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"batch_memory": 1, "nchw_to_nhwc": 2, "channels_last_strides": 3, "to_tensor": 4}


def check_batch_memory(batch_memory, n: int, shape: tuple, dtype: torch.dtype) -> None:
    """An int: the bytes of n images of `shape` (C, H, W) stored densely as `dtype`."""
    what = f"batch_memory({n}, {shape}, {dtype})"
    expected = formats.batch_memory(n, shape, dtype)
    got = call_unchanged(batch_memory, "batch_memory", {"n": n, "shape": shape, "dtype": dtype}, what=what)
    elements = n * int(np.prod(shape))
    hints = {
        8 * expected: "that is in bits; return bytes (1 byte = 8 bits)",
        expected // n: "that is one image; multiply by the batch size n",
        elements * 4: "that assumes 4 bytes per element; use the size of the given dtype",
        expected / 2**20: "that is in MiB; return the number of bytes",
        expected // shape[0]: "the channel dimension is missing; shape is (C, H, W)",
    }
    hints.pop(expected, None)
    if isinstance(got, (int, float, np.number)) and not isinstance(got, bool) and got in hints:
        raise CheckFailed(f"{what}: expected {expected}, got {got}; {hints[got]}")
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        raise CheckFailed(f"{what}: return an int, got {type(got).__name__} {got!r}"[:400])
    check_equal(int(got), expected, what)


def _tensor(x: torch.Tensor) -> str:
    layout = "" if x.is_contiguous() else f", strides {x.stride()}"
    return f"x of shape {tuple(x.shape)}, {x.dtype}{layout}"


def check_nchw_to_nhwc(nchw_to_nhwc, x: torch.Tensor) -> None:
    """x's dimensions in (N, H, W, C) order, as a view of x's memory (no copy)."""
    what = f"nchw_to_nhwc({_tensor(x)})"
    expected = formats.nchw_to_nhwc(x)
    got = call_unchanged(nchw_to_nhwc, "nchw_to_nhwc", {"x": x}, what=what)
    n, c, h, w = x.shape
    if isinstance(got, torch.Tensor) and tuple(got.shape) == (n, w, h, c) != (n, h, w, c):
        raise CheckFailed(f"{what}: got shape {tuple(got.shape)}, which is (N, W, H, C); "
                          f"expected (N, H, W, C) = {(n, h, w, c)}. Check the order you give permute")
    if isinstance(got, torch.Tensor) and tuple(got.shape) == (n, c, h, w) != (n, h, w, c):
        raise CheckFailed(f"{what}: got shape {tuple(got.shape)}, still (N, C, H, W); "
                          f"(memory_format=torch.channels_last changes the memory, not the shape)")
    check_tensor(got, expected, what, atol=0, rtol=0)
    if got.data_ptr() != x.data_ptr():
        raise CheckFailed(f"{what}: the result is a copy (a different data_ptr); return a view "
                          f"of x: permute without .contiguous() or .clone()")
    check_strides(got.stride(), expected.stride(), tuple(expected.shape), f"{what}: the view")


def check_channels_last_strides(channels_last_strides, shape: tuple) -> None:
    """A tuple of four ints: the strides of an (N, C, H, W) tensor stored channels_last."""
    what = f"channels_last_strides({shape})"
    got = call_unchanged(channels_last_strides, "channels_last_strides", {"shape": shape}, what=what)
    if not isinstance(got, (tuple, list, torch.Size)) or len(got) != 4:
        raise CheckFailed(f"{what}: return a tuple of 4 ints, got {type(got).__name__} {got!r}"[:400])
    got = tuple(got)
    expected = formats.strides_for(shape, "channels_last")
    n, c, h, w = shape
    hints = {
        formats.strides_for(shape, "contiguous"): "these are the contiguous (NCHW) strides",
        (h * w * c, w * c, c, 1): "these are the strides of an (N, H, W, C) tensor, in NHWC order; "
                                  "give them in the order of the shape, (N, C, H, W)",
        tuple(4 * s for s in expected): "these are in bytes; strides count elements",
    }
    if got != expected and got in hints:
        raise CheckFailed(f"{what}: expected {expected}, got {got}; {hints[got]}")
    check_strides(got, expected, shape, what)


def _array(array: np.ndarray) -> str:
    layout = "" if array.flags.c_contiguous else ", a strided view"
    return f"array of shape {array.shape}, {array.dtype}{layout}"


def check_to_tensor(to_tensor, array: np.ndarray) -> None:
    """A float32 (C, H, W) tensor of array / 255 (a greyscale (H, W) array gets C = 1)."""
    what = f"to_tensor({_array(array)})"
    expected = formats.to_tensor(array)
    got = call_unchanged(to_tensor, "to_tensor", {"array": array}, what=what)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point():
        g, e = got.detach().double(), expected.double()
        hints = {
            "divided by 256; divide by 255 so that 255 becomes 1.0": e * 255 / 256,
            "not divided by 255; values must lie in [0, 1]": e * 255,
            "divided by the image's largest value; divide by 255 whatever the image":
                e / e.max() if e.max() > 0 else e,
            "min-max normalised; divide by 255 whatever the image":
                (e - e.min()) / (e.max() - e.min()) if e.max() > e.min() else e,
        }
        if not torch.allclose(g, e, atol=1e-6):
            for hint, wrong in hints.items():
                if torch.allclose(g, wrong, atol=1e-6):
                    raise CheckFailed(f"{what}: your values are {hint}")
    if isinstance(got, torch.Tensor) and array.ndim == 3 and tuple(got.shape) == array.shape != expected.shape:
        raise CheckFailed(f"{what}: got shape {tuple(got.shape)}, still (H, W, C); "
                          f"move the channels first: (C, H, W) = {tuple(expected.shape)}")
    check_tensor(got, expected, what, atol=1e-6, rtol=0)


def check_to_tensor_rejects(to_tensor, array: np.ndarray) -> None:
    """An array that is not uint8 must raise a ValueError."""
    what = f"to_tensor({_array(array)})"
    try:
        call_unchanged(to_tensor, "to_tensor", {"array": array})
    except ValueError:
        return
    except CheckFailed:
        raise
    except Exception as err:  # noqa: BLE001 - the student's exception, reported
        raise CheckFailed(f"{what}: expected a ValueError, got {type(err).__name__}: {err}"[:400]) from None
    raise CheckFailed(f"{what}: expected a ValueError (only uint8 pixels can be divided by 255), "
                      f"but to_tensor returned normally")


def check_random_layouts(nchw_to_nhwc, seed: int, count: int = 6) -> None:
    """`count` random inputs (drawn from `seed`): sizes 1 to 6 in every dimension, four dtypes,
    contiguous, channels_last or a strided slice."""
    g = torch.Generator().manual_seed(seed)
    dtypes = (torch.float32, torch.uint8, torch.float64, torch.int64)
    for i in range(count):
        shape = tuple(int(s) for s in torch.randint(1, 7, (4,), generator=g))
        x = (torch.rand(shape, generator=g) * 100).to(dtypes[i % len(dtypes)])
        layout = int(torch.randint(0, 3, (), generator=g))
        if layout == 1:
            x = x.to(memory_format=torch.channels_last)
        elif layout == 2:
            x = torch.cat([x, x], dim=-1)[..., ::2]
        check_nchw_to_nhwc(nchw_to_nhwc, x)
