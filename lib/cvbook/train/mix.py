"""MixUp (Zhang et al., 2017) and CutMix (Yun et al., 2019) on a batch.

Both pair each image with another image of the same batch (a random permutation) and
mix the labels in the same proportion as the pixels: lam of image i, 1 - lam of its
partner. Random numbers come from torch's global generator, so a seeded run (and a
resumed one, which restores that generator) draws the same mixes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _beta(alpha: float) -> float:
    return float(torch.distributions.Beta(alpha, alpha).sample())


def mixup(images: torch.Tensor, targets: torch.Tensor, lam: float, perm: torch.Tensor
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """images*lam + images[perm]*(1-lam); `targets` are probabilities (N, K)."""
    mixed = images * lam + images[perm] * (1.0 - lam)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)


def cutmix_box(height: int, width: int, lam: float, center: tuple[int, int] | None = None
               ) -> tuple[int, int, int, int]:
    """A box (top, bottom, left, right) covering about 1 - lam of the image, centred at
    `center` (row, column; drawn at random when None) and clipped at the borders (so it
    may come out smaller)."""
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    if center is None:
        center = (int(torch.randint(height, ()).item()), int(torch.randint(width, ()).item()))
    cy, cx = center
    if not (0 <= cy < height and 0 <= cx < width):
        raise ValueError(f"cutmix centre {center} lies outside the {height}x{width} image")
    top, bottom = max(cy - h // 2, 0), min(cy + h - h // 2, height)
    left, right = max(cx - w // 2, 0), min(cx + w - w // 2, width)
    return top, bottom, left, right


def cutmix(images: torch.Tensor, targets: torch.Tensor, lam: float, perm: torch.Tensor,
           center: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Paste a box from images[perm] into each image (centred at `center`, or at random).
    The label weight is the area that was really pasted (after clipping), returned as the
    corrected lam."""
    height, width = images.shape[-2:]
    top, bottom, left, right = cutmix_box(height, width, lam, center)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam = 1.0 - (bottom - top) * (right - left) / (height * width)
    return mixed, targets * lam + targets[perm] * (1.0 - lam), lam


class MixUpCutMix:
    """Per batch: with probability `cutmix_prob` CutMix, otherwise MixUp, with
    lam ~ Beta(alpha, alpha). alpha = 0 turns mixing off (labels become one-hot)."""

    def __init__(self, alpha: float, num_classes: int, cutmix_prob: float = 0.5):
        if alpha < 0:
            raise ValueError(f"mixup/cutmix alpha must be >= 0, got {alpha}")
        self.alpha, self.num_classes, self.cutmix_prob = alpha, num_classes, cutmix_prob

    def __call__(self, images: torch.Tensor, labels: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        targets = F.one_hot(labels, self.num_classes).to(images.dtype if images.is_floating_point()
                                                         else torch.float32)
        if self.alpha == 0:
            return images, targets
        lam = _beta(self.alpha)
        perm = torch.randperm(len(images)).to(images.device)
        if float(torch.rand(())) < self.cutmix_prob:
            mixed, targets, _ = cutmix(images, targets, lam, perm)
            return mixed, targets
        return mixup(images, targets, lam, perm)
