"""Batched augmentation on N x C x H x W tensors where EACH image draws its own
random parameters.

torchvision's v2 transforms, given a batch tensor, draw one set of parameters for
the whole batch (every image gets the same crop and the same flip). These functions
draw one coin or one offset per image and apply them all at once, without a Python
loop over images, so augmenting a batch costs about as much as copying it.

Every function takes a `torch.Generator`: the same seed gives the same batch.
Random numbers are drawn on the generator's device (the CPU by default) and then
moved to the batch's device.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PADDING_MODES = ("constant", "reflect", "replicate", "circular")


def _check_batch(x: torch.Tensor, what: str = "x") -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{what}: expected a torch.Tensor of shape (N, C, H, W), "
                         f"got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{what}: expected a batch of shape (N, C, H, W), "
                         f"got shape {tuple(x.shape)}")


def _uniform(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    gen_device = generator.device if generator is not None else "cpu"
    return torch.rand(n, generator=generator, device=gen_device).to(device)


def random_horizontal_flip(x: torch.Tensor, p: float = 0.5,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability `p`, one coin per image."""
    _check_batch(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p={p}: expected a probability in [0, 1]")
    flip = _uniform(x.shape[0], generator, x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None = None,
                padding_mode: str = "constant", fill: float = 0) -> torch.Tensor:
    """Pad each image by `padding` pixels on every side, then cut back an H x W window
    at an offset drawn per image, uniformly in 0..2*padding along each axis."""
    _check_batch(x)
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding={padding!r}: expected a non-negative int")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode={padding_mode!r}: expected one of {PADDING_MODES}")
    n, c, h, w = x.shape
    if padding == 0 or n == 0:
        return x.clone()
    if padding_mode == "reflect" and padding >= min(h, w):
        raise ValueError(f"padding={padding}: reflect padding needs padding < image size "
                         f"({h}x{w})")
    pad = (padding, padding, padding, padding)
    padded = F.pad(x, pad, mode="constant", value=fill) if padding_mode == "constant" \
        else F.pad(x, pad, mode=padding_mode)
    gen_device = generator.device if generator is not None else "cpu"
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator,
                            device=gen_device).to(x.device)
    # Every H x W window of every padded image, as a view (no copy):
    # windows[n, c, dy, dx] is the window whose top-left corner is (dy, dx).
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)       # N, C, 2p+1, 2p+1, H, W
    # One indexing operation copies out window (dy[n], dx[n]) of each image n.
    return windows[torch.arange(n, device=x.device), :, offsets[0], offsets[1]]


def random_erasing(x: torch.Tensor, p: float = 0.5, size: int | tuple[int, int] = 8,
                   generator: torch.Generator | None = None, value: float = 0) -> torch.Tensor:
    """With probability `p` per image, set a `size` rectangle (placed uniformly at
    random, fully inside the image) to `value` (Cutout / random erasing, fixed size)."""
    _check_batch(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p={p}: expected a probability in [0, 1]")
    eh, ew = (size, size) if isinstance(size, int) else size
    n, _, h, w = x.shape
    if not (0 < eh <= h and 0 < ew <= w):
        raise ValueError(f"size={size!r}: expected a rectangle between 1x1 and {h}x{w}")
    erase = _uniform(n, generator, x.device) < p
    gen_device = generator.device if generator is not None else "cpu"
    top = torch.randint(0, h - eh + 1, (n,), generator=generator, device=gen_device).to(x.device)
    left = torch.randint(0, w - ew + 1, (n,), generator=generator, device=gen_device).to(x.device)
    i = torch.arange(h, device=x.device)[None, :]
    j = torch.arange(w, device=x.device)[None, :]
    in_rows = (i >= top[:, None]) & (i < top[:, None] + eh)          # (N, H)
    in_cols = (j >= left[:, None]) & (j < left[:, None] + ew)        # (N, W)
    mask = (in_rows[:, :, None] & in_cols[:, None, :]) & erase[:, None, None]
    return x.masked_fill(mask[:, None], value)


def flip_and_crop(padding: int = 2, p_flip: float = 0.5, padding_mode: str = "constant"):
    """The standard Fashion-MNIST / CIFAR recipe as one batch function
    `augment(x, generator) -> x` (what `TensorBatchLoader(augment=...)` expects)."""
    def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = random_crop(x, padding, generator, padding_mode=padding_mode)
        return random_horizontal_flip(x, p_flip, generator)
    return augment


def find_crop_offsets(x: torch.Tensor, cropped: torch.Tensor, padding: int,
                      fill: float = 0) -> torch.Tensor:
    """Recover where each crop came from: for image n, the (dy, dx) such that
    `cropped[n]` is the H x W window at (dy, dx) of `x[n]` zero-padded (with `fill`)
    by `padding`. Returns an int64 (N, 2) tensor, -1 where no window matches.
    Used to *show* that a crop was per image, and to test crops."""
    _check_batch(x)
    _check_batch(cropped, "cropped")
    if cropped.shape != x.shape:
        raise ValueError(f"cropped has shape {tuple(cropped.shape)}; expected the shape of x, "
                         f"{tuple(x.shape)}")
    n, _, h, w = x.shape
    padded = F.pad(x, (padding,) * 4, value=fill)
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)            # N, C, k, k, H, W
    match = (windows == cropped[:, :, None, None]).all(-1).all(-1).all(1)  # N, k, k
    found = match.flatten(1)
    first = found.float().argmax(1)
    offsets = torch.stack([first // match.shape[2], first % match.shape[2]], 1)
    offsets[~found.any(1)] = -1
    return offsets
