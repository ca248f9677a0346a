"""Checks of the data loading assignment (dataset statistics, batched flips and crops, a Dataset)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from cvbook.data.augment import find_crop_offsets
from cvbook.data.stats import channel_mean_std_of_batches
from cvbook.grading.checks import (CheckFailed, call_unchanged, check_equal, check_generator_honoured,
                                   check_tensor, check_unchanged, snapshot)


# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"channel_mean_std": 1, "random_horizontal_flip": 2, "random_crop": 3, "FashionDataset": 4}

# --------------------------------------------------------------------------- 1. mean and std


def stats_batches(sizes, channels: int, size: tuple, seed: int, dtype=torch.float32) -> list:
    """(images, labels) batches of the given sizes, whose brightness varies a lot from one
    image (and batch) to the next."""
    g = torch.Generator().manual_seed(seed)
    return [((0.5 * torch.rand(n, channels, *size, generator=g) * torch.rand(n, 1, 1, 1, generator=g)
              + 0.04 * b).to(dtype), torch.zeros(n, dtype=torch.long)) for b, n in enumerate(sizes)]


def check_channel_mean_std(channel_mean_std, batches: list) -> None:
    """(mean, std): two (C,) tensors over every pixel of each channel, std with 1/n. The
    batches arrive through an iterator, which can be read only once."""
    shapes = ", ".join(str(tuple(x.shape)) for x, _ in batches[:4]) + (", ..." if len(batches) > 4 else "")
    what = f"channel_mean_std({len(batches)} batches of {batches[0][0].dtype} images {shapes})"
    mean, std = channel_mean_std_of_batches(batches)
    got = call_unchanged(channel_mean_std, "channel_mean_std", {"loader": iter(batches)},
                         watch={"loader": batches}, what=what)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{what}: return a pair (mean, std), got {type(got).__name__}")
    check_tensor(got[0], mean, f"{what}: mean", atol=1e-6, rtol=1e-5, check_dtype=False)
    images = torch.cat([x for x, _ in batches]).double()
    hints = {
        "the mean of per-image standard deviations": images.std(dim=(2, 3), correction=0).mean(0),
        "the sample standard deviation (divided by n - 1)": images.std(dim=(0, 2, 3)),
        "the average of per-batch standard deviations": torch.stack(
            [x.double().std(dim=(0, 2, 3), correction=0) for x, _ in batches]).mean(0),
    }
    try:
        check_tensor(got[1], std, f"{what}: std", atol=1e-6, rtol=2e-5, check_dtype=False)
    except CheckFailed as failure:
        for name, wrong in hints.items():
            if isinstance(got[1], torch.Tensor) and got[1].shape == wrong.shape and torch.allclose(
                    got[1].double(), wrong, atol=1e-7, rtol=2e-5):
                raise CheckFailed(f"{failure} -- your std equals {name}; the dataset std "
                                  f"is the spread of all pixels of a channel together") from None
        raise


# --------------------------------------------------------------------------- 2. flips


def random_batch(n: int, c: int, h: int, w: int, seed: int, dtype=torch.uint8, low: int = 0) -> torch.Tensor:
    """Random pixels low..255 (as floats in [0, 1] for a float dtype): no image equals its own mirror."""
    x = torch.randint(low, 256, (n, c, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


def _mirrored(x: torch.Tensor, y, what: str) -> torch.Tensor:
    """Which images of y are x's mirror images; fails if one is neither x's image nor its mirror."""
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or y.dtype != x.dtype:
        check_tensor(y, x, what)  # reports the type / shape / dtype that differs
    same = (y == x).flatten(1).all(1)
    mirrored = (y == x.flip(-1)).flatten(1).all(1)
    bad = torch.nonzero(~(same | mirrored)).flatten()
    if len(bad):
        i = int(bad[0])
        hint = " (it is flipped upside down: mirror the width axis, dim -1)" if torch.equal(
            y[i], x[i].flip(-2)) else ""
        raise CheckFailed(f"{what}: image {i} is neither the input image nor its left-right mirror{hint}")
    return mirrored


def check_random_horizontal_flip(random_horizontal_flip, n: int, p: float, *, c: int = 1, h: int = 4,
                                 w: int = 5, dtype=torch.uint8, seed: int = 0) -> None:
    """Each image mirrored left-right with probability p, with the generator given; same
    shape and dtype; x unchanged."""
    x = random_batch(n, c, h, w, seed, dtype)
    what = f"random_horizontal_flip(x of shape {tuple(x.shape)}, {dtype}, p={p})"

    def run(generator):
        return call_unchanged(random_horizontal_flip, "random_horizontal_flip",
                              {"x": x, "p": p, "generator": generator}, what=what)

    y = run(torch.Generator().manual_seed(seed))
    mirrored = _mirrored(x, y, what)
    frac = mirrored.float().mean().item()
    if p in (0, 1) and frac != p:
        raise CheckFailed(f"{what}: {frac:.1%} of the images were mirrored, expected "
                          f"{'none' if p == 0 else 'all'} of them")
    if 0 < p < 1 and n >= 20 and frac in (0.0, 1.0):
        raise CheckFailed(f"{what}: every image got the same coin ({'all' if frac else 'none'} "
                          f"mirrored); draw one random number per image")
    tol = 5 * (p * (1 - p) / n) ** 0.5 + 1e-9
    if n >= 100 and abs(frac - p) > tol:
        raise CheckFailed(f"{what}: {frac:.1%} of {n} images were mirrored, expected about "
                          f"{p:.0%}; an image should be mirrored when its random number is < p")
    if 0 < p < 1 and n >= 20:
        check_generator_honoured(run, what)


# --------------------------------------------------------------------------- 3. crops


def _offsets(x: torch.Tensor, y, padding: int, what: str) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or y.dtype != x.dtype:
        check_tensor(y, x, f"{what}: the output must have the input's shape and dtype")
    offsets = find_crop_offsets(x, y, padding)
    bad = torch.nonzero(offsets[:, 0] < 0).flatten()
    if len(bad):
        raise CheckFailed(f"{what}: output image {int(bad[0])} is not an H x W window of the "
                          f"input zero-padded by {padding} on every side (same window for every channel)")
    return offsets


def check_random_crop(random_crop, n: int, padding: int, *, c: int = 1, h: int = 5, w: int = 4,
                      dtype=torch.uint8, seed: int = 0) -> None:
    """One H x W window per image of x zero-padded by `padding`, at offsets drawn uniformly and
    independently from 0..2*padding with the generator given; x unchanged."""
    x = random_batch(n, c, h, w, seed, dtype, low=1)  # a zero in the output can only come from the padding
    what = f"random_crop(x of shape {tuple(x.shape)}, {dtype}, padding={padding})"

    def run(generator):
        return call_unchanged(random_crop, "random_crop", {"x": x, "padding": padding, "generator": generator},
                              what=what)

    y = run(torch.Generator().manual_seed(seed))
    if padding == 0:
        check_tensor(y, x, f"{what}: with padding=0 the images come back unchanged")
        return
    offsets = _offsets(x, y, padding, what)
    if n >= 20 and bool((offsets == offsets[0]).all()):
        raise CheckFailed(f"{what}: every image was cut at the same offset "
                          f"{tuple(offsets[0].tolist())}; draw one offset per image")
    k = 2 * padding + 1
    if n >= 50 * k:
        for axis, name in ((0, "dy (rows)"), (1, "dx (columns)")):
            counts = torch.bincount(offsets[:, axis], minlength=k).tolist()
            expected = n / k
            sd = (n * (1 / k) * (1 - 1 / k)) ** 0.5
            if any(abs(count - expected) > 6 * sd for count in counts):
                raise CheckFailed(f"{what}: offsets {name} 0..{k - 1} came out {counts} times; "
                                  f"expected about {expected:.0f} each (uniform over all "
                                  f"{k} positions 0..2*padding, both ends included)")
        same = (offsets[:, 0] == offsets[:, 1]).float().mean().item()
        if same > 0.5:
            raise CheckFailed(f"{what}: dy == dx for {same:.0%} of the images; draw the row and "
                              f"the column offsets independently")
    if n >= 20:
        check_generator_honoured(run, what)


def check_random_flips_and_crops(random_horizontal_flip, random_crop, seed: int, count: int = 4) -> None:
    """`count` random cases of each (drawn from `seed`): batches of 20 to 200 images of 1 to 3
    channels, odd and even, square or not, uint8 or float32, p from 0.3 to 0.7, padding 1 to 3."""
    g = torch.Generator().manual_seed(seed)

    def r(lo, hi):
        return int(torch.randint(lo, hi + 1, (), generator=g))

    for _ in range(count):
        dtype = (torch.uint8, torch.float32)[r(0, 1)]
        if random_horizontal_flip is not None:
            check_random_horizontal_flip(random_horizontal_flip, r(40, 200), r(3, 7) / 10, c=r(1, 3), h=r(1, 9),
                                         w=r(2, 9), dtype=dtype, seed=r(0, 10_000))
        if random_crop is not None:
            check_random_crop(random_crop, r(20, 120), r(1, 3), c=r(1, 3), h=r(2, 9), w=r(2, 9), dtype=dtype,
                              seed=r(0, 10_000))


# --------------------------------------------------------------------------- 4. the Dataset


def _check_item(ds, i: int, images: torch.Tensor, labels: torch.Tensor, what: str) -> None:
    item = ds[i]
    if not isinstance(item, tuple) or len(item) != 2:
        raise CheckFailed(f"{what}: dataset[{i}] must be a pair (image, label), got {item!r:.80}")
    image, label = item
    if not isinstance(image, Image.Image):
        raise CheckFailed(f"{what}: dataset[{i}][0] must be a PIL image when there is no "
                          f"transform, got {type(image).__name__}")
    check_equal(image.mode, "L", f"{what}: dataset[{i}][0].mode (greyscale)")
    check_tensor(torch.from_numpy(np.array(image)), images[i], f"{what}: pixels of dataset[{i}][0]")
    if type(label) is not int:
        raise CheckFailed(f"{what}: dataset[{i}][1] must be a Python int (use int(...)), "
                          f"got {type(label).__name__}")
    check_equal(label, int(labels[i]), f"{what}: label of dataset[{i}]")


def _to_float():
    from torchvision.transforms import v2

    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])


def check_fashion_dataset(FashionDataset, images: torch.Tensor, labels: torch.Tensor, *, items=None,
                          batch_size: int = 16) -> None:
    """len, items (a greyscale PIL image and a Python int label), the transform applied, and a
    DataLoader over it; images and labels unchanged."""
    from torch.utils.data import DataLoader

    n = len(images)
    what = f"FashionDataset({n} images)"
    before = snapshot({"images": images, "labels": labels})
    ds = FashionDataset(images, labels)
    check_unchanged("FashionDataset", before, {"images": images, "labels": labels})
    check_equal(len(ds), n, f"len({what})")
    for i in items if items is not None else range(n):
        _check_item(ds, i, images, labels, what)
    image, _ = FashionDataset(images, labels, _to_float())[n - 1]
    if not isinstance(image, torch.Tensor):
        raise CheckFailed(f"{what} with a transform: dataset[i][0] must be transform(pil_image); got "
                          f"{type(image).__name__} (is the transform applied?)")
    batches = list(DataLoader(FashionDataset(images, labels, _to_float()), batch_size=batch_size))
    check_equal([len(y) for _, y in batches], [min(batch_size, n - s) for s in range(0, n, batch_size)],
                f"batch sizes of a DataLoader(batch_size={batch_size}) over {what}")
    x, y = batches[-1]
    start = batch_size * (len(batches) - 1)
    check_tensor(x, images[start:, None].float() / 255, f"the last DataLoader batch of {what} with the transform")
    check_tensor(y, labels[start:], f"the last DataLoader batch of labels of {what}")
    check_unchanged("FashionDataset", before, {"images": images, "labels": labels})


def check_fashion_dataset_transform(FashionDataset, images: torch.Tensor, labels: torch.Tensor, i: int) -> None:
    """dataset[i][0] is what the transform returns, called once on the i-th image as a PIL image."""
    from cvbook.grading.fixtures import RecordingTransform  # returns what it was given

    image, label = FashionDataset(images, labels, RecordingTransform())[i]
    if not (isinstance(image, tuple) and image[:1] == ("transformed",)):
        raise CheckFailed(f"dataset[{i}][0] must be what the transform returns, got {image!r:.80}")
    _, calls, given, pixels = image
    if not given.startswith("PIL."):
        raise CheckFailed(f"the transform must receive a PIL image, got {given}")
    check_equal(calls, 1, f"calls of the transform for dataset[{i}]")
    check_tensor(torch.from_numpy(pixels), images[i], f"the image given to the transform for dataset[{i}]")
    check_equal(label, int(labels[i]), f"label of dataset[{i}] with a transform")
