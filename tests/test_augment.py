"""Batched per-image augmentation: every image draws its own parameters, the result
is a valid flip/crop of its input, and a seeded generator makes it reproducible."""

import pytest
import torch
import torch.nn.functional as F

from cvbook.data.augment import (find_crop_offsets, flip_and_crop, random_crop, random_erasing,
                                 random_horizontal_flip)


def batch(n=64, c=2, h=7, w=9, seed=0):
    # values 1..255: never equal to the zero padding, and no image is symmetric
    g = torch.Generator().manual_seed(seed)
    return torch.randint(1, 256, (n, c, h, w), generator=g, dtype=torch.uint8)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_flip_is_per_image_and_horizontal():
    x = batch(n=400)
    y = random_horizontal_flip(x, 0.5, gen())
    same = (y == x).flatten(1).all(1)
    mirrored = (y == x.flip(-1)).flatten(1).all(1)
    assert (same ^ mirrored).all(), "each image must be itself or its left-right mirror"
    assert 0.4 < mirrored.float().mean() < 0.6
    assert y.dtype == x.dtype and y.shape == x.shape


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_flip_extreme_probabilities(p):
    x = batch()
    expected = x.flip(-1) if p == 1.0 else x
    assert torch.equal(random_horizontal_flip(x, p, gen()), expected)


def test_flip_is_deterministic_and_does_not_touch_input():
    x = batch()
    before = x.clone()
    a = random_horizontal_flip(x, 0.5, gen(3))
    torch.manual_seed(123)  # the global RNG must not matter
    b = random_horizontal_flip(x, 0.5, gen(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, random_horizontal_flip(x, 0.5, gen(4)))
    assert torch.equal(x, before)


def test_crop_offsets_are_per_image_and_cover_the_whole_range():
    x, pad = batch(n=600, h=6, w=5), 2
    y = random_crop(x, pad, gen())
    offsets = find_crop_offsets(x, y, pad)
    assert (offsets >= 0).all(), "every output must be a window of the zero-padded input"
    for axis in range(2):
        counts = torch.bincount(offsets[:, axis], minlength=2 * pad + 1)
        assert len(counts) == 2 * pad + 1 and (counts > 60).all(), counts


def test_crop_matches_a_direct_per_image_loop():
    x, pad = batch(n=10), 3
    y = random_crop(x, pad, gen(1))
    offsets = find_crop_offsets(x, y, pad)
    padded = F.pad(x, (pad,) * 4)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        assert torch.equal(y[i], padded[i, :, dy:dy + 7, dx:dx + 9])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_crop_padding_modes_take_windows_of_the_padded_image(mode):
    x, pad = batch(n=30, c=1, h=6, w=6).float(), 2
    y = random_crop(x, pad, gen(2), padding_mode=mode)
    padded = F.pad(x, (pad,) * 4, mode=mode)
    windows = padded.unfold(2, 6, 1).unfold(3, 6, 1)  # N, C, 5, 5, 6, 6
    match = (windows == y[:, :, None, None]).flatten(-2).all(-1).all(1).flatten(1).any(1)
    assert match.all()
    assert torch.equal(random_crop(x, pad, gen(2), padding_mode=mode), y)


def test_crop_fill_value_and_zero_padding():
    x = batch(n=50)
    y = random_crop(x, 3, gen(), fill=7)
    assert (find_crop_offsets(x, y, 3, fill=7) >= 0).all()
    assert torch.equal(random_crop(x, 0, gen()), x)


def test_crop_rejects_bad_arguments():
    x = batch()
    with pytest.raises(ValueError, match="padding_mode"):
        random_crop(x, 2, gen(), padding_mode="mirror")
    with pytest.raises(ValueError, match="padding"):
        random_crop(x, -1, gen())
    with pytest.raises(ValueError, match="reflect"):
        random_crop(x, 7, gen(), padding_mode="reflect")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        random_crop(x[0], 2, gen())
    with pytest.raises(ValueError, match="probability"):
        random_horizontal_flip(x, 1.5, gen())


def test_random_erasing_erases_one_rectangle_per_chosen_image():
    x = batch(n=300, c=3, h=8, w=8)
    y = random_erasing(x, 0.5, (3, 2), gen())
    erased = (y == 0).all(1)  # N, H, W: a pixel is erased in every channel
    per_image = erased.flatten(1).sum(1)
    assert set(per_image.tolist()) == {0, 6}
    assert 0.35 < (per_image > 0).float().mean() < 0.65
    rows, cols = erased.any(2), erased.any(1)
    hit = per_image > 0
    assert (rows[hit].sum(1) == 3).all() and (cols[hit].sum(1) == 2).all()
    assert torch.equal(y[~erased[:, None].expand_as(y)], x[~erased[:, None].expand_as(x)])


def test_flip_and_crop_is_reproducible():
    x = batch()
    aug = flip_and_crop(padding=2)
    assert torch.equal(aug(x, gen(5)), aug(x, gen(5)))


def test_find_crop_offsets_reports_no_match():
    x = batch(n=3)
    assert (find_crop_offsets(x, torch.zeros_like(x), 2) == -1).all()
