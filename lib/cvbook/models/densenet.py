"""DenseNet-121 (Huang et al., 2017): every layer sees every earlier layer.

Inside a dense block each layer receives the concatenation of all feature maps
before it and adds only `growth_rate` (k = 32) new channels. Features are reused
instead of re-learnt, so the layers can be narrow. Between blocks a transition
halves both the channels (1x1 conv) and the resolution (2x2 average pool).
DenseNet-121 = 1 stem conv + 2 x (6 + 12 + 24 + 16) dense-layer convs + 3 transition
convs + 1 classifier = 121 layers with weights.

Module names follow torchvision/models/densenet.py, so its state_dict loads as is.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import check_input, check_variant


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (to bn_size * k "bottleneck" channels), BN-ReLU-3x3 conv (to k).

    Takes the concatenated features of everything before it and returns only its
    k new channels; the block does the concatenating.
    """

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int = 4):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock(nn.ModuleDict):
    """`num_layers` DenseLayers; layer i sees in_channels + i * k channels.
    Output: in_channels + num_layers * k channels."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int = 4):
        super().__init__()
        for i in range(num_layers):
            self[f"denselayer{i + 1}"] = DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv (compress the channels) then 2x2 average pool (halve the size)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """features (stem, dense blocks and transitions, final BN) -> ReLU -> global pool -> Linear.

    `small_input=True` replaces the ImageNet stem (7x7 stride-2 conv, BN, ReLU, 3x3
    stride-2 max-pool: a quarter of the size gone at once) by one 3x3 stride-1 conv
    to 2k channels, as the paper does for CIFAR.
    """

    def __init__(self, growth_rate: int = 32, block_config=(6, 12, 24, 16), num_init_features: int = 64,
                 bn_size: int = 4, compression: float = 0.5, num_classes: int = 1000, in_chans: int = 3,
                 small_input: bool = False):
        super().__init__()
        self.features = nn.Sequential()
        if small_input:
            self.features.add_module("conv0", nn.Conv2d(in_chans, num_init_features, 3, padding=1, bias=False))
        else:
            self.features.add_module("conv0", nn.Conv2d(in_chans, num_init_features, 7, stride=2, padding=3,
                                                        bias=False))
            self.features.add_module("norm0", nn.BatchNorm2d(num_init_features))
            self.features.add_module("relu0", nn.ReLU(inplace=True))
            self.features.add_module("pool0", nn.MaxPool2d(3, stride=2, padding=1))
        channels = num_init_features
        for i, num_layers in enumerate(block_config):
            self.features.add_module(f"denseblock{i + 1}", DenseBlock(num_layers, channels, growth_rate, bn_size))
            channels += num_layers * growth_rate
            if i < len(block_config) - 1:
                out_channels = int(channels * compression)
                self.features.add_module(f"transition{i + 1}", Transition(channels, out_channels))
                channels = out_channels
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.features(x))
        return self.classifier(torch.flatten(self.avgpool(x), 1))


def densenet121(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
                **kwargs) -> DenseNet:
    """DenseNet-121 (k=32, blocks of 6, 12, 24, 16 layers). 'small': a 3x3 conv stem instead of
    7x7 + max-pool (as the Tiny ImageNet study does). 'imagenet': torchvision's densenet121 exactly."""
    check_variant("densenet121", variant)
    small = variant == "small"
    check_input("densenet121", img_size, in_chans, num_classes, min_size=8 if small else 32)
    return DenseNet(num_classes=num_classes, in_chans=in_chans, small_input=small, **kwargs)
