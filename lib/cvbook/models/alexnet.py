"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012): the network that started it all.

Five convolutions and three fully connected layers, trained on two GPUs with ReLU
(instead of tanh, so it trains several times faster), dropout against overfitting
and heavy data augmentation. It won ImageNet 2012 by a margin of ten points.

Module names follow torchvision/models/alexnet.py (`features`, `avgpool`, `classifier`).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import check_input, check_variant

# (out_channels, kernel, stride, padding, max-pool after?)
IMAGENET_CONVS = [(64, 11, 4, 2, True), (192, 5, 1, 2, True), (384, 3, 1, 1, False),
                  (256, 3, 1, 1, False), (256, 3, 1, 1, True)]
# The Tiny ImageNet study's adaptation: same widths, 3x3 kernels at stride 1 (a 64 px image
# cannot afford 11x11/4).
SMALL_CONVS = [(64, 3, 1, 1, True), (192, 3, 1, 1, True), (384, 3, 1, 1, False),
               (256, 3, 1, 1, False), (256, 3, 1, 1, True)]


def make_features(convs, in_chans: int, batch_norm: bool) -> nn.Sequential:
    """conv [-> BatchNorm] -> ReLU [-> 3x3 max-pool, stride 2] for each entry of `convs`."""
    layers: list[nn.Module] = []
    for out_channels, kernel, stride, padding, pool in convs:
        layers.append(nn.Conv2d(in_chans, out_channels, kernel, stride=stride, padding=padding))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        if pool:
            layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
        in_chans = out_channels
    return nn.Sequential(*layers)


def feature_size(convs, img_size: int) -> int:
    """Side of the last feature map: follow the size through every conv and pool."""
    size = img_size
    for _, kernel, stride, padding, pool in convs:
        size = (size + 2 * padding - kernel) // stride + 1
        if pool:
            size = (size - 3) // 2 + 1
    return size


class AlexNet(nn.Module):
    """features -> avgpool -> flatten -> classifier (dropout, Linear, ReLU, ..., Linear).

    `pool_size`: the ImageNet net average-pools to 6x6 whatever the input; the small
    net (pool_size=None) flattens its feature map as it is, so its first Linear
    layer grows with the image: 256 x 7 x 7 inputs at 64 px.
    """

    def __init__(self, convs=IMAGENET_CONVS, num_classes: int = 1000, in_chans: int = 3,
                 batch_norm: bool = False, hidden=(4096, 4096), img_size: int = 224,
                 pool_size: int | None = 6, dropout: float = 0.5):
        super().__init__()
        self.features = make_features(convs, in_chans, batch_norm)
        if pool_size is None:
            self.avgpool = nn.Identity()
            side = feature_size(convs, img_size)
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(pool_size)
            side = pool_size
        width = convs[-1][0] * side * side
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(width, hidden[0]), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden[0], hidden[1]), nn.ReLU(inplace=True),
            nn.Linear(hidden[1], num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
            **kwargs) -> AlexNet:
    """AlexNet. 'small' (the Tiny ImageNet study's): 3x3 stride-1 convs, BatchNorm after every conv, hidden
    layers of 1024 and 512 units. 'imagenet': torchvision's alexnet exactly."""
    check_variant("alexnet", variant)
    if variant == "small":
        check_input("alexnet", img_size, in_chans, num_classes, min_size=15)
        return AlexNet(SMALL_CONVS, num_classes, in_chans, batch_norm=True, hidden=(1024, 512),
                       img_size=img_size, pool_size=None, **kwargs)
    check_input("alexnet", img_size, in_chans, num_classes, min_size=63)
    return AlexNet(IMAGENET_CONVS, num_classes, in_chans, img_size=img_size, **kwargs)
