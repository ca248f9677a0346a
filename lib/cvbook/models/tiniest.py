"""The "Tiniest": a published 97,530-parameter CIFAR-10 network, rebuilt.

The network is github.com/xvel/cifar10-tiniest (whose author credits
github.com/soyflourbread/cifar10-tiny). Its model card on Hugging Face (ego-thales/tiniest)
reports 94.6 % test accuracy (98.7 % on the training set) on CIFAR-10 after 300 epochs.

Two stages of three blocks (48 then 80 channels), ConvNeXt-like: mix space with
cheap depthwise convolutions on a quarter of the channels each, normalise, then mix
channels with 1x1 convolutions and a gated activation. Residuals carry a learned
per-channel scale. The model card's torchinfo layer table is the specification: a test
compares this module with it row by row.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import LayerNorm2d, check_input, check_variant


class TiniestBlock(nn.Module):
    """One residual block of the Tiniest, `dim` channels in and out.

    Token mixing: split the channels into four quarters. The first passes as it is,
    the second sees a 3x3 neighbourhood, the third 7x7, the fourth (after a 3x3
    average) a dilated 7x7 that spans 19x19 pixels. Each depthwise convolution costs
    only k*k weights per channel, so four receptive fields are almost free.

    Channel mixing: LayerNorm, a 1x1 conv to 2*dim split into a and b, the gate
    tanh(exp(a)) * a * b, then a 1x1 conv back to dim.
    """

    def __init__(self, dim: int):
        super().__init__()
        if dim % 4:
            raise ValueError(f"TiniestBlock: dim must be divisible by 4, got {dim}")
        q = dim // 4
        self.rs = nn.Parameter(torch.ones(1, dim, 1, 1))  # per-channel residual scale
        self.conv3 = nn.Conv2d(q, q, 3, padding=1, groups=q)
        self.conv7 = nn.Conv2d(q, q, 7, padding=3, groups=q)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1)
        self.conv7_dilated = nn.Conv2d(q, q, 7, padding=9, dilation=3, groups=q)
        self.norm = LayerNorm2d(dim)
        self.fc1 = nn.Conv2d(dim, 2 * dim, 1)
        self.fc2 = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x0, x1, x2, x3 = x.chunk(4, dim=1)
        x1 = self.conv3(x1)
        x2 = self.conv7(x2)
        x3 = self.conv7_dilated(self.pool(x3))
        y = self.norm(torch.cat([x0, x1, x2, x3], dim=1))
        a, b = self.fc1(y).chunk(2, dim=1)
        y = self.fc2(torch.tanh(torch.exp(a)) * a * b)
        return y + x * self.rs


class Tiniest(nn.Module):
    """Stem (3x3 conv + LayerNorm2d), 3 blocks at `widths[0]`, a strided grouped 4x4
    conv that halves the resolution, 3 blocks at `widths[1]`, global average pool, Linear.

    The layers are direct attributes (not nested Sequentials) so that the layer table
    reads exactly like the model card's torchinfo table.
    """

    def __init__(self, num_classes: int = 10, in_chans: int = 3, widths: tuple[int, int] = (48, 80)):
        super().__init__()
        w1, w2 = widths
        self.stem = nn.Conv2d(in_chans, w1, 3, padding=1)
        self.stem_norm = LayerNorm2d(w1)
        self.block1 = TiniestBlock(w1)
        self.block2 = TiniestBlock(w1)
        self.block3 = TiniestBlock(w1)
        # groups=16: each group of 3 input channels makes 5 output channels.
        self.down = nn.Conv2d(w1, w2, 4, stride=2, padding=1, groups=16)
        self.down_norm = LayerNorm2d(w2)
        self.block4 = TiniestBlock(w2)
        self.block5 = TiniestBlock(w2)
        self.block6 = TiniestBlock(w2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(w2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_norm(self.stem(x))
        x = self.block3(self.block2(self.block1(x)))
        x = self.down_norm(self.down(x))
        x = self.block6(self.block5(self.block4(x)))
        return self.head(torch.flatten(self.pool(x), 1))


def tiniest(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
            **kwargs) -> Tiniest:
    """The Tiniest. It was designed for small images, so the 'imagenet' variant is the same net."""
    check_variant("tiniest", variant)
    check_input("tiniest", img_size, in_chans, num_classes, min_size=8)
    return Tiniest(num_classes=num_classes, in_chans=in_chans, **kwargs)
