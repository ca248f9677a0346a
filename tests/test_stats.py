"""Dataset statistics: streamed per-channel mean/std equals a direct float64
computation over every pixel, whatever the batch size or the input form."""

import pytest
import torch
from torch.utils.data import TensorDataset

from cvbook.data.stats import channel_mean_std, channel_mean_std_of_batches


def images(n=37, c=3, h=5, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    # per-image brightness varies a lot, as in real data: the wrong statistic differs
    scale = torch.rand(n, 1, 1, 1, generator=g)
    return (torch.rand(n, c, h, w, generator=g) * scale * 255).round().to(torch.uint8)


def direct(x):
    x = x.double() / 255 if x.dtype == torch.uint8 else x.double()
    return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3), correction=0)


@pytest.mark.parametrize("batch_size", [1, 5, 36, 37, 1000])
def test_streamed_equals_direct(batch_size):
    x = images()
    mean, std = channel_mean_std(x, batch_size=batch_size)
    ref_mean, ref_std = direct(x)
    assert mean.dtype == torch.float64 and mean.shape == (3,)
    torch.testing.assert_close(mean, ref_mean, rtol=0, atol=1e-12)
    torch.testing.assert_close(std, ref_std, rtol=0, atol=1e-12)


def test_not_the_mean_of_per_image_stds():
    x = images()
    _, std = channel_mean_std(x, batch_size=8)
    wrong = (x.double() / 255).std(dim=(2, 3)).mean(0)
    assert (std - wrong).abs().min() > 1e-3


def test_float_tensor_greyscale_and_dataset_agree():
    x = images(c=1)
    as_float = channel_mean_std(x.float() / 255, batch_size=6)
    as_grey = channel_mean_std(x[:, 0], batch_size=7)
    as_dataset = channel_mean_std(TensorDataset(x.float() / 255, torch.zeros(len(x))), 9)
    ref = direct(x)
    for got in (as_float, as_grey, as_dataset):
        torch.testing.assert_close(got[0], ref[0], rtol=0, atol=1e-7)
        torch.testing.assert_close(got[1], ref[1], rtol=0, atol=1e-7)


def test_batches_of_pairs_and_uneven_sizes():
    x = images(n=20)
    parts = [x[:1], x[1:13], x[13:]]
    mean, std = channel_mean_std_of_batches((p, torch.zeros(len(p))) for p in parts)
    ref = direct(x)
    torch.testing.assert_close(mean, ref[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(std, ref[1], rtol=0, atol=1e-12)


def test_stable_when_the_mean_dwarfs_the_spread():
    # values 1000 +- 1e-3: sum of squares minus squared sum would lose every digit in float32
    g = torch.Generator().manual_seed(1)
    x = 1000 + 1e-3 * torch.randn(64, 1, 8, 8, generator=g, dtype=torch.float64)
    _, std = channel_mean_std(x, batch_size=5)
    torch.testing.assert_close(std, x.std(dim=(0, 2, 3), correction=0), rtol=1e-9, atol=0)


def test_fashion_mnist_statistics(fashion_mnist_available):
    from cvbook.data.fashion_mnist import load_fashion_mnist
    x, _ = load_fashion_mnist("train")
    mean, std = channel_mean_std(x, batch_size=10_000)
    ref = direct(x[:, None])
    # 47 million pixels: both sides round differently, far below what matters
    torch.testing.assert_close(mean, ref[0], rtol=1e-9, atol=0)
    torch.testing.assert_close(std, ref[1], rtol=1e-9, atol=0)


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        channel_mean_std(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="batch_size"):
        channel_mean_std(images(), batch_size=0)
    with pytest.raises(ValueError, match="no images"):
        channel_mean_std(torch.zeros(0, 1, 2, 2))
    with pytest.raises(ValueError, match="int64"):
        channel_mean_std(torch.zeros(2, 1, 2, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="tensor or a torch Dataset"):
        channel_mean_std([1, 2, 3])
