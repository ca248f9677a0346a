"""TinyResNet: the course's headline Fashion-MNIST model, 96,314 parameters.

The Tiniest (xvel/cifar10-tiniest) shows how far 97,530 parameters go on CIFAR-10, but its blocks
are many small memory-bound operations (LayerNorm over permuted tensors, chunks,
dilated depthwise convolutions): on this course's 2-core CPU it trains at a few
hundred images per second. TinyResNet spends the same parameter budget on plain
3x3 convolutions with BatchNorm (ResNet-18's BasicBlock, made narrow), which oneDNN
runs at thousands of images per second in bfloat16 and channels_last. A stem at full
resolution, then stages of 16, 32 and 64 channels at 28, 14 and 7 pixels.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import check_input, check_variant
from .resnet import BasicBlock


class TinyResNet(nn.Module):
    """Stem (3x3 conv, BN, ReLU), one stage of BasicBlocks per width (every stage after
    the first starts with a stride-2 block), global average pool, Linear."""

    def __init__(self, num_classes: int = 10, in_chans: int = 1, widths=(16, 32, 64), blocks=(1, 2, 1)):
        super().__init__()
        if len(widths) != len(blocks) or min(blocks) < 1:
            raise ValueError(f"TinyResNet: widths {widths} and blocks {blocks} need one entry per "
                             f"stage and at least one block each")
        self.stem = nn.Sequential(nn.Conv2d(in_chans, widths[0], 3, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        stages, width = [], widths[0]
        for i, (out, n) in enumerate(zip(widths, blocks)):
            stage = [BasicBlock(width, out, stride=1 if i == 0 else 2)]
            stage += [BasicBlock(out, out) for _ in range(n - 1)]
            stages.append(nn.Sequential(*stage))
            width = out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.head(torch.flatten(self.pool(x), 1))


def tiny_resnet(num_classes: int = 10, in_chans: int = 1, img_size: int = 28, variant: str = "small",
                **kwargs) -> TinyResNet:
    """TinyResNet for small images (28-64 px); 'imagenet' is refused rather than faked."""
    check_variant("tiny_resnet", variant)
    if variant == "imagenet":
        raise ValueError("tiny_resnet has no 'imagenet' variant: it is the course's own small-image model")
    check_input("tiny_resnet", img_size, in_chans, num_classes, min_size=8)
    return TinyResNet(num_classes=num_classes, in_chans=in_chans, **kwargs)
