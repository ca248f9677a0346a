"""ResNet-18 (He et al., 2015): deep networks that learn residuals.

A plain stack of layers gets *worse* as it gets deeper, even on the training set:
the optimiser struggles to make extra layers act as the identity. A residual block
computes `relu(x + F(x))`, so doing nothing means F = 0, which is easy, and the
gradient has a direct path back through every skip connection.

Module names follow torchvision/models/resnet.py, so torchvision's state_dict loads as is.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import check_input, check_variant


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers plus a skip connection: out = relu(F(x) + shortcut(x)).

    When the block halves the resolution (stride 2) or changes the width, the
    shortcut becomes a strided 1x1 conv + BN ("projection") so the shapes agree.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem, four stages of BasicBlocks (64, 128, 256, 512 channels; every stage after
    the first starts with a stride-2 block), global average pool, dropout, Linear.

    `small_input=True` is the adaptation for 28-64 px images: a 3x3 stride-1 stem and
    no max-pool, so a 64 px image still has 8x8 positions in the last stage instead
    of 2x2. ImageNet's stem (7x7 stride 2 + max-pool) divides the size by 4 at once.
    """

    def __init__(self, layers=(2, 2, 2, 2), num_classes: int = 1000, in_chans: int = 3,
                 small_input: bool = False, dropout: float = 0.0):
        super().__init__()
        if small_input:
            self.conv1 = nn.Conv2d(in_chans, 64, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_stage(64, 64, layers[0], stride=1)
        self.layer2 = self._make_stage(64, 128, layers[1], stride=2)
        self.layer3 = self._make_stage(128, 256, layers[2], stride=2)
        self.layer4 = self._make_stage(256, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(512, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _make_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
        stage = [BasicBlock(in_channels, out_channels, stride)]
        stage += [BasicBlock(out_channels, out_channels) for _ in range(blocks - 1)]
        return nn.Sequential(*stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def resnet18(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
             dropout: float | None = None, **kwargs) -> ResNet:
    """ResNet-18. 'small': 3x3 stem, no max-pool, dropout 0.5 before the classifier (as the
    Tiny ImageNet study does). 'imagenet': torchvision's resnet18 exactly."""
    check_variant("resnet18", variant)
    small = variant == "small"
    check_input("resnet18", img_size, in_chans, num_classes, min_size=8 if small else 32)
    if dropout is None:
        dropout = 0.5 if small else 0.0
    return ResNet((2, 2, 2, 2), num_classes, in_chans, small_input=small, dropout=dropout, **kwargs)
