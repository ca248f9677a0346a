"""Loaders: the Dataset returns PIL images and int labels, the batch iterator yields
every index exactly once per epoch, honours drop_last and is reproducible, the
transform pipelines and the throughput meter behave."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from cvbook.data.augment import flip_and_crop
from cvbook.data.normalize import normalize, to_input
from cvbook.data.loaders import (FashionMNISTDataset, TensorBatchLoader, benchmark_loaders,
                                 eval_transforms, loader_variants, measure_throughput,
                                 train_transforms)


def data(n=50, h=6, w=6):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, h, w), generator=g, dtype=torch.uint8)
    return images, torch.arange(n) % 10


def test_dataset_items_are_pil_images_and_int_labels():
    images, labels = data()
    ds = FashionMNISTDataset(images, labels)
    assert len(ds) == 50
    image, label = ds[7]
    assert isinstance(image, Image.Image) and image.mode == "L" and image.size == (6, 6)
    assert torch.equal(torch.from_numpy(np.array(image)), images[7])
    assert label == 7 and isinstance(label, int)


def test_dataset_with_eval_transforms_through_a_dataloader():
    images, labels = data()
    ds = FashionMNISTDataset(images, labels, eval_transforms([0.5], [0.25]))
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    assert x.shape == (8, 1, 6, 6) and x.dtype == torch.float32
    torch.testing.assert_close(x[:, 0], (images[:8].float() / 255 - 0.5) / 0.25)
    assert torch.equal(y, labels[:8])


def test_train_transforms_randomise_but_keep_shape_and_scale():
    images, labels = data(h=28, w=28)
    ds = FashionMNISTDataset(images, labels, train_transforms([0.0], [1.0], size=28, padding=2))
    torch.manual_seed(0)
    outs = torch.stack([ds[0][0] for _ in range(20)])
    assert outs.shape == (20, 1, 28, 28) and 0 <= outs.min() and outs.max() <= 1
    assert len({o.numpy().tobytes() for o in outs}) > 1, "training transforms must be random"


def test_dataset_rejects_bad_input():
    with pytest.raises(ValueError, match="labels"):
        FashionMNISTDataset(torch.zeros(3, 4, 4, dtype=torch.uint8), torch.zeros(2))
    with pytest.raises(ValueError, match="uint8"):
        FashionMNISTDataset(torch.zeros(3, 4, 4), torch.zeros(3))


@pytest.mark.parametrize("drop_last", [False, True])
def test_every_index_once_per_epoch(drop_last):
    images, labels = data(n=50)
    # labels = index, so the batches tell which images came out
    loader = TensorBatchLoader(images, torch.arange(50), batch_size=8, drop_last=drop_last)
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader) == (6 if drop_last else 7)
        assert all(len(y) == 8 for _, y in batches[:6])
        seen = torch.cat([y for _, y in batches])
        assert len(seen) == (48 if drop_last else 50)
        assert len(set(seen.tolist())) == len(seen)
        for x, y in batches:
            assert torch.equal(x[:, 0], images[y])


def test_epochs_differ_and_seed_reproduces():
    images, labels = data()
    a, b = TensorBatchLoader(images, labels, 10, seed=1), TensorBatchLoader(images, labels, 10, seed=1)
    first_a, second_a = [torch.cat([y for _, y in a]) for _ in range(2)]
    first_b = torch.cat([y for _, y in b])
    assert torch.equal(first_a, first_b)
    assert not torch.equal(first_a, second_a)
    ordered = TensorBatchLoader(images, torch.arange(50), 10, shuffle=False)
    assert torch.equal(torch.cat([y for _, y in ordered]), torch.arange(50))


def test_augmentation_and_normalisation():
    images, labels = data()
    loader = TensorBatchLoader(images, labels, 16, augment=flip_and_crop(2), mean=[0.5],
                               std=[0.2], seed=3)
    x, _ = next(iter(loader))
    assert x.dtype == torch.float32 and x.shape == (16, 1, 6, 6)
    assert x.min() >= -0.5 / 0.2 - 1e-6 and x.max() <= 0.5 / 0.2 + 1e-6
    again = next(iter(TensorBatchLoader(images, labels, 16, augment=flip_and_crop(2),
                                        mean=[0.5], std=[0.2], seed=3)))[0]
    assert torch.equal(x, again)
    plain = next(iter(TensorBatchLoader(images, labels, 16, shuffle=False)))[0]
    assert plain.dtype == torch.uint8


def test_one_normalisation_for_training_scoring_and_the_loader():
    """The in-memory loader and to_input (training, predict, compression) give the very
    same float input for the same images and statistics, equal to (x / 255 - mean) / std."""
    images, labels = data(n=32)
    meta = {"mean": [0.3], "std": [0.25]}
    from_loader = next(iter(TensorBatchLoader(images, labels, 32, shuffle=False, **meta)))[0]
    expected = (images[:, None].double() / 255 - 0.3) / 0.25
    assert torch.equal(from_loader, to_input(images[:, None], meta, "cpu"))
    assert torch.allclose(from_loader.double(), expected, atol=1e-6)
    assert to_input(images[:, None], meta, "cpu", channels_last=True).is_contiguous(
        memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="need 1 values"):
        normalize(images[:, None], [0.3, 0.3], [0.2, 0.2])
    with pytest.raises(ValueError, match="shape"):
        normalize(images, [0.3], [0.2])


def test_batch_loader_rejects_bad_input():
    images, labels = data()
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatchLoader(images, labels, 0)
    with pytest.raises(ValueError, match="both mean and std"):
        TensorBatchLoader(images, labels, 4, mean=[0.5])
    with pytest.raises(ValueError, match="one per channel"):
        TensorBatchLoader(images, labels, 4, mean=[0.5, 0.5], std=[0.2, 0.2])


def test_measure_throughput_counts_images_after_warmup():
    batches = [(torch.zeros(n, 1, 2, 2), torch.zeros(n)) for n in (4, 4, 4, 3)]
    r = measure_throughput(batches, warmup=1)
    assert r["images"] == 11 and r["batches"] == 3
    assert r["images_per_s"] == pytest.approx(11 / r["seconds"])
    assert measure_throughput(batches, max_batches=2, warmup=0)["images"] == 8
    with pytest.raises(ValueError, match="nothing was timed"):
        measure_throughput(batches[:1], warmup=1)


def test_loader_variants_yield_the_same_kind_of_batches():
    images, labels = data(n=40, h=28, w=28)
    variants = loader_variants(images, labels, [0.3], [0.35], batch_size=16, num_workers=(0,))
    assert len(variants) == 3
    for name, loader in variants.items():
        x, y = next(iter(loader))
        assert x.shape == (16, 1, 28, 28) and x.dtype == torch.float32, name
        assert y.shape == (16,), name
    results = benchmark_loaders(images, labels, [0.3], [0.35], batch_size=16, num_workers=(0,))
    assert all(r["images"] == 24 for r in results.values())
