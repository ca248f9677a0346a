"""CIFAR-10: 60,000 32x32 colour images in 10 classes (Krizhevsky, 2009).

Read from the "python version" of the dataset, the folder `cifar-10-batches-py/`:
`data_batch_1` .. `data_batch_5` (10,000 training images each), `test_batch`
(10,000) and `batches.meta`. Each batch is a pickled dict whose byte-string keys are
b"data", a uint8 array (N, 3072) holding per image the 1024 red, then green, then
blue values in row-major order, and b"labels", a list of N ints in 0..9.

Pickles can run code when loaded, so the reader only accepts the few globals these
files contain (numpy arrays); anything else is refused as a corrupt file.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from cvbook.data.locate import find_dataset_dir

FOLDER = "cifar-10-batches-py"
SPLITS = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
# The names batches.meta holds, in label order (see cifar10_classes to read them).
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
IMAGE_SHAPE = (3, 32, 32)

_ALLOWED_GLOBALS = {
    ("_codecs", "encode"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as f:
        try:
            obj = _BatchUnpickler(f, encoding="bytes").load()
        except Exception as err:  # any failure to unpickle means a damaged or foreign file
            raise ValueError(f"{path}: not a CIFAR-10 python batch ({type(err).__name__}: {err}); "
                             f"delete the folder and fetch the dataset again") from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, found {type(obj).__name__}")
    return obj


def read_batch(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> images uint8 (N, 3, 32, 32) and labels int64 (N,)."""
    path = Path(path)
    batch = _unpickle(path)
    missing = [k.decode() for k in (b"data", b"labels") if k not in batch]
    if missing:
        found = sorted(repr(k) for k in batch)
        raise ValueError(f"{path}: batch has no {', '.join(missing)} entry; keys found: {found}")
    data = batch[b"data"]
    try:
        labels = np.asarray(batch[b"labels"])
    except ValueError as err:
        raise ValueError(f"{path}: b'labels' is not a list of integers ({err})") from None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3 * 32 * 32:
        shape = getattr(data, "shape", None)
        raise ValueError(f"{path}: b'data' has shape {shape} and dtype {getattr(data, 'dtype', None)}; "
                         f"expected uint8 (N, 3072)")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: {len(data)} images but labels of shape {labels.shape} "
                         f"({labels.dtype}); expected {len(data)} integers")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise ValueError(f"{path}: labels range {labels.min()}..{labels.max()}; expected 0..9")
    return data.reshape(-1, *IMAGE_SHAPE), labels.astype(np.int64)


def batches_dir(root: str | os.PathLike | None = None) -> Path:
    """The cifar-10-batches-py folder; `root` may name it or the folder holding it."""
    if root is not None and Path(root).name == FOLDER:
        root = Path(root).parent
    return find_dataset_dir("cifar10", root) / FOLDER


def cifar10_classes(root: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The class names stored in batches.meta, in label order."""
    path = batches_dir(root) / "batches.meta"
    names = _unpickle(path).get(b"label_names")
    if not isinstance(names, list) or len(names) != len(CLASSES):
        raise ValueError(f"{path}: expected b'label_names', a list of {len(CLASSES)} names")
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)


def load_cifar10(split: str = "train", root: str | os.PathLike | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as a uint8 tensor (N, 3, 32, 32) and labels as int64 (N,)."""
    if split not in SPLITS:
        raise ValueError(f"unknown CIFAR-10 split {split!r}; expected 'train' or 'test'")
    folder = batches_dir(root)
    parts = [read_batch(folder / name) for name in SPLITS[split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return torch.from_numpy(images), torch.from_numpy(labels)
