"""From stored pixels to a model's input: the one normalisation every path uses.

Images are kept as uint8 (N, C, H, W) (see cvbook.data.splits). A model sees them as
float32 in [0, 1], minus the training set's per-channel mean, divided by its per-channel
std. Training, evaluation, compression and the in-memory loader all call `normalize`,
so a model is never scored on inputs scaled differently from the ones it learned on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def channel_stats(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images, in [0, 1] units (plain floats, as a
    checkpoint's meta stores them; a std of 0 is raised to 1e-6 so dividing is safe)."""
    from cvbook.data.stats import channel_mean_std

    mean, std = channel_mean_std(images)
    return mean.tolist(), std.clamp_min(1e-6).tolist()


def normalize(x: torch.Tensor, mean: Sequence[float] | torch.Tensor,
              std: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """(x / 255 - mean) / std per channel for a uint8 batch (N, C, H, W); a float batch is
    taken to be in [0, 1] already. Returns float32 on x's device."""
    if x.ndim != 4:
        raise ValueError(f"expected a batch of shape (N, C, H, W), got shape {tuple(x.shape)}")
    scaled = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
    mean = torch.as_tensor(mean, dtype=torch.float32, device=x.device).flatten()
    std = torch.as_tensor(std, dtype=torch.float32, device=x.device).flatten()
    if len(mean) != x.shape[1] or len(std) != x.shape[1]:
        raise ValueError(f"mean and std need {x.shape[1]} values (one per channel), "
                         f"got {len(mean)} and {len(std)}")
    return (scaled - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def to_input(x: torch.Tensor, meta: dict, device, channels_last: bool = False) -> torch.Tensor:
    """A uint8 batch (N, C, H, W) as the model described by `meta` (its 'mean' and 'std')
    expects it: normalised float32 on `device`, channels_last if asked."""
    x = normalize(x.to(device, non_blocking=True), meta["mean"], meta["std"])
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
