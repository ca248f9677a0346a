"""What a student's kernel sends back to the grader: data, never pickles.

The grading kernel encodes every value a student's code returns as JSON plus raw byte
blobs (tensors, arrays, images); the grader decodes it into plain Python values,
tensors, NumPy arrays and PIL images. Decoding creates no object of a class the student
wrote and runs no code of theirs, so a returned value cannot fake a comparison (an
object whose `__eq__` always says True arrives as a handle, not as that object).
Values that are not data (a module, a dataset, a function) stay in the kernel and
travel as a handle: {"$": "handle", "id": n}. The grader turns a handle into a proxy
that asks the kernel again (cvbook.grading.remote).

Used on both sides: `encode` in the kernel (cvbook.grading.harness), `decode` in the grader.
"""

from __future__ import annotations

import base64
import json
import numbers
from typing import Any, Callable

MAX_MESSAGE_BYTES = 256 << 20  # a reply larger than this is refused, not read


class DecodeError(ValueError):
    """A reply that is not well-formed data."""


# --------------------------------------------------------------------------- encoding (kernel side)


def encode(value: Any, make_handle: Callable[[Any], int], views_of: list | None = None) -> Any:
    """`value` as a JSON-able tree. Non-data objects become handles via `make_handle`;
    a tensor that shares memory with the i-th of `views_of` is sent as a view of it."""
    import torch

    def enc(x, depth=0):
        if depth > 50:
            raise ValueError("the value is nested more than 50 levels deep")
        if x is None or type(x) in (bool, str):
            return x
        if isinstance(x, bool):
            return bool(x)
        if type(x) is int or (isinstance(x, numbers.Integral) and not _is_numpy(x) and not isinstance(x, torch.Tensor)):
            return {"$": "int", "v": str(int(x))} if abs(int(x)) > 2 ** 53 else int(x)
        if type(x) is float or (isinstance(x, float) and not _is_numpy(x)):
            return {"$": "float", "v": repr(float(x))}
        if isinstance(x, torch.Tensor):
            return _enc_tensor(x, views_of)
        if _is_numpy(x):
            return _enc_numpy(x)
        if isinstance(x, torch.dtype):
            return {"$": "dtype", "v": str(x).removeprefix("torch.")}
        if isinstance(x, torch.Size):
            return {"$": "size", "v": [int(i) for i in x]}
        if isinstance(x, torch.device):
            return {"$": "device", "v": str(x)}
        if isinstance(x, torch.Generator):
            return {"$": "generator", "state": _b64(x.get_state().numpy().tobytes())}
        if type(x) in (tuple, list) or (isinstance(x, tuple) and hasattr(x, "_fields")):
            return {"$": "tuple" if isinstance(x, tuple) else "list", "v": [enc(i, depth + 1) for i in x]}
        if type(x) is dict or type(x).__name__ == "OrderedDict" and isinstance(x, dict):
            items = list(x.items())
            return {"$": "dict", "k": [enc(k, depth + 1) for k, _ in items], "v": [enc(v, depth + 1) for _, v in items]}
        if isinstance(x, (bytes, bytearray)):
            return {"$": "bytes", "v": _b64(bytes(x))}
        if _is_pil(x):
            return {"$": "pil", "mode": str(x.mode), "size": [int(s) for s in x.size], "v": _b64(x.tobytes())}
        return {"$": "handle", "id": make_handle(x), "type": _type_name(x)}

    return enc(value)


def _type_name(x) -> str:
    cls = type(x)
    return f"{cls.__module__}.{cls.__qualname__}"[:200]


def _is_numpy(x) -> bool:
    return type(x).__module__ == "numpy" and hasattr(x, "dtype")


def _is_pil(x) -> bool:
    return any(c.__module__.startswith("PIL.") and c.__name__ == "Image" for c in type(x).__mro__)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _enc_tensor(t, views_of) -> dict:
    import torch

    t = t.as_subclass(torch.Tensor) if type(t) is not torch.Tensor and not isinstance(t, torch.nn.Parameter) else t
    out = {"$": "tensor", "dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
           "stride": list(t.stride()), "requires_grad": bool(t.requires_grad),
           "parameter": isinstance(t, torch.nn.Parameter), "contiguous": t.is_contiguous()}
    for i, base in enumerate(views_of or []):
        if isinstance(base, torch.Tensor) and t.numel() and base.numel() and \
                t.untyped_storage().data_ptr() == base.untyped_storage().data_ptr():
            out.update(view_of=i, offset=t.storage_offset() - base.storage_offset())
            break
    data = t.detach().cpu().contiguous()
    raw = data.reshape(-1).view(torch.uint8).numpy().tobytes() if data.numel() else b""
    out["v"] = _b64(raw)
    return out


def _enc_numpy(x) -> dict:
    import numpy as np

    if x.dtype == object:
        raise TypeError("a NumPy array of Python objects is not data")
    arr = np.ascontiguousarray(x)
    return {"$": "ndarray" if isinstance(x, np.ndarray) else "npscalar", "dtype": arr.dtype.str,
            "shape": list(arr.shape), "v": _b64(arr.tobytes())}


def dumps(tree: Any) -> bytes:
    return json.dumps(tree, allow_nan=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- decoding (grader side)


def loads(data: bytes) -> Any:
    if len(data) > MAX_MESSAGE_BYTES:
        raise DecodeError(f"a reply of {len(data)} bytes is larger than the {MAX_MESSAGE_BYTES} allowed")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:
        raise DecodeError(f"the reply is not JSON ({err})") from None


def decode(tree: Any, make_proxy: Callable[[int, str], Any], views_of: list | None = None) -> Any:
    """The tree `encode` made, as values; handles through `make_proxy(id, type)`."""
    import numpy as np
    import torch

    def dec(x, depth=0):
        if depth > 60:
            raise DecodeError("nested too deeply")
        if x is None or type(x) in (bool, int, str):
            return x
        if type(x) is float:
            return x
        if type(x) is list:  # plain JSON lists do not occur in encode's output, but are harmless
            return [dec(i, depth + 1) for i in x]
        if type(x) is not dict or not isinstance(x.get("$"), str):
            raise DecodeError(f"unexpected element {str(x)[:80]!r}")
        kind = x["$"]
        if kind == "int":
            return int(x["v"])
        if kind == "float":
            return float(x["v"])
        if kind in ("tuple", "list"):
            items = [dec(i, depth + 1) for i in _list(x["v"])]
            return tuple(items) if kind == "tuple" else items
        if kind == "dict":
            return {_hashable(dec(k, depth + 1)): dec(v, depth + 1) for k, v in zip(_list(x["k"]), _list(x["v"]))}
        if kind == "tensor":
            return _dec_tensor(x, views_of)
        if kind in ("ndarray", "npscalar"):
            arr = np.frombuffer(_unb64(x["v"]), dtype=_np_dtype(x["dtype"])).reshape(_shape(x["shape"])).copy()
            return arr if kind == "ndarray" else arr[()]
        if kind == "dtype":
            return _torch_dtype(x["v"])
        if kind == "size":
            return torch.Size(_shape(x["v"]))
        if kind == "device":
            return torch.device(str(x["v"]))
        if kind == "generator":
            g = torch.Generator()
            g.set_state(torch.frombuffer(bytearray(_unb64(x["state"])), dtype=torch.uint8))
            return g
        if kind == "bytes":
            return _unb64(x["v"])
        if kind == "pil":
            from PIL import Image

            return Image.frombytes(str(x["mode"]), tuple(_shape(x["size"])), _unb64(x["v"]))
        if kind == "handle":
            return make_proxy(int(x["id"]), str(x.get("type", "object")))
        raise DecodeError(f"unknown kind {kind!r}")

    try:
        return dec(tree)
    except DecodeError:
        raise
    except Exception as err:  # noqa: BLE001 - any malformed reply is one clear error
        raise DecodeError(f"malformed value ({type(err).__name__}: {err})") from None


def _list(v) -> list:
    if type(v) is not list:
        raise DecodeError("expected a list")
    return v


def _shape(v) -> list[int]:
    shape = [int(i) for i in _list(v)]
    if any(i < 0 for i in shape):
        raise DecodeError("negative size")
    return shape


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(i) for i in k)
    return k


def _unb64(s) -> bytes:
    if not isinstance(s, str):
        raise DecodeError("expected base64 text")
    return base64.b64decode(s, validate=True)


def _np_dtype(s):
    import numpy as np

    dtype = np.dtype(str(s))
    if dtype.hasobject:
        raise DecodeError("object arrays are not data")
    return dtype


def _torch_dtype(name):
    import torch

    dtype = getattr(torch, str(name), None)
    if not isinstance(dtype, torch.dtype):
        raise DecodeError(f"unknown dtype {name!r}")
    return dtype


def _dec_tensor(x: dict, views_of) -> Any:
    import torch

    dtype, shape, stride = _torch_dtype(x["dtype"]), _shape(x["shape"]), [int(s) for s in _list(x["stride"])]
    if "view_of" in x and views_of is not None:
        base = views_of[int(x["view_of"])]
        if isinstance(base, torch.Tensor) and base.dtype == dtype:
            try:
                return base.as_strided(shape, stride, base.storage_offset() + int(x["offset"]))
            except RuntimeError:
                pass  # an impossible geometry: fall back to the values
    raw = _unb64(x["v"])
    numel = 1
    for s in shape:
        numel *= s
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * itemsize:
        raise DecodeError(f"a tensor of shape {shape} and dtype {dtype} needs {numel * itemsize} bytes, got {len(raw)}")
    flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype) if raw else torch.empty(0, dtype=dtype)
    t = flat.reshape(shape)
    if len(stride) == len(shape) and tuple(stride) != tuple(t.stride()) and _dense_permutation(shape, stride):
        t = torch.empty_strided(shape, stride, dtype=dtype).copy_(t)  # the layout the student's tensor had
    if x.get("parameter"):
        return torch.nn.Parameter(t, requires_grad=bool(x.get("requires_grad")))
    return t.requires_grad_(bool(x.get("requires_grad"))) if t.is_floating_point() or t.is_complex() else t


def _dense_permutation(shape, stride) -> bool:
    """Whether `stride` lays `shape` out densely without overlap (some order of the dimensions)."""
    dims = sorted((s, n) for s, n in zip(stride, shape) if n != 1)
    expected = 1
    for s, n in dims:
        if s != expected:
            return False
        expected *= n
    return True
