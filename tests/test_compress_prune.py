"""Unstructured pruning (exact sparsity, permanent), sizes on disk, and channel pruning."""

import copy
import gzip

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from cvbook.compress.prune import (
    count_nonzero_parameters,
    format_sparsity_report,
    is_pruned,
    make_permanent,
    prune_global,
    prune_per_layer,
    sparsity_report,
)
from cvbook.compress.size import (
    compressed_size,
    from_sparse_state_dict,
    load_compressed,
    save_compressed,
    size_on_disk,
    size_report,
    to_sparse_state_dict,
)

from nets import residual_cnn


def small_cnn(width=16):
    return residual_cnn(width)


def layers(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize("amount", [0.3, 0.5, 0.77])
def test_per_layer_pruning_zeroes_exactly_that_share_of_every_layer(amount):
    model = prune_per_layer(small_cnn(), amount)
    report = sparsity_report(model)
    for name, module in layers(model):
        n = module.weight.numel()
        assert report[name]["zeros"] == round(amount * n), name
        assert int((module.weight == 0).sum()) == round(amount * n)
    assert report["total"]["weights"] == sum(m.weight.numel() for _, m in layers(model))


def test_per_layer_pruning_removes_the_smallest_magnitudes():
    model = small_cnn()
    before = copy.deepcopy(model)
    prune_per_layer(model, 0.4)
    for (name, pruned), (_, original) in zip(layers(model), layers(before)):
        w = original.weight.detach().abs().flatten()
        zeroed = pruned.weight.detach().flatten() == 0
        # every removed weight is no larger than every kept one
        assert w[zeroed].max() <= w[~zeroed].min(), name
        assert torch.equal(pruned.weight[pruned.weight != 0], original.weight[pruned.weight != 0])


def test_global_pruning_has_exact_total_sparsity_and_uneven_layers():
    model = small_cnn()
    # make one layer's weights much larger: a global threshold must spare it
    with torch.no_grad():
        model[0].weight.mul_(100)
    prune_global(model, 0.5)
    report = sparsity_report(model)
    total = report["total"]["weights"]
    assert report["total"]["zeros"] == round(0.5 * total)
    assert report["0"]["sparsity"] == 0.0
    assert max(r["sparsity"] for r in report.values()) > 0.5


def test_permanent_pruning_leaves_a_plain_model_of_the_same_shape():
    model = small_cnn()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    x = torch.randn(2, 1, 28, 28)
    prune_global(model, 0.3)
    assert not is_pruned(model)
    assert {k: v.shape for k, v in model.state_dict().items()} == shapes
    for module in model.modules():
        assert not module._forward_pre_hooks and not module._forward_hooks
        assert not hasattr(module, "weight_orig") and not hasattr(module, "weight_mask")
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            assert isinstance(module.weight, nn.Parameter)
    assert model(x).shape == (2, 10)


def test_non_permanent_pruning_keeps_masks_until_made_permanent():
    model = prune_per_layer(small_cnn(), 0.5, permanent=False)
    assert is_pruned(model) and hasattr(model[0], "weight_mask")
    zeros = sparsity_report(model)["total"]["zeros"]
    make_permanent(model)
    assert not is_pruned(model) and sparsity_report(model)["total"]["zeros"] == zeros


def test_channels_last_model_is_pruned_and_stays_channels_last():
    model = small_cnn().to(memory_format=torch.channels_last)
    with pytest.raises(RuntimeError, match="view size"):  # the trap in torch's own function
        torch_prune.global_unstructured(
            [(m, "weight") for _, m in layers(copy.deepcopy(model))], torch_prune.L1Unstructured, amount=0.3)
    prune_global(model, 0.3)
    assert sparsity_report(model)["total"]["sparsity"] == pytest.approx(0.3, abs=1e-3)
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_bad_amount_is_refused():
    for bad in (-0.1, 1.5, "half"):
        with pytest.raises(ValueError, match="amount"):
            prune_global(small_cnn(), bad)
    with pytest.raises(ValueError, match="no layers"):
        prune_global(nn.Sequential(nn.ReLU()), 0.3)


def test_report_text_and_nonzero_count():
    model = prune_per_layer(small_cnn(), 0.5)
    text = format_sparsity_report(sparsity_report(model))
    assert "total" in text and "50.0%" in text
    all_params = sum(p.numel() for p in model.parameters())
    assert count_nonzero_parameters(model) < all_params


# -- sizes on disk ---------------------------------------------------------------------------

def test_pruning_alone_does_not_shrink_the_file_but_sparse_storage_and_gzip_do():
    dense = small_cnn(32)
    pruned = prune_global(copy.deepcopy(dense), 0.8)
    assert abs(size_on_disk(pruned) - size_on_disk(dense)) < 1024  # same tensors, same bytes
    report = size_report(pruned)
    assert report["sparse_csr"] < 0.6 * report["dense"]
    assert report["dense+gzip"] < 0.5 * report["dense"]
    # gzip gains little on unpruned float32 weights
    assert size_report(dense)["dense+gzip"] > 0.8 * size_report(dense)["dense"]


def test_csr_round_trip_is_exact_and_only_used_when_it_pays():
    model = prune_per_layer(small_cnn(), 0.7)
    sparse = to_sparse_state_dict(model, min_sparsity=0.5)
    assert isinstance(sparse["0.weight"], dict) and sparse["0.weight"]["col_indices"].dtype == torch.int32
    assert isinstance(sparse["1.running_mean"], torch.Tensor)  # not sparse: stored as it is
    restored = from_sparse_state_dict(sparse)
    for name, tensor in model.state_dict().items():
        assert torch.equal(restored[name], tensor), name
    fresh = small_cnn()
    fresh.load_state_dict(restored)


def test_save_compressed_round_trip(tmp_path):
    model = prune_global(small_cnn(32), 0.8)
    path = tmp_path / "pruned.pth.gz"
    written = save_compressed(model, path)
    assert path.stat().st_size == written < 0.4 * size_on_disk(model)
    restored = load_compressed(path)
    assert all(torch.equal(restored[k], v) for k, v in model.state_dict().items())
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="bad.gz"):
        load_compressed(tmp_path / "bad.gz")
    with pytest.raises(FileNotFoundError, match="missing"):
        load_compressed(tmp_path / "missing.gz")


def test_compressed_size_methods():
    data = bytes(10_000) + bytes(range(256)) * 10
    sizes = {m: compressed_size(data, m) for m in ("gzip", "zip", "lzma")}
    assert all(0 < s < len(data) / 3 for s in sizes.values())
    assert gzip.decompress(gzip.compress(data)) == data
    with pytest.raises(ValueError, match="bz3"):
        compressed_size(data, "bz3")


# -- structured (channel) pruning -------------------------------------------------------------

def test_channel_pruning_really_shrinks_the_network_and_it_still_runs():
    from cvbook.compress.structured import layer_widths, prune_channels

    model = small_cnn(32)
    x = torch.randn(2, 1, 28, 28)
    result = prune_channels(model, x, 0.5)
    small = result.model
    assert result.params_after < 0.4 * result.params_before
    assert result.params_after == sum(p.numel() for p in small.parameters())
    assert result.macs_after < 0.4 * result.macs_before
    assert small(x).shape == model(x).shape == (2, 10)
    widths = layer_widths(small)
    assert widths["0"] == 16 and widths["4"] == 32
    # the residual add forces its two inputs to keep the same channels
    assert widths["3.conv2"] == widths["0"] and widths["7.conv2"] == widths["4"]
    assert widths["10"] == 10  # the classifier keeps its classes
    assert layer_widths(model)["0"] == 32  # the original is untouched
    assert small[1].num_features == 16 and small[10].in_features == 32
    assert "parameters" in result.summary()


def test_channel_pruning_keeps_the_strongest_filters():
    from cvbook.compress.structured import prune_channels

    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.Flatten(), nn.LazyLinear(3))
    x = torch.randn(1, 1, 8, 8)
    model(x)
    with torch.no_grad():
        model[0].weight.mul_(0.01)
        model[0].weight[[1, 5, 6, 7]] *= 1000  # four strong filters
        model[2].weight.fill_(0.1)
    small = prune_channels(model, x, 0.5).model
    kept = small[0].weight.detach().abs().flatten(1).sum(1)
    strong = model[0].weight.detach()[[1, 5, 6, 7]].abs().flatten(1).sum(1)
    assert torch.allclose(kept.sort().values, strong.sort().values)


def test_channel_pruning_global_and_ignored_layers():
    from cvbook.compress.structured import layer_widths, prune_channels

    model = small_cnn(32)
    x = torch.randn(2, 1, 28, 28)
    kept_stem = prune_channels(model, x, 0.5, ignored_layers=[model[4]])
    assert layer_widths(kept_stem.model)["4"] == 64
    glob = prune_channels(model, x, 0.5, global_pruning=True)
    assert glob.params_after < glob.params_before and glob.model(x).shape == (2, 10)
    with pytest.raises(ValueError, match="ratio"):
        prune_channels(model, x, 1.0)
    with pytest.raises(ValueError, match="ignored_layers"):
        prune_channels(model, x, 0.5, ignored_layers=[nn.Conv2d(1, 1, 1)])


def test_channel_pruning_explains_architectures_it_cannot_follow():
    from cvbook.compress.structured import prune_channels
    from cvbook.models import create_model

    # Tiniest gates channels by multiplying two halves of one tensor (chunk(2) -> a * b)
    tiniest = create_model("tiniest", num_classes=10, in_chans=1, img_size=28).eval()
    with pytest.raises(ValueError, match="ignored_layers"):
        prune_channels(tiniest, torch.randn(2, 1, 28, 28), 0.3)


def test_channel_pruning_halves_every_stage_of_the_headline_model():
    from cvbook.compress.structured import prune_channels
    from cvbook.models import create_model

    torch.manual_seed(0)
    model = create_model("tiny_resnet", num_classes=10, in_chans=1, img_size=28).eval()
    x = torch.randn(4, 1, 28, 28)
    result = prune_channels(model, x, 0.5)
    slim = result.model
    assert [stage[0].conv1.out_channels for stage in slim.stages] == [8, 16, 32]
    assert slim.head.in_features == 32 and slim.head.out_features == 10  # classes kept
    # each conv loses half its inputs and half its outputs: about a quarter of the work is left
    assert 0.2 < result.macs_after / result.macs_before < 0.35
    assert slim(x).shape == (4, 10)
    assert [stage[0].conv1.out_channels for stage in model.stages] == [16, 32, 64]  # original untouched
