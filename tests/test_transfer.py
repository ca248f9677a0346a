"""cvbook.transfer: heads, freezing, discriminative learning rates, the fine-tuning loop."""

import pytest
import torch
from torch import nn

from cvbook.models import create_model, list_models
from cvbook.evaluate import accuracy
from cvbook.transfer import (discriminative_param_groups, fit, head_name, make_head, replace_head,
                             set_trainable, unfreeze)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids the cost of waking a second one on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


@pytest.mark.parametrize("name", list_models())
def test_head_is_the_output_layer_of_every_cvbook_model(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, in_chans=1, img_size=28).eval()
    head = model.get_submodule(head_name(model))
    assert head.out_features == 7
    new = replace_head(model, 4)
    assert new.in_features == head.in_features and new.out_features == 4
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 4)


def test_replace_head_mlp_and_errors():
    model = small_cnn()
    head = replace_head(model, 5, hidden=8, dropout=0.1)
    assert [type(m) for m in head] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert model[5] is head and model(torch.randn(2, 1, 6, 6)).shape == (2, 5)
    assert sum(p.numel() for p in make_head(4, 5, hidden=8).parameters()) == 4 * 8 + 8 + 8 * 5 + 5
    with pytest.raises(ValueError, match="num_classes"):
        replace_head(model, 0)
    with pytest.raises(ValueError, match="no nn.Linear"):
        head_name(nn.Sequential(nn.Conv2d(1, 1, 1)))


def test_set_trainable_freezes_all_but_the_prefixes():
    model = create_model("tiniest", num_classes=5, in_chans=1, img_size=28)
    kept = set_trainable(model, ("block6", "head"))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(name.startswith(("block6.", "head.")) for name in trainable)
    expected = sum(p.numel() for p in model.block6.parameters()) + sum(p.numel() for p in model.head.parameters())
    assert kept == expected
    with pytest.raises(ValueError, match="'blok6'"):
        set_trainable(model, ("blok6",))
    unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())


def test_discriminative_groups_decay_towards_the_input():
    model = small_cnn()
    set_trainable(model, ("1", "5"))  # BatchNorm and head; the conv stays frozen
    groups = discriminative_param_groups(model, lr=1.0, decay=0.5)
    assert [g["name"] for g in groups] == ["1", "5"]
    assert [g["lr"] for g in groups] == [0.5, 1.0]
    assert all(p.requires_grad for g in groups for p in g["params"])
    with pytest.raises(ValueError, match="decay"):
        discriminative_param_groups(model, lr=1.0, decay=0.0)


def test_fit_learns_and_leaves_frozen_parts_alone():
    torch.manual_seed(0)
    model = small_cnn()
    # a separable task: the class is which third of the image is bright
    labels = torch.arange(60) % 3
    images = torch.randn(60, 1, 6, 6) * 0.1
    for i, c in enumerate(labels):
        images[i, 0, 2 * c:2 * c + 2] += 2.0
    set_trainable(model, ("5",))
    conv_before = model[0].weight.clone()
    stats_before = model[1].running_mean.clone()
    before = accuracy(model, images, labels)
    losses = fit(model, images, labels, torch.optim.Adam(model[5].parameters(), lr=0.05), epochs=20,
                 batch_size=16)
    assert torch.equal(model[0].weight, conv_before)
    assert torch.equal(model[1].running_mean, stats_before)  # frozen BatchNorm keeps its statistics
    assert losses[-1] < losses[0]
    assert accuracy(model, images, labels) > max(before, 0.8)
    with pytest.raises(ValueError, match="labels"):
        fit(model, images, labels[:5], torch.optim.SGD(model.parameters(), lr=0.1), epochs=1)
