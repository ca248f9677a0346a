"""Per-channel mean and standard deviation of a whole dataset, for `Normalize`.

The statistic a normalisation layer needs is the spread of ALL pixels of a channel
across the training set: the population standard deviation over N * H * W values.
The average of per-image standard deviations is a different, smaller number: it
leaves out how much images differ from one another (their brightness, how much of
the frame the object fills), which is most of the variance in Fashion-MNIST.

The data is streamed in batches, so a dataset that does not fit in memory works
too. Each batch's mean and sum of squared deviations are computed in float64 and
merged with Chan et al.'s parallel update, which stays exact where
sum(x**2) - n * mean**2 would cancel catastrophically.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch.utils.data import DataLoader, Dataset


def _as_nchw(batch: torch.Tensor) -> torch.Tensor:
    """A batch as float64 (N, C, H, W) in [0, 1]: uint8 is divided by 255,
    an (N, H, W) batch of greyscale images gets its channel axis."""
    if not isinstance(batch, torch.Tensor):
        raise ValueError(f"expected batches of image tensors, got {type(batch).__name__}")
    if batch.ndim == 3:
        batch = batch[:, None]
    if batch.ndim != 4:
        raise ValueError(f"expected a batch of shape (N, C, H, W) or (N, H, W), "
                         f"got shape {tuple(batch.shape)}")
    if batch.dtype == torch.uint8:
        return batch.double() / 255.0
    if not batch.is_floating_point():
        raise ValueError(f"expected uint8 (0..255) or float ([0, 1]) images, got {batch.dtype}")
    return batch.double()


def channel_mean_std_of_batches(batches: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and population std per channel over every pixel of every batch.

    `batches` yields image tensors (N, C, H, W) or (images, labels) pairs, as a
    DataLoader does; uint8 images are scaled to [0, 1]. Returns two float64 (C,) tensors.
    """
    count, mean, m2 = 0, None, None
    for batch in batches:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        x = _as_nchw(batch)
        n = x.shape[0] * x.shape[2] * x.shape[3]
        if n == 0:
            continue
        b_mean = x.mean(dim=(0, 2, 3))
        b_m2 = ((x - b_mean[None, :, None, None]) ** 2).sum(dim=(0, 2, 3))
        if mean is None:
            count, mean, m2 = n, b_mean, b_m2
            continue
        if b_mean.shape != mean.shape:
            raise ValueError(f"a batch has {b_mean.numel()} channels, earlier ones had {mean.numel()}")
        delta = b_mean - mean
        total = count + n
        mean = mean + delta * (n / total)
        m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
        count = total
    if mean is None:
        raise ValueError("no images: the dataset or loader yielded no pixels")
    return mean, (m2 / count).sqrt()


def channel_mean_std(data: torch.Tensor | Dataset, batch_size: int = 4096
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and population std of a whole training set, in [0, 1] scale.

    `data` is an image tensor (N, C, H, W) or (N, H, W), uint8 or float in [0, 1],
    or a Dataset whose items are (image tensor, label). It is read `batch_size`
    images at a time. Returns two float64 (C,) tensors.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: expected a positive int")
    if isinstance(data, torch.Tensor):
        if data.ndim not in (3, 4):
            raise ValueError(f"expected images of shape (N, C, H, W) or (N, H, W), "
                             f"got shape {tuple(data.shape)}")
        batches = (data[i:i + batch_size] for i in range(0, len(data), batch_size))
    elif isinstance(data, Dataset):
        batches = DataLoader(data, batch_size=batch_size, shuffle=False)
    else:
        raise ValueError(f"expected an image tensor or a torch Dataset, got {type(data).__name__}")
    return channel_mean_std_of_batches(batches)
