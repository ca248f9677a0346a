"""Reader for the IDX format (MNIST, Fashion-MNIST), gzip-compressed or raw.

Layout: 2 zero bytes, a type code (0x08 = uint8), the number of dimensions, then
one big-endian uint32 per dimension, then the data. Every check names the file.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from cvbook.files import atomic_write_bytes

UBYTE = 0x08


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _parse_header(path: Path, raw: bytes) -> tuple[int, ...]:
    """Check the magic number and return the shape the header declares."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: bad IDX magic number {raw[:4].hex()!r}; "
                         f"expected 0000 08 0N (an IDX file of unsigned bytes)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != UBYTE:
        raise ValueError(f"{path}: IDX type code 0x{dtype_code:02x}; expected 0x08 (unsigned byte)")
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header cut short ({len(raw)} bytes)")
    return tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))


def _corrupt_gzip(path: Path, err: Exception) -> ValueError:
    return ValueError(f"{path}: not a complete gzip file ({err}); "
                      f"delete it and fetch the dataset again")


def read_idx_header(path: str | os.PathLike) -> tuple[int, ...]:
    """The shape an IDX file declares, reading only its header (cheap even for big files)."""
    path = Path(path)
    with _open(path) as f:
        try:
            head = f.read(4)
            if len(head) == 4:
                head += f.read(4 * head[3])
        except (EOFError, OSError, zlib.error) as err:
            raise _corrupt_gzip(path, err) from err
    return _parse_header(path, head)


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a uint8 array, checking magic and size."""
    path = Path(path)
    data = path.read_bytes()  # a missing file stays a FileNotFoundError
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as err:
            raise _corrupt_gzip(path, err) from err
    shape = _parse_header(path, data)
    if expected_ndim is not None and len(shape) != expected_ndim:
        raise ValueError(f"{path}: IDX file has {len(shape)} dimensions; expected {expected_ndim}")
    header = 4 + 4 * len(shape)
    expected = int(np.prod(shape)) if shape else 0
    if len(data) - header != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data), "
                         f"file holds {len(data) - header}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip-compressed when the name ends in .gz), atomically."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        # integers that fit a byte are fine (labels often come as int64); anything else would wrap
        fits = np.issubdtype(array.dtype, np.integer) and (
            array.size == 0 or (array.min() >= 0 and array.max() <= 255))
        if not fits:
            raise ValueError(f"write_idx({path}): expected values 0..255 (uint8), got {array.dtype}"
                             + (f" in {array.min()}..{array.max()}" if array.size else ""))
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, UBYTE, array.ndim]) + np.array(array.shape, ">u4").tobytes() + array.tobytes()
    path = Path(path)
    atomic_write_bytes(path, gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
