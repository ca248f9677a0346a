"""`create_model("resnet18", num_classes=10)`: every architecture by name.

A plain dictionary from name to builder function; each builder takes
(num_classes, in_chans, img_size, variant, **kwargs), checks that the input is
possible and returns an `nn.Module`.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from .alexnet import alexnet
from .densenet import densenet121
from .efficientnet import efficientnet_b0
from .resnet import resnet18
from .tiniest import tiniest
from .tiny_resnet import tiny_resnet
from .vgg import vgg16
from .vit import vit_s16

MODELS: dict[str, Callable[..., nn.Module]] = {
    "tiniest": tiniest,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "densenet121": densenet121,
    "efficientnet_b0": efficientnet_b0,
    "vit_s16": vit_s16,
    "tiny_resnet": tiny_resnet,
}

# One line each for `cvbook models list`.
DESCRIPTIONS = {
    "tiniest": "the Tiniest (xvel/cifar10-tiniest): 97,530 parameters, 94.6 % on CIFAR-10 per its model card",
    "alexnet": "AlexNet (2012): deep CNN with ReLU and dropout",
    "vgg16": "VGG-16 with BatchNorm (2014): stacked 3x3 convolutions",
    "resnet18": "ResNet-18 (2015): residual connections",
    "densenet121": "DenseNet-121 (2017): dense connectivity, feature reuse",
    "efficientnet_b0": "EfficientNet-B0 (2019): MBConv blocks with squeeze-and-excitation",
    "vit_s16": "ViT-S/16 (2020): Vision Transformer, self-attention over patches",
    "tiny_resnet": "TinyResNet: the course's 96K-parameter headline model for Fashion-MNIST on a CPU",
}


def list_models() -> list[str]:
    """Names accepted by `create_model`, in historical order (Tiniest first)."""
    return list(MODELS)


def create_model(name: str, num_classes: int = 10, in_chans: int = 3, img_size: int = 32,
                 variant: str = "small", **kwargs) -> nn.Module:
    """Build the architecture `name` for images of in_chans x img_size x img_size.

    variant="small" (default) is the adaptation to 28-64 px images of a six-architecture
    study on Tiny ImageNet-200 (EfficientNet-B0 is not adapted: its two variants are the
    same network); variant="imagenet" is the original 224 px network, identical to
    torchvision's.
    Raises ValueError for an unknown name or an input the network cannot take.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available models: {', '.join(MODELS)}")
    return MODELS[name](num_classes=num_classes, in_chans=in_chans, img_size=img_size, variant=variant, **kwargs)
