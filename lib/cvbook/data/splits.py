"""Datasets as in-memory uint8 tensors (N, C, H, W) plus labels and class names, and their
train / validation / test splits.

Keeping the images as one uint8 tensor lets training draw a batch with one index
operation and augment it on the device (see cvbook.data.augment): no per-image
Python work. Fashion-MNIST (47 MB), CIFAR-10 (150 MB) and Tiny ImageNet (1.2 GB) fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from cvbook.data.locate import IMAGE_SUFFIXES

DATASETS = ("fashion-mnist", "cifar10", "tiny-imagenet")


@dataclass
class ImageSet:
    images: torch.Tensor           # uint8 (N, C, H, W)
    labels: torch.Tensor           # int64 (N,)
    classes: tuple[str, ...]

    def __post_init__(self):
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> "ImageSet":
        return ImageSet(self.images[index], self.labels[index], self.classes)

    def head(self, n: int | None) -> "ImageSet":
        return self if n is None else self.subset(torch.arange(min(n, len(self))))


def split_off(data: ImageSet, fraction: float, seed: int = 0) -> tuple[ImageSet, ImageSet]:
    """(rest, held-out): `fraction` of each class held out, chosen with a fixed seed
    so that the validation set does not change with the training seed."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    g = torch.Generator().manual_seed(seed)
    held = []
    for c in data.labels.unique():
        idx = (data.labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        held.append(idx[:round(len(idx) * fraction)])
    held_idx = torch.cat(held).sort().values
    keep = torch.ones(len(data), dtype=torch.bool)
    keep[held_idx] = False
    # shuffle once (fixed seed) so that `head(n)` takes a mix of classes
    rest_idx = keep.nonzero().flatten()
    rest_idx = rest_idx[torch.randperm(len(rest_idx), generator=g)]
    held_idx = held_idx[torch.randperm(len(held_idx), generator=g)]
    return data.subset(rest_idx), data.subset(held_idx)


def _pil_to_uint8(path: Path, mode: str, size: int | tuple[int, int] | None) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert(mode)
        if size is not None:
            height, width = (size, size) if isinstance(size, int) else size
            if im.size != (width, height):
                im = im.resize((width, height), Image.BILINEAR)
        t = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
        return t.view(im.size[1], im.size[0], len(mode)).permute(2, 0, 1)


def read_image_folder(folder: str | os.PathLike, classes: tuple[str, ...] | None = None,
                      img_size: int | tuple[int, int] | None = None, mode: str = "RGB") -> ImageSet:
    """A folder of <class>/<image> files (torchvision's ImageFolder layout) read into
    memory, resized when img_size is given (an int: square; a tuple: (height, width))."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    if classes is None:
        classes = tuple(sorted(d.name for d in folder.iterdir() if d.is_dir()))
    if not classes:
        raise ValueError(f"{folder}: no class sub-folders (expected {folder}/<class>/<image>)")
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((folder / name).glob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(_pil_to_uint8(path, mode, img_size))
                labels.append(label)
    if not images:
        raise ValueError(f"{folder}: no images with suffix {sorted(IMAGE_SUFFIXES)}")
    shapes = {tuple(t.shape) for t in images}
    if len(shapes) > 1:
        raise ValueError(f"{folder}: images differ in size {sorted(shapes)[:3]}; pass img_size")
    return ImageSet(torch.stack(images), torch.tensor(labels), classes)


def load_splits(dataset: str | None = None, data_dir: str | os.PathLike | None = None,
                val_fraction: float = 0.1, img_size: int | None = None,
                only: tuple[str, ...] = ("train", "val", "test")) -> dict[str, ImageSet]:
    """{'train', 'val', 'test'} ImageSets for a named dataset, or for an image folder
    `data_dir` with train/ and optional val/ and test/ sub-folders. Where the dataset
    has no validation (or, for a folder, no test) split, `val_fraction` of train is held
    out for it (class-balanced, with a fixed seed).
    `only` skips reading splits that are not needed where each is its own folder."""
    if dataset is None and data_dir is None:
        raise ValueError("give a dataset name or a data_dir")
    if dataset == "fashion-mnist":
        from cvbook.data.fashion_mnist import CLASSES, load_fashion_mnist
        train, test = (ImageSet(x[:, None], y, CLASSES)
                       for x, y in (load_fashion_mnist(s, data_dir) for s in ("train", "test")))
    elif dataset == "cifar10":
        from cvbook.data.cifar10 import CLASSES, load_cifar10
        train, test = (ImageSet(*load_cifar10(s, data_dir), CLASSES) for s in ("train", "test"))
    elif dataset == "tiny-imagenet":
        from cvbook.data.tiny_imagenet import curated_dir, read_class_names
        root = curated_dir(data_dir)
        names = read_class_names(root)
        wnids = tuple(sorted(names))
        splits = {s: read_image_folder(root / s, wnids, img_size) for s in only}
        readable = tuple(names[w] for w in wnids)
        for s in splits.values():
            s.classes = readable
        return splits
    elif dataset is None:
        root = Path(data_dir)
        if not (root / "train").is_dir():
            raise FileNotFoundError(f"{root}/train does not exist; expected an image folder "
                                    f"with train/<class>/<image> (and optional val/, test/)")
        mode = "RGB"
        train = read_image_folder(root / "train", img_size=img_size, mode=mode)
        size = tuple(train.images.shape[-2:])  # val and test are read at train's (height, width)
        found = {s: read_image_folder(root / s, train.classes, size, mode)
                 for s in ("val", "test") if (root / s).is_dir()}
        # A missing split is held out of train, never borrowed from another split: the test
        # set must not be the one that chose the best epoch.
        if "test" not in found:
            train, found["test"] = split_off(train, val_fraction, seed=1)
        if "val" not in found:
            train, found["val"] = split_off(train, val_fraction)
        return {"train": train, **found}
    else:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)} "
                         f"or --data-dir for an image folder")
    train, val = split_off(train, val_fraction)
    return {"train": train, "val": val, "test": test}
