"""VGG-16 (Simonyan & Zisserman, 2014): depth from stacked 3x3 convolutions.

Two 3x3 convolutions see as far as one 5x5, three as far as one 7x7, with fewer
weights and more non-linearities. VGG is nothing but that idea, repeated: blocks of
3x3 convs (64, 128, 256, 512, 512 channels) separated by 2x2 max-pools.

Module names follow torchvision/models/vgg.py (`features`, `avgpool`, `classifier`).
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import check_input, check_variant

# Configuration "D" of the paper: numbers are 3x3 conv widths, "M" a 2x2 max-pool.
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def make_features(cfg, in_chans: int, batch_norm: bool) -> nn.Sequential:
    """3x3 conv (padding 1, so the size stays) [-> BatchNorm] -> ReLU, or a 2x2 max-pool."""
    layers: list[nn.Module] = []
    for item in cfg:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_chans, item, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(item))
        layers.append(nn.ReLU(inplace=True))
        in_chans = item
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """features -> avgpool -> flatten -> classifier.

    `gap_head=False` is the original: average-pool to 7x7 and three fully connected
    layers (4096, 4096, classes), 124M of VGG-16's 138M parameters. `gap_head=True`
    (the Tiny ImageNet study's) averages each of the 512 channels over the whole map and classifies
    with a single Linear layer: 0.1M parameters for 200 classes.
    """

    def __init__(self, cfg=VGG16, num_classes: int = 1000, in_chans: int = 3, batch_norm: bool = True,
                 gap_head: bool = False, dropout: float = 0.5):
        super().__init__()
        self.features = make_features(cfg, in_chans, batch_norm)
        width = [c for c in cfg if c != "M"][-1]
        if gap_head:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(width, num_classes)
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(7)
            self.classifier = nn.Sequential(
                nn.Linear(width * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
                nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
                nn.Linear(4096, num_classes),
            )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def vgg16(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
          **kwargs) -> VGG:
    """VGG-16 with BatchNorm. 'small' (the Tiny ImageNet study's): global-average-pool head, and the fifth
    max-pool is left out (the global pool follows right away, and 28 px inputs would
    shrink to nothing after five halvings). 'imagenet': torchvision's vgg16_bn exactly."""
    check_variant("vgg16", variant)
    if variant == "small":
        check_input("vgg16", img_size, in_chans, num_classes, min_size=16)
        return VGG(VGG16[:-1], num_classes, in_chans, batch_norm=True, gap_head=True, **kwargs)
    check_input("vgg16", img_size, in_chans, num_classes, min_size=32)
    return VGG(VGG16, num_classes, in_chans, batch_norm=True, **kwargs)
