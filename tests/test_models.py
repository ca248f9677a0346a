"""Registry, shapes for the course's three input settings, clear errors, summary, parameter
table and the `cvbook models` command."""

from __future__ import annotations

import argparse
import re

import pytest
import torch

from cvbook.models import (MODELS, STUDY_PARAMS, count_parameters, create_model, format_parameter_table,
                           list_models, parameter_table, summary)
from cvbook.models import cli as models_cli

SETTINGS = {"fashion-mnist": (1, 28, 10), "cifar10": (3, 32, 10), "tiny-imagenet": (3, 64, 200)}
NAMES = ["tiniest", "alexnet", "vgg16", "resnet18", "densenet121", "efficientnet_b0", "vit_s16", "tiny_resnet"]
COURSE_OWN = {"tiniest", "tiny_resnet"}  # not in the Tiny ImageNet study's table


def test_list_models_names_every_architecture():
    assert list_models() == NAMES
    assert set(STUDY_PARAMS) == set(NAMES) - COURSE_OWN


@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("name", NAMES)
def test_forward_shape_for_each_input_setting(name, setting):
    in_chans, img_size, num_classes = SETTINGS[setting]
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, in_chans=in_chans, img_size=img_size)
    model.train()  # BatchNorm with batch statistics, dropout on: the training path runs too
    x = torch.randn(2, in_chans, img_size, img_size)
    backward = setting == "cifar10"  # once per model is enough (and keeps the file quick)
    with torch.set_grad_enabled(backward):
        out = model(x)
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()
    if backward:
        out.sum().backward()  # every parameter takes part in the forward pass
        unused = [n for n, p in model.named_parameters() if p.grad is None]
        assert not unused, f"parameters without gradient: {unused[:5]}"


def test_unknown_name_lists_the_available_models():
    with pytest.raises(ValueError, match="unknown model 'resnet19'.*resnet18.*vit_s16"):
        create_model("resnet19")


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown variant 'tiny'.*small.*imagenet"):
        create_model("resnet18", variant="tiny")


@pytest.mark.parametrize("name, kwargs, message", [
    ("vgg16", {"img_size": 8}, r"img_size=8 is too small.*>= 16"),
    ("alexnet", {"img_size": 12}, r"img_size=12 is too small.*>= 15"),
    ("alexnet", {"img_size": 32, "variant": "imagenet"}, r">= 63"),
    ("vit_s16", {"img_size": 30}, r"img_size=30 must be a multiple of 4 \(e.g. 28 or 32\)"),
    ("vit_s16", {"img_size": 72, "variant": "imagenet"}, r"multiple of 16"),
    ("vit_s16", {"img_size": 63, "patch_size": 3}, r"even patch_size"),
    ("resnet18", {"num_classes": 0}, r"num_classes must be a positive integer"),
    ("tiniest", {"in_chans": 2.5}, r"in_chans must be a positive integer"),
])
def test_impossible_inputs_get_a_clear_value_error(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_model(name, **kwargs)


def test_smallest_accepted_sizes_really_work():
    """The minimum sizes in the error messages are not over-cautious guesses."""
    for name, size in [("alexnet", 15), ("vgg16", 16), ("resnet18", 8), ("densenet121", 8),
                       ("efficientnet_b0", 16), ("tiniest", 8), ("vit_s16", 4), ("tiny_resnet", 8)]:
        model = create_model(name, img_size=size).eval()
        with torch.no_grad():
            assert model(torch.randn(1, 3, size, size)).shape == (1, 10), name


def test_tiny_resnet_is_the_headline_models_size_and_has_no_imagenet_variant():
    model = create_model("tiny_resnet", num_classes=10, in_chans=1, img_size=28)
    assert count_parameters(model) == 96_314  # under the Tiniest's 100K budget
    # stages of 16, 32 and 64 channels at 28, 14 and 7 pixels
    widths = [stage[0].conv1.out_channels for stage in model.stages]
    assert widths == [16, 32, 64]
    with pytest.raises(ValueError, match="no 'imagenet' variant"):
        create_model("tiny_resnet", variant="imagenet")
    with pytest.raises(ValueError, match="one entry per stage"):
        create_model("tiny_resnet", widths=(16, 32), blocks=(1, 1, 1))


def test_imagenet_variant_is_the_original_network():
    model = create_model("resnet18", variant="imagenet", num_classes=1000, img_size=224)
    assert model.conv1.kernel_size == (7, 7) and isinstance(model.maxpool, torch.nn.MaxPool2d)
    assert count_parameters(model) == 11_689_512  # ResNet-18 as published (torchvision's count)


def test_summary_rows_and_totals():
    model = create_model("resnet18", num_classes=10, in_chans=1, img_size=28)
    result = summary(model, (1, 1, 28, 28))
    assert result.rows[0].depth == 0 and result.rows[0].output_shape == (1, 10)
    assert result.total_params == result.trainable_params == count_parameters(model)
    # every parameter is owned by exactly one row (modules called twice, like the
    # shared ReLU, own none)
    assert sum(r.params for r in result.rows if r.type != "ReLU") == result.total_params
    fc = [r for r in result.rows if r.name == "fc"][0]
    assert fc.input_shape == (1, 512) and fc.output_shape == (1, 10) and fc.params == 512 * 10 + 10
    stem = [r for r in result.rows if r.name == "conv1"][0]
    assert stem.output_shape == (1, 64, 28, 28)  # the small variant keeps full resolution
    # multiply-adds of the 3x3 stem alone: 64 filters x 9 weights x 28 x 28 positions
    assert result.mult_adds > 64 * 9 * 28 * 28
    # at the cut-off depth a row stands for everything inside it
    assert sum(r.params_total for r in result.rows if r.depth == 1) == result.total_params
    text = result.table(max_depth=1)
    layer4 = [r for r in result.rows if r.name == "layer4"][0]
    assert re.search(r"Sequential: 1-8 +\[1, 512, 4, 4\] +" + f"{layer4.params_total:,}\n", text)
    assert "├─Conv2d: 1-1" in text and f"Total params: {result.total_params:,}" in text
    assert "BasicBlock: 2-" not in text  # deeper rows left out


def test_summary_mult_adds_of_a_single_linear_layer():
    layer = torch.nn.Linear(20, 30)
    assert summary(layer, (4, 20)).mult_adds == 4 * 20 * 30


def test_summary_restores_training_mode_and_reports_bad_input():
    model = create_model("tiniest").train()
    summary(model, (1, 3, 32, 32))
    assert model.training
    with pytest.raises(ValueError, match="cannot take an input of size"):
        summary(model, (1, 5, 32, 32))
    with pytest.raises(ValueError, match="input_size must be a tuple of positive integers"):
        summary(model, (1, 3, 0, 32))
    assert model.training


def test_parameter_table_cvbook_column_is_the_models_count():
    rows = parameter_table(img_size=64, num_classes=200)
    assert [r["name"] for r in rows] == [n for n in NAMES if n not in COURSE_OWN]
    for row in rows:
        model = create_model(row["name"], num_classes=200, in_chans=3, img_size=64)
        assert row["cvbook"] == count_parameters(model), row["name"]
        assert row["study"] == STUDY_PARAMS[row["name"]][1]
        assert row["note"]
        # a "Matches" note means the same count to the seed's precision (0.1M)
        if row["note"].startswith("Matches"):
            assert round(row["cvbook"] / 1e6, 1) == row["study"] / 1e6, row["name"]
    markdown = format_parameter_table(rows)
    assert markdown.count("\n") == len(rows) + 1 and "| ResNet-18 | 11.27M | 11.3M |" in markdown


def test_parameter_table_follows_the_requested_classes():
    small = {r["name"]: r["cvbook"] for r in parameter_table(img_size=32, num_classes=10)}
    assert small["resnet18"] == count_parameters(create_model("resnet18", num_classes=10, img_size=32))


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cvbook")
    models_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_and_summary(capsys):
    assert run_cli(["models", "list"]) == 0
    listed = capsys.readouterr().out.split("\n")
    assert [line.split()[0] for line in listed if line] == NAMES
    assert run_cli(["models", "summary", "tiniest", "--img-size", "28", "--in-chans", "1"]) == 0
    out = capsys.readouterr().out
    assert "Tiniest" in out and f"Total params: {count_parameters(create_model('tiniest', in_chans=1)):,}" in out
    assert "[1, 48, 28, 28]" in out


def test_cvbook_command_knows_models():
    from cvbook.cli import SUBCOMMANDS

    assert SUBCOMMANDS["models"] == "cvbook.models.cli"
    assert set(MODELS) == set(NAMES)
    from cvbook.models.registry import DESCRIPTIONS

    assert set(DESCRIPTIONS) == set(MODELS)


def test_parameter_table_explanations_hold():
    """The notes' arithmetic, checked with cvbook's own blocks."""
    from torch import nn

    from cvbook.models.densenet import DenseBlock, Transition
    from cvbook.models.efficientnet import B0_STAGES, EfficientNet

    # EfficientNet-B0 with the seed project's larger depthwise kernels gives its 4.5M.
    larger = [(e, {3: 5, 5: 7}[k], s, i, o, n) for e, k, s, i, o, n in B0_STAGES]
    assert round(count_parameters(EfficientNet(larger, num_classes=200)) / 1e6, 1) == 4.5
    # The seed project's slimmed DenseNet (three-conv stem, 6-8-12-8 layers) gives its 2.2M.
    stem = [nn.Conv2d(3, 32, 3, bias=False), nn.BatchNorm2d(32), nn.Conv2d(32, 48, 3, bias=False),
            nn.BatchNorm2d(48), nn.Conv2d(48, 48, 3, bias=False), nn.BatchNorm2d(48)]
    body = [DenseBlock(6, 48, 20), Transition(168, 84), DenseBlock(8, 84, 24), Transition(276, 166),
            DenseBlock(12, 166, 28), Transition(502, 351), DenseBlock(8, 351, 28), nn.BatchNorm2d(575),
            nn.Linear(575, 200)]
    assert round(count_parameters(nn.Sequential(*stem, *body)) / 1e6, 1) == 2.2
    # DenseNet-121's feature extractor alone is far above 2.2M.
    features = create_model("densenet121", num_classes=200, img_size=64).features
    assert round(count_parameters(features) / 1e6, 2) == 6.95
    # AlexNet as published.
    assert count_parameters(create_model("alexnet", variant="imagenet", num_classes=1000, img_size=224)) == 61_100_840
