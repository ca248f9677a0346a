"""Image tensor formats: memory per image and per batch, the NCHW and NHWC
(channels_last) layouts and their strides, and conversions between PIL images,
NumPy arrays and float tensors.

Chapter 1 of the book shows this code; exercise 01_tensors grades against it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

MiB = 2**20  # bytes in a mebibyte; "MB" (10**6 bytes) is 4.6 % smaller
PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # channels -> the 8-bit PIL mode that holds them
LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}


def _as_dtype(dtype: torch.dtype | str) -> torch.dtype:
    """Accept a torch.dtype or its name ("float32", "uint8", ...)."""
    if isinstance(dtype, str) and isinstance(getattr(torch, dtype, None), torch.dtype):
        return getattr(torch, dtype)
    if isinstance(dtype, torch.dtype):
        return dtype
    raise ValueError(f"dtype must be a torch.dtype such as torch.float32 (or its name), got {dtype!r}")


def _as_shape(shape: Sequence[int], what: str = "shape") -> tuple[int, ...]:
    """A tuple of positive ints: images have no empty dimensions."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, torch.Size)):
        raise ValueError(f"{what} must be a sequence of ints such as (3, 224, 224), got {shape!r}")
    if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(f"{what} must hold positive ints, got {tuple(shape)!r}")
    return tuple(int(d) for d in shape)


def _as_4d_tensor(x: torch.Tensor, layout: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"expected a 4-D {layout} tensor, got shape {tuple(x.shape)} "
                         f"({x.dim()}-D); add a batch dimension with x.unsqueeze(0)")
    return x


# --- Memory -----------------------------------------------------------------------

def bytes_per_image(shape: Sequence[int], dtype: torch.dtype | str) -> int:
    """Bytes that one image of `shape` (e.g. (C, H, W)) takes as a dense `dtype` tensor:
    the number of elements times the bytes per element."""
    return math.prod(_as_shape(shape)) * _as_dtype(dtype).itemsize


def batch_memory(n: int, shape: Sequence[int], dtype: torch.dtype | str) -> int:
    """Bytes of a batch of `n` images of `shape` (without the batch dimension)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"batch size must be a positive int, got {n!r}")
    return int(n) * bytes_per_image(shape, dtype)


# --- Layouts ----------------------------------------------------------------------

def nchw_to_nhwc(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, H, W, C), as a view: no data is copied, only strides change."""
    return _as_4d_tensor(x, "(N, C, H, W)").permute(0, 2, 3, 1)


def nhwc_to_nchw(x: torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) -> (N, C, H, W), as a view. A contiguous NHWC tensor comes back as an
    NCHW tensor in channels_last memory format."""
    return _as_4d_tensor(x, "(N, H, W, C)").permute(0, 3, 1, 2)


def strides_for(shape: Sequence[int], memory_format: str | torch.memory_format = "contiguous"
                ) -> tuple[int, ...]:
    """The strides (in elements) of a dense tensor of `shape` stored in `memory_format`.

    "contiguous": the last dimension varies fastest (row-major), any number of dims.
    "channels_last": `shape` is (N, C, H, W) but memory is ordered N, H, W, C, so C
    varies fastest, then W, then H, then N.
    """
    shape = _as_shape(shape)
    if memory_format in LAYOUTS:
        memory_format = LAYOUTS[memory_format]
    if memory_format == torch.contiguous_format:
        order = range(len(shape) - 1, -1, -1)  # fastest-varying dimension first
    elif memory_format == torch.channels_last:
        if len(shape) != 4:
            raise ValueError(f"channels_last needs a 4-D (N, C, H, W) shape, got {shape}")
        order = (1, 3, 2, 0)
    else:
        raise ValueError(f"memory_format must be one of {sorted(LAYOUTS)}, got {memory_format!r}")
    strides, step = [0] * len(shape), 1
    for dim in order:
        strides[dim] = step
        step *= shape[dim]
    return tuple(strides)


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether the (N, C, H, W) tensor `x` is stored densely in N, H, W, C order.

    Dimensions of size 1 are skipped, as PyTorch does: their stride is never used, so
    a tensor with C == 1 (or H == W == 1) is both contiguous and channels_last.
    """
    x = _as_4d_tensor(x, "(N, C, H, W)")
    if x.numel() == 0:  # no element is ever addressed: defer to PyTorch's convention
        return x.is_contiguous(memory_format=torch.channels_last)
    expected = strides_for(x.shape, "channels_last")
    return all(size == 1 or got == want
               for size, got, want in zip(x.shape, x.stride(), expected))


# --- Conversions ------------------------------------------------------------------

def to_tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    """A PIL image or a uint8 array (H, W) or (H, W, C) -> float32 (C, H, W) in [0, 1].

    The same result as torchvision's ToTensor() and v2.ToImage() + v2.ToDtype(torch.float32,
    scale=True): channels move first and each byte is divided by 255.
    """
    if isinstance(image, Image.Image):
        if image.mode not in {"L", "LA", "RGB", "RGBA"}:
            raise ValueError(f"PIL image mode {image.mode!r} is not 8 bits per channel; "
                             f"convert it first, e.g. image.convert('RGB')")
        array = np.asarray(image)
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise TypeError(f"expected a PIL image or a NumPy uint8 array, got {type(image).__name__}")
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels (0..255), got dtype {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]  # greyscale: one channel
    if array.ndim != 3:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {array.shape}")
    hwc = torch.from_numpy(np.require(array, requirements=["C", "W"]))  # copies only if needed
    return hwc.permute(2, 0, 1).contiguous().to(torch.float32).div(255)


def _as_image_tensor(x: torch.Tensor) -> torch.Tensor:
    """One image as (C, H, W); a 2-D (H, W) tensor gets a channel dimension."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() != 3:
        raise ValueError(f"expected one image, (C, H, W) or (H, W), got shape {tuple(x.shape)}; "
                         f"for a batch pass one image such as batch[0]")
    if x.numel() == 0:
        raise ValueError(f"expected a non-empty image, got shape {tuple(x.shape)}")
    return x.detach().cpu()


def to_pil(x: torch.Tensor) -> Image.Image:
    """A (C, H, W) or (H, W) tensor -> PIL image (mode L, RGB or RGBA by channel count).

    uint8 is taken as is; floats must lie in [0, 1] and are scaled by 255 and rounded,
    so to_pil(to_tensor(img)) gives back img exactly (torchvision's ToPILImage truncates
    instead of rounding, and can be one grey level lower).
    """
    x = _as_image_tensor(x)
    if x.shape[0] not in PIL_MODES:
        raise ValueError(f"expected 1, 3 or 4 channels first, got shape {tuple(x.shape)}; "
                         f"an (H, W, C) array needs x.permute(2, 0, 1) first")
    if x.is_floating_point():
        if x.numel() and not (x.min() >= 0 and x.max() <= 1):  # also rejects NaN
            raise ValueError(f"float pixels must lie in [0, 1], got min {x.min().item():.4g}, "
                             f"max {x.max().item():.4g}; undo Normalize first")
        x = x.mul(255).round().to(torch.uint8)
    elif x.dtype != torch.uint8:
        raise ValueError(f"expected a uint8 or float tensor, got dtype {x.dtype}")
    hwc = x.permute(1, 2, 0).contiguous().numpy()
    # PIL picks the mode from the array: (H, W) -> L, (H, W, 3) -> RGB, (H, W, 4) -> RGBA
    return Image.fromarray(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc)


def to_numpy_hwc(x: torch.Tensor) -> np.ndarray:
    """A (C, H, W) or (H, W) tensor -> (H, W, C) NumPy array, the layout of PIL and
    matplotlib. For a CPU tensor this is a view: it shares memory with `x`."""
    return _as_image_tensor(x).permute(1, 2, 0).numpy()
