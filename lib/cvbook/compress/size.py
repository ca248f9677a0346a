"""How big a model is on disk, and what really makes a pruned model smaller.

A pruned state_dict saves to exactly as many bytes as the original: the zeros are
float32 like any other value. Two things do shrink it:

* **sparse storage**: keep only the non-zero values and where they are (CSR: values,
  column indices and row pointers). With 32-bit indices each kept weight costs 8 bytes
  instead of 4, so it only pays above 50 % sparsity;
* **compression** of the saved file (gzip, zip, lzma): runs of zero bytes compress well,
  the remaining float32 values hardly at all, so the file shrinks roughly by the
  fraction pruned.

Quantization gives a fixed 4x on the weights (int8 instead of float32) whatever the
values, and combines with both.
"""

from __future__ import annotations

import gzip
import io
import lzma
import math
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from cvbook.evaluate.efficiency import saved_bytes, size_on_disk  # noqa: F401 - one home, re-exported
from cvbook.files import atomic_write_bytes  # noqa: F401 - re-exported


def state_dict_of(obj: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state_dict of a module, or the mapping itself."""
    if isinstance(obj, nn.Module):
        return obj.state_dict()
    if isinstance(obj, Mapping):
        return dict(obj)
    raise ValueError(f"expected an nn.Module or a state_dict (a mapping of tensors), got {type(obj).__name__}")


def file_size(path: str | os.PathLike) -> int:
    """Size of a saved file; for ONNX also its external-data file (`model.onnx.data`) if present."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    data = path.with_name(path.name + ".data")
    return path.stat().st_size + (data.stat().st_size if data.is_file() else 0)


def compressed_size(data: bytes, method: str = "gzip") -> int:
    """Size of `data` after general-purpose compression: "gzip", "zip" (deflate) or "lzma"."""
    if method == "gzip":
        return len(gzip.compress(data, compresslevel=9, mtime=0))
    if method == "lzma":
        return len(lzma.compress(data))
    if method == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            archive.writestr("model.pth", data)
        return len(buffer.getvalue())
    raise ValueError(f"unknown compression method {method!r}; expected 'gzip', 'zip' or 'lzma'")


def to_sparse_state_dict(obj: nn.Module | Mapping, min_sparsity: float = 0.5) -> dict:
    """Store every weight (floating point, 2-d or more) with at least `min_sparsity` zeros as CSR.

    A weight of any shape is viewed as a matrix (first dimension by the rest, i.e.
    output channels by fan-in) and kept as `{"shape", "crow_indices", "col_indices",
    "values"}` with int32 indices. Other entries are kept as they are.
    `from_sparse_state_dict` undoes it exactly.
    """
    if not 0.0 <= min_sparsity <= 1.0:
        raise ValueError(f"min_sparsity must be in [0, 1], got {min_sparsity!r}")
    out: dict = {}
    for name, tensor in state_dict_of(obj).items():
        if tensor.is_floating_point() and tensor.dim() >= 2 and tensor.numel() > 0:
            sparsity = float((tensor == 0).sum()) / tensor.numel()
            if sparsity >= min_sparsity:
                out[name] = {"shape": tuple(tensor.shape), **_csr(tensor.detach().reshape(tensor.shape[0], -1))}
                continue
        out[name] = tensor
    return out


def from_sparse_state_dict(sparse: Mapping) -> dict[str, torch.Tensor]:
    """The dense state_dict back from `to_sparse_state_dict` (load it with `load_state_dict`)."""
    dense: dict[str, torch.Tensor] = {}
    for name, entry in sparse.items():
        if isinstance(entry, Mapping):
            dense[name] = _from_csr(entry)
        else:
            dense[name] = entry
    return dense


def _csr(matrix: torch.Tensor) -> dict[str, torch.Tensor]:
    """Compressed sparse rows: the non-zero values row by row, their column indices, and
    where each row starts (row i is values[crow[i]:crow[i + 1]])."""
    nonzero = matrix != 0
    crow = torch.zeros(matrix.shape[0] + 1, dtype=torch.int32)
    crow[1:] = torch.cumsum(nonzero.sum(dim=1), dim=0)
    return {"crow_indices": crow, "col_indices": nonzero.nonzero()[:, 1].to(torch.int32), "values": matrix[nonzero]}


def _from_csr(entry: Mapping) -> torch.Tensor:
    shape = tuple(entry["shape"])
    crow, cols, values = entry["crow_indices"].long(), entry["col_indices"].long(), entry["values"]
    if len(crow) != shape[0] + 1 or len(cols) != len(values) or int(crow[-1]) != len(values):
        raise ValueError(f"inconsistent sparse entry for shape {shape}: the file is damaged")
    matrix = torch.zeros(shape[0], math.prod(shape[1:]), dtype=values.dtype)
    rows = torch.repeat_interleave(torch.arange(shape[0]), crow.diff())
    matrix[rows, cols] = values
    return matrix.reshape(shape)


def size_report(obj: nn.Module | Mapping, compression: str = "gzip") -> dict[str, int]:
    """Bytes on disk four ways: dense, dense compressed, sparse (CSR), sparse compressed."""
    dense = saved_bytes(obj)
    sparse = saved_bytes(to_sparse_state_dict(obj))
    return {
        "dense": len(dense),
        f"dense+{compression}": compressed_size(dense, compression),
        "sparse_csr": len(sparse),
        f"sparse_csr+{compression}": compressed_size(sparse, compression),
    }


def save_compressed(obj: nn.Module | Mapping, path: str | os.PathLike, sparse: bool = True) -> int:
    """Save a (pruned) state_dict gzip-compressed, as CSR when `sparse`; atomic. Returns bytes written.

    Read it back with `load_compressed`.
    """
    path = Path(path)
    state = to_sparse_state_dict(obj) if sparse else state_dict_of(obj)
    data = gzip.compress(saved_bytes(state), compresslevel=9, mtime=0)
    atomic_write_bytes(path, data)
    return len(data)


def load_compressed(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The dense state_dict from a file written by `save_compressed`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as err:
        raise ValueError(f"{path} is not a gzip-compressed cvbook state_dict: {err}") from err
    return from_sparse_state_dict(torch.load(io.BytesIO(raw), weights_only=True))
