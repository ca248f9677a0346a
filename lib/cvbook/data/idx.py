"""Reader for the IDX format (MNIST, Fashion-MNIST), gzip-compressed or raw.

Layout: 2 zero bytes, a type code (0x08 = uint8), the number of dimensions, then
one big-endian uint32 per dimension, then the data. Every check names the file.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

UBYTE = 0x08


def read_idx(path: str | Path, expected_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into a uint8 array, checking magic and size."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        raise ValueError(f"{path}: not a complete gzip file ({err}); "
                         f"delete it and fetch the dataset again") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: bad IDX magic number {raw[:4].hex()!r}; "
                         f"expected 0000 08 0N (an IDX file of unsigned bytes)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code != UBYTE:
        raise ValueError(f"{path}: IDX type code 0x{dtype_code:02x}; expected 0x08 (unsigned byte)")
    if expected_ndim is not None and ndim != expected_ndim:
        raise ValueError(f"{path}: IDX file has {ndim} dimensions; expected {expected_ndim}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: IDX header cut short ({len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data), "
                         f"file holds {len(raw) - header}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzip-compressed when the name ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    data = bytes([0, 0, UBYTE, array.ndim]) + np.array(array.shape, ">u4").tobytes() + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
