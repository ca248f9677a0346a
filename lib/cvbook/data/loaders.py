"""Getting Fashion-MNIST into a model: a torch Dataset for the classic per-image
path (PIL image -> transforms -> DataLoader), an in-memory batch iterator for the
fast path (index the whole uint8 tensor, augment the batch at once), the standard
train/eval transform pipelines, and a throughput meter to compare them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from cvbook.data.augment import flip_and_crop
from cvbook.data.normalize import normalize


def _check_images_labels(images: torch.Tensor, labels: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim not in (3, 4):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images: expected a tensor (N, H, W) or (N, C, H, W), got {shape}")
    if not isinstance(labels, torch.Tensor) or labels.shape != (len(images),):
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(f"labels: expected a tensor of shape ({len(images)},), got {shape}")


class FashionMNISTDataset(Dataset):
    """Fashion-MNIST held in memory: item i is (image, label) where image is a
    greyscale PIL image, or whatever `transform(pil_image)` returns."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor,
                 transform: Callable | None = None):
        _check_images_labels(images, labels)
        if images.ndim != 3 or images.dtype != torch.uint8:
            raise ValueError(f"images: expected uint8 (N, H, W) greyscale images, "
                             f"got {images.dtype} {tuple(images.shape)}")
        self.images, self.labels, self.transform = images, labels, transform

    @classmethod
    def from_split(cls, split: str = "train", transform: Callable | None = None,
                   root=None) -> "FashionMNISTDataset":
        from cvbook.data.fashion_mnist import load_fashion_mnist
        return cls(*load_fashion_mnist(split, root), transform=transform)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: int):
        image = Image.fromarray(self.images[idx].numpy())  # 2-D uint8 -> mode "L"
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[idx])


def _floats(values, what: str) -> list[float]:
    values = torch.as_tensor(values, dtype=torch.float64).flatten().tolist()
    if not values:
        raise ValueError(f"{what}: expected one value per channel, got none")
    return values


def train_transforms(mean: Sequence[float], std: Sequence[float], size: int = 28,
                     padding: int = 2) -> v2.Compose:
    """Per-image training pipeline: PIL -> uint8 tensor, pad-and-crop, horizontal
    flip, float in [0, 1], normalise with the training set's mean and std."""
    return v2.Compose([
        v2.ToImage(),
        v2.RandomCrop(size, padding=padding),
        v2.RandomHorizontalFlip(p=0.5),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(_floats(mean, "mean"), _floats(std, "std")),
    ])


def eval_transforms(mean: Sequence[float], std: Sequence[float]) -> v2.Compose:
    """Evaluation pipeline: the same conversion and normalisation, no randomness."""
    return v2.Compose([
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(_floats(mean, "mean"), _floats(std, "std")),
    ])


class TensorBatchLoader:
    """Batches straight from in-memory tensors, no per-image Python work.

    Each epoch (each `iter()`) draws a fresh permutation from a generator seeded
    once, so runs are reproducible and epochs differ. `augment(x, generator)`, if
    given, runs on the uint8 batch (e.g. `cvbook.data.augment.flip_and_crop()`).
    With `mean` and `std` the batch comes out float32 normalised, else as stored.
    (N, H, W) images get a channel axis: batches are (B, C, H, W).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256,
                 shuffle: bool = True, drop_last: bool = False,
                 augment: Callable | None = None, mean=None, std=None, seed: int = 0):
        _check_images_labels(images, labels)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r}: expected a positive int")
        if (mean is None) != (std is None):
            raise ValueError("give both mean and std (to normalise) or neither")
        self.images = images[:, None] if images.ndim == 3 else images
        self.labels = labels
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.augment = augment
        if mean is not None:
            mean, std = _floats(mean, "mean"), _floats(std, "std")
            channels = self.images.shape[1]
            if len(mean) != channels or len(std) != channels:
                raise ValueError(f"mean and std need {channels} values (one per channel), "
                                 f"got {len(mean)} and {len(std)}")
        self.mean, self.std = mean, std
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.images)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            x = self.images[idx]
            if self.augment is not None:
                x = self.augment(x, self.generator)
            if self.mean is not None:
                x = normalize(x, self.mean, self.std)
            yield x, self.labels[idx]


def _num_images(batch) -> int:
    return len(batch[0]) if isinstance(batch, (tuple, list)) else len(batch)


def measure_throughput(iterable: Iterable, max_batches: int | None = None,
                       warmup: int = 1) -> dict:
    """Time one pass over `iterable` (a loader): images per second after `warmup`
    batches, which are timed apart (`startup_seconds`: worker start-up, first-touch costs).

    Stops after `max_batches` timed batches if given. Returns a dict with
    images_per_s, seconds, images, batches, startup_seconds.
    """
    if warmup < 0 or (max_batches is not None and max_batches < 1):
        raise ValueError(f"warmup={warmup}, max_batches={max_batches}: expected warmup >= 0 "
                         f"and max_batches >= 1 (or None)")
    start = time.perf_counter()
    it = iter(iterable)
    for _ in range(warmup):
        if next(it, None) is None:
            break
    started = time.perf_counter()
    images = batches = 0
    for batch in it:
        images += _num_images(batch)
        batches += 1
        if max_batches is not None and batches >= max_batches:
            break
    seconds = time.perf_counter() - started
    del it  # shuts down DataLoader workers now rather than at some later collection
    if images == 0:
        raise ValueError(f"nothing was timed: the loader yielded no batches after the "
                         f"{warmup} warm-up batch(es); give it more data or less warm-up")
    return {"images_per_s": images / seconds, "seconds": seconds, "images": images,
            "batches": batches, "startup_seconds": started - start}


def loader_variants(images: torch.Tensor, labels: torch.Tensor, mean, std,
                    batch_size: int = 256, padding: int = 2,
                    num_workers: Sequence[int] = (0, 2), seed: int = 0) -> dict[str, Iterable]:
    """The training loaders the book and `make bench` compare, all with the same
    augmentation (pad-and-crop, horizontal flip) and normalisation, keyed by a label:

    * per-image PIL -> v2 transforms through a DataLoader, for each `num_workers`;
    * the whole batch indexed from the uint8 tensor, augmented per image at once;
    * the same without augmentation (the ceiling: indexing and normalising only).
    """
    variants: dict[str, Iterable] = {}
    dataset = FashionMNISTDataset(images, labels, train_transforms(mean, std, images.shape[-1],
                                                                   padding))
    for workers in num_workers:
        variants[f"PIL per image, DataLoader num_workers={workers}"] = DataLoader(
            dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
            generator=torch.Generator().manual_seed(seed))
    variants["tensor batch, per-image batched augmentation"] = TensorBatchLoader(
        images, labels, batch_size, augment=flip_and_crop(padding), mean=mean, std=std, seed=seed)
    variants["tensor batch, no augmentation"] = TensorBatchLoader(
        images, labels, batch_size, mean=mean, std=std, seed=seed)
    return variants


def benchmark_loaders(images: torch.Tensor, labels: torch.Tensor, mean, std,
                      batch_size: int = 256, max_batches: int | None = None,
                      warmup: int = 1, **variant_options) -> dict[str, dict]:
    """`measure_throughput` for each of `loader_variants(...)`, one after another."""
    return {name: measure_throughput(loader, max_batches, warmup)
            for name, loader in loader_variants(images, labels, mean, std, batch_size,
                                                **variant_options).items()}
