"""EfficientNet-B0 (Tan & Le, 2019): a searched mobile network, scaled with care.

B0's stages are built from MBConv blocks (MobileNetV2's inverted residual with
squeeze-and-excitation): expand the channels with a 1x1 conv (6x in stages 2-7; the
first stage has expand ratio 1 and skips it), filter each channel on its own with a
depthwise conv, reweight the channels (SE), project back down with a 1x1 conv. The paper's other idea, compound scaling, grows depth, width and input
resolution together to get B1-B7 from B0.

Submodules have readable names (expand, depthwise, se, project); `torchvision_key`
maps torchvision's positional names (features.2.0.block.1.0.weight, ...) to them.
Stochastic depth is left out (it only acts during training).
"""

from __future__ import annotations

import re

import torch
from torch import nn

from .layers import check_input, check_variant

# One row per stage: (expand_ratio, kernel, stride, in_channels, out_channels, num_blocks)
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias: BN has one) -> BatchNorm2d -> activation (SiLU unless None)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1, activation: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=(kernel_size - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.SiLU(inplace=True) if activation else nn.Identity()


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al., 2018): squeeze each channel to its mean, pass the
    vector through a small bottleneck MLP (1x1 convs), and scale every channel by the
    resulting sigmoid gate in (0, 1). The network learns which channels matter for *this* image."""

    def __init__(self, channels: int, squeeze_channels: int):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = nn.SiLU(inplace=True)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return x * scale


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand (skipped when expand_ratio = 1) -> k x k depthwise
    (carries the stride) -> SE (squeezing to in_channels / 4) -> 1x1 project, no activation.
    The skip connection is used when the shapes allow it (stride 1, same width)."""

    def __init__(self, in_channels: int, out_channels: int, expand_ratio: int, kernel_size: int,
                 stride: int = 1, se_ratio: float = 0.25):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand = ConvBNAct(in_channels, hidden, 1) if expand_ratio != 1 else None
        self.depthwise = ConvBNAct(hidden, hidden, kernel_size, stride=stride, groups=hidden)
        self.se = SqueezeExcitation(hidden, max(1, int(in_channels * se_ratio)))
        self.project = ConvBNAct(hidden, out_channels, 1, activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.se(self.depthwise(out)))
        return out + x if self.use_residual else out


class EfficientNet(nn.Module):
    """features (stem, 7 MBConv stages, 1x1 conv to 1280) -> global pool -> dropout -> Linear."""

    def __init__(self, stages=B0_STAGES, num_classes: int = 1000, in_chans: int = 3,
                 last_channels: int = 1280, dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = [ConvBNAct(in_chans, stages[0][3], 3, stride=2)]
        for expand_ratio, kernel, stride, c_in, c_out, blocks in stages:
            stage = [MBConv(c_in if i == 0 else c_out, c_out, expand_ratio, kernel, stride if i == 0 else 1)
                     for i in range(blocks)]
            layers.append(nn.Sequential(*stage))
        layers.append(ConvBNAct(stages[-1][4], last_channels, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier(x)


def torchvision_key(model: EfficientNet, key: str) -> str:
    """Name in `model` of torchvision's EfficientNet parameter/buffer `key`."""
    match = re.match(r"^features\.(\d+)\.(\d+)\.block\.(\d+)\.(.*)$", key)
    if not match:  # stem and head: Conv2dNormActivation's 0 and 1 are conv and bn
        key = re.sub(r"^features\.(\d+)\.0\.", r"features.\1.conv.", key)
        return re.sub(r"^features\.(\d+)\.1\.", r"features.\1.bn.", key)
    stage, index, position, rest = match.groups()
    block = model.features[int(stage)][int(index)]
    parts = (["expand"] if block.expand is not None else []) + ["depthwise", "se", "project"]
    rest = re.sub(r"^0\.", "conv.", re.sub(r"^1\.", "bn.", rest))
    return f"features.{stage}.{index}.{parts[int(position)]}.{rest}"


def efficientnet_b0(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
                    **kwargs) -> EfficientNet:
    """EfficientNet-B0. The Tiny ImageNet study lists no change to it but the standard
    classifier dropout, so 'small' and 'imagenet' are the same network (torchvision's
    efficientnet_b0): no adaptation to small inputs. Its five stride-2 steps divide the
    side by 32, so a 28 or 32 px image leaves a 1x1 last feature map (2x2 at 64 px)."""
    check_variant("efficientnet_b0", variant)
    check_input("efficientnet_b0", img_size, in_chans, num_classes, min_size=16)
    return EfficientNet(num_classes=num_classes, in_chans=in_chans, **kwargs)
