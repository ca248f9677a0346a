"""Fashion-MNIST: 70,000 28x28 greyscale images of clothing in 10 classes (Zalando, MIT)."""

from __future__ import annotations

import os

import numpy as np
import torch

from cvbook.data.idx import read_idx
from cvbook.data.locate import find_dataset_dir

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def load_fashion_mnist(split: str = "train", root: str | os.PathLike | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as a uint8 tensor (N, 28, 28) and labels as int64 (N,), read from the IDX files."""
    if split not in SPLITS:
        raise ValueError(f"unknown Fashion-MNIST split {split!r}; expected 'train' or 'test'")
    folder = find_dataset_dir("fashion-mnist", root)
    image_file, label_file = (folder / f for f in SPLITS[split])
    images = read_idx(image_file, expected_ndim=3)
    labels = read_idx(label_file, expected_ndim=1)
    if len(images) != len(labels):
        raise ValueError(f"{image_file} holds {len(images)} images but {label_file} "
                         f"holds {len(labels)} labels")
    if labels.size and labels.max() >= len(CLASSES):
        raise ValueError(f"{label_file}: label {labels.max()} out of range 0..{len(CLASSES) - 1}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
