"""Fashion-MNIST (IDX) and CIFAR-10 (python pickle batches) readers, on small files
written in the exact on-disk formats, plus one full read of the real Fashion-MNIST."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch

from cvbook.data import cifar10, fashion_mnist
from cvbook.data.idx import read_idx, read_idx_header, write_idx


# ---------------------------------------------------------------- IDX / Fashion-MNIST

@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, name):
    array = np.random.default_rng(0).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    write_idx(tmp_path / name, array)
    assert np.array_equal(read_idx(tmp_path / name, expected_ndim=3), array)
    assert read_idx_header(tmp_path / name) == (5, 4, 3)
    assert not list(tmp_path.glob("*.part"))


def test_idx_gz_really_is_gzip(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((2, 2), np.uint8))
    assert gzip.decompress((tmp_path / "a.gz").read_bytes())[:4] == bytes([0, 0, 8, 2])


def _fake_fashion(folder, n_train=12, n_test=5):
    rng = np.random.default_rng(1)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        image_file, label_file = fashion_mnist.SPLITS[split]
        write_idx(folder / image_file, images)
        write_idx(folder / label_file, labels)
        out[split] = images, labels
    return out


def test_load_fashion_mnist_from_small_files(tmp_path):
    written = _fake_fashion(tmp_path)
    for split in ("train", "test"):
        images, labels = fashion_mnist.load_fashion_mnist(split, root=tmp_path)
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert np.array_equal(images.numpy(), written[split][0])
        assert np.array_equal(labels.numpy(), written[split][1])


def test_unknown_split(tmp_path):
    with pytest.raises(ValueError, match="valid"):
        fashion_mnist.load_fashion_mnist("valid", root=tmp_path)


def _bad_idx_cases(path):
    good = bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([1, 2, 3])
    return {
        "truncated gzip": (gzip.compress(good)[:-6], "not a complete gzip"),
        "wrong magic": (gzip.compress(b"\x1f\x00" + good[2:]), "magic"),
        "wrong type code": (gzip.compress(bytes([0, 0, 0x0D, 1]) + good[4:]), "type code 0x0d"),
        "header/size mismatch": (gzip.compress(good[:-1]), r"shape \(3,\)"),
    }


@pytest.mark.parametrize("case", ["truncated gzip", "wrong magic", "wrong type code",
                                  "header/size mismatch"])
def test_corrupt_idx_names_the_file(tmp_path, case):
    _fake_fashion(tmp_path)
    label_file = tmp_path / fashion_mnist.SPLITS["test"][1]
    content, message = _bad_idx_cases(label_file)[case]
    label_file.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        fashion_mnist.load_fashion_mnist("test", root=tmp_path)
    assert str(label_file) in str(err.value)


def test_wrong_number_of_dimensions(tmp_path):
    _fake_fashion(tmp_path)
    write_idx(tmp_path / fashion_mnist.SPLITS["train"][0], np.zeros((12, 784), np.uint8))
    with pytest.raises(ValueError, match="2 dimensions; expected 3"):
        fashion_mnist.load_fashion_mnist("train", root=tmp_path)


def test_count_mismatch_names_both_files(tmp_path):
    _fake_fashion(tmp_path)
    image_file, label_file = fashion_mnist.SPLITS["train"]
    write_idx(tmp_path / label_file, np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match="12 images.*11 labels") as err:
        fashion_mnist.load_fashion_mnist("train", root=tmp_path)
    assert image_file in str(err.value) and label_file in str(err.value)


def test_label_out_of_range(tmp_path):
    _fake_fashion(tmp_path)
    write_idx(tmp_path / fashion_mnist.SPLITS["test"][1], np.full(5, 10, np.uint8))
    with pytest.raises(ValueError, match="label 10 out of range"):
        fashion_mnist.load_fashion_mnist("test", root=tmp_path)


def test_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nothing.gz")


def test_real_fashion_mnist_in_full(fashion_mnist_available):
    for split, n in (("train", 60_000), ("test", 10_000)):
        images, labels = fashion_mnist.load_fashion_mnist(split)
        assert images.shape == (n, 28, 28) and images.dtype == torch.uint8
        assert labels.shape == (n,) and labels.dtype == torch.int64
        assert torch.bincount(labels, minlength=10).tolist() == [n // 10] * 10
        # real photographs of clothing: neither blank nor saturated
        assert 0 < images.float().mean() < 255


# ---------------------------------------------------------------- CIFAR-10

def _write_batch(path, images_chw, labels, **extra):
    """Write a batch the way the original python version does: bytes keys, (N, 3072) data."""
    batch = {b"batch_label": b"testing batch", b"labels": list(map(int, labels)),
             b"data": images_chw.reshape(len(images_chw), -1),
             b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))]}
    batch.update(extra)
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)


def _fake_cifar(root, per_batch=4):
    folder = root / cifar10.FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(2)
    written = {}
    for split, names in cifar10.SPLITS.items():
        images = rng.integers(0, 256, (per_batch * len(names), 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, len(images))
        for i, name in enumerate(names):
            part = slice(i * per_batch, (i + 1) * per_batch)
            _write_batch(folder / name, images[part], labels[part])
        written[split] = images, labels
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"num_cases_per_batch": per_batch, b"num_vis": 3072,
                     b"label_names": [c.encode() for c in cifar10.CLASSES]}, f, protocol=2)
    return written


def test_load_cifar10_from_small_batches(tmp_path):
    written = _fake_cifar(tmp_path)
    for split, n in (("train", 20), ("test", 4)):
        images, labels = cifar10.load_cifar10(split, root=tmp_path)
        assert images.shape == (n, 3, 32, 32) and images.dtype == torch.uint8
        assert labels.dtype == torch.int64
        assert np.array_equal(images.numpy(), written[split][0])
        assert np.array_equal(labels.numpy(), written[split][1])
    assert cifar10.cifar10_classes(tmp_path) == cifar10.CLASSES
    # the root may also name the batches folder itself
    assert len(cifar10.load_cifar10("test", root=tmp_path / cifar10.FOLDER)[0]) == 4


def test_cifar_plane_order_is_rgb(tmp_path):
    """The 3072 values are all of red, then green, then blue, each row-major."""
    _fake_cifar(tmp_path)
    image = np.zeros((1, 3, 32, 32), np.uint8)
    image[0, 0, 0, 1] = 10   # red, row 0, column 1 -> flat index 1
    image[0, 2, 1, 0] = 20   # blue, row 1, column 0 -> flat index 2048 + 32
    flat = image.reshape(1, -1)
    assert flat[0, 1] == 10 and flat[0, 2048 + 32] == 20
    _write_batch(tmp_path / cifar10.FOLDER / "test_batch", image, [3])
    images, _ = cifar10.load_cifar10("test", root=tmp_path)
    assert images[0, 0, 0, 1] == 10 and images[0, 2, 1, 0] == 20 and images.sum() == 30


def test_cifar_wrong_shape(tmp_path):
    _fake_cifar(tmp_path)
    path = tmp_path / cifar10.FOLDER / "data_batch_3"
    _write_batch(path, np.zeros((4, 3, 32, 31), np.uint8), [0] * 4)
    with pytest.raises(ValueError, match=r"\(4, 2976\).*expected uint8 \(N, 3072\)") as err:
        cifar10.load_cifar10("train", root=tmp_path)
    assert str(path) in str(err.value)


def test_cifar_missing_key(tmp_path):
    _fake_cifar(tmp_path)
    path = tmp_path / cifar10.FOLDER / "test_batch"
    with open(path, "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8)}, f, protocol=2)
    with pytest.raises(ValueError, match="no labels entry") as err:
        cifar10.load_cifar10("test", root=tmp_path)
    assert str(path) in str(err.value)


def test_cifar_label_count_mismatch(tmp_path):
    _fake_cifar(tmp_path)
    _write_batch(tmp_path / cifar10.FOLDER / "test_batch", np.zeros((3, 3, 32, 32), np.uint8), [1, 2])
    with pytest.raises(ValueError, match="3 images but labels"):
        cifar10.load_cifar10("test", root=tmp_path)


@pytest.mark.parametrize("content", [b"garbage, not a pickle", b""])
def test_cifar_garbage(tmp_path, content):
    _fake_cifar(tmp_path)
    path = tmp_path / cifar10.FOLDER / "test_batch"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch") as err:
        cifar10.load_cifar10("test", root=tmp_path)
    assert str(path) in str(err.value)


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar_refuses_pickles_that_call_code(tmp_path, capsys):
    _fake_cifar(tmp_path)
    path = tmp_path / cifar10.FOLDER / "test_batch"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match=r"unexpected object \w+\.print"):
        cifar10.load_cifar10("test", root=tmp_path)
    assert "never run" not in capsys.readouterr().out


def test_cifar_missing_batch_file(tmp_path):
    _fake_cifar(tmp_path)
    (tmp_path / cifar10.FOLDER / "data_batch_5").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_5"):
        cifar10.load_cifar10("train", root=tmp_path)


def test_write_idx_refuses_values_that_would_wrap(tmp_path):
    write_idx(tmp_path / "labels", np.arange(10))  # int64 labels that fit a byte are fine
    assert read_idx(tmp_path / "labels").tolist() == list(range(10))
    for bad in (np.array([0, 256]), np.array([-1, 3]), np.array([0.5])):
        with pytest.raises(ValueError, match="expected values 0..255"):
            write_idx(tmp_path / "bad", bad)
    assert not (tmp_path / "bad").exists()


def test_cifar_batches_pickled_by_old_numpy_still_load(tmp_path):
    """The real files name numpy.core.multiarray (numpy 1.x); numpy 2 calls it numpy._core."""
    _fake_cifar(tmp_path)
    path = tmp_path / cifar10.FOLDER / "test_batch"
    image = np.arange(3072, dtype=np.uint32).astype(np.uint8).reshape(1, 3, 32, 32)
    _write_batch(path, image, [7])
    raw = path.read_bytes()
    assert b"numpy._core.multiarray\n_reconstruct" in raw
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    images, labels = cifar10.load_cifar10("test", root=tmp_path)
    assert np.array_equal(images.numpy(), image) and labels.tolist() == [7]
