"""Small layers and checks shared by several architectures."""

from __future__ import annotations

import torch
from torch import nn


class LayerNorm2d(nn.Module):
    """LayerNorm over the channels of an image tensor (N, C, H, W).

    `nn.LayerNorm(C)` normalises the *last* dimension, so we move channels last,
    normalise every pixel's C values on their own, and move them back. Unlike
    BatchNorm it does not depend on the other images in the batch, which is why
    ConvNeXt-style networks (and the Tiniest) use it.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5):
        super().__init__()
        self.norm = nn.LayerNorm(num_channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)  # N, H, W, C
        x = self.norm(x)
        return x.permute(0, 3, 1, 2)  # back to N, C, H, W


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalars in the model's parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def check_input(name: str, img_size: int, in_chans: int, num_classes: int, min_size: int,
                multiple_of: int = 1) -> None:
    """Raise a ValueError that says what is possible when a model cannot take this input."""
    for label, value in (("img_size", img_size), ("in_chans", in_chans), ("num_classes", num_classes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")
    if img_size < min_size:
        raise ValueError(
            f"{name}: img_size={img_size} is too small for its downsampling; "
            f"it needs img_size >= {min_size}")
    if img_size % multiple_of:
        raise ValueError(
            f"{name}: img_size={img_size} must be a multiple of {multiple_of} "
            f"(e.g. {multiple_of * max(1, img_size // multiple_of)} or "
            f"{multiple_of * (img_size // multiple_of + 1)})")


def check_variant(name: str, variant: str) -> None:
    if variant not in ("small", "imagenet"):
        raise ValueError(f"{name}: unknown variant {variant!r}; choose 'small' (inputs of 28-64 px, "
                         f"after the Tiny ImageNet study) or 'imagenet' (the original 224 px network)")
