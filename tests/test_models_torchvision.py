"""cvbook's architectures in their ImageNet configuration are torchvision's networks:
the same state_dict loads, and the outputs agree within 1e-5 (eval mode, random init)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision import models as tv
from torchvision.models.vision_transformer import VisionTransformer as TorchvisionViT

from cvbook.models import create_model
from cvbook.models import efficientnet, vit

TOLERANCE = 1e-5


def randomise_batchnorm(model: nn.Module) -> None:
    """Non-trivial BN statistics and affine parameters, so eval-mode BN is not an identity."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)


def assert_same_network(ours: nn.Module, theirs: nn.Module, img_size: int, rename=lambda key: key) -> None:
    randomise_batchnorm(theirs)
    state = {rename(key): value for key, value in theirs.state_dict().items()}
    ours.load_state_dict(state, strict=True)  # every tensor has a home, with the same shape
    ours.eval(), theirs.eval()
    x = torch.randn(2, 3, img_size, img_size)
    with torch.no_grad():
        expected, actual = theirs(x), ours(x)
    assert actual.shape == expected.shape == (2, 1000)
    assert expected.abs().max() > 1e-3  # a meaningful comparison, not two zero tensors
    difference = (actual - expected).abs().max().item()
    assert difference <= TOLERANCE, f"max |cvbook - torchvision| = {difference:.2e}"


@pytest.mark.parametrize("name, builder, img_size", [
    ("alexnet", tv.alexnet, 64),
    ("vgg16", tv.vgg16_bn, 32),
    ("resnet18", tv.resnet18, 32),
    ("densenet121", tv.densenet121, 32),
])
def test_same_names_as_torchvision(name, builder, img_size):
    torch.manual_seed(0)
    theirs = builder(weights=None)
    ours = create_model(name, variant="imagenet", num_classes=1000, img_size=img_size)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    assert_same_network(ours, theirs, img_size)


def test_efficientnet_b0_matches_torchvision_after_renaming():
    torch.manual_seed(0)
    theirs = tv.efficientnet_b0(weights=None)
    ours = create_model("efficientnet_b0", variant="imagenet", num_classes=1000, img_size=32)
    assert_same_network(ours, theirs, 32, rename=lambda key: efficientnet.torchvision_key(ours, key))


def test_vit_s16_matches_torchvision_vision_transformer_after_renaming():
    torch.manual_seed(0)
    theirs = TorchvisionViT(image_size=64, patch_size=16, num_layers=12, num_heads=6, hidden_dim=384,
                            mlp_dim=1536, num_classes=1000)
    ours = create_model("vit_s16", variant="imagenet", num_classes=1000, img_size=64)
    with torch.no_grad():  # torchvision starts the class token and the head at zero: make them count
        theirs.class_token.normal_()
        theirs.heads.head.weight.normal_(0, 0.02)
    assert_same_network(ours, theirs, 64, rename=vit.torchvision_key)


def test_torchvision_weights_would_not_load_into_the_small_variants():
    """The small variants really are different networks (3x3 stems, GAP heads, ...)."""
    theirs = tv.resnet18(weights=None).state_dict()
    ours = create_model("resnet18", num_classes=1000, img_size=32)
    with pytest.raises(RuntimeError, match="size mismatch"):
        ours.load_state_dict(theirs)
