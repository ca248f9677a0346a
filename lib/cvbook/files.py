"""Every file cvbook writes is written atomically: into a uniquely named temporary file in
the same folder, flushed to disk, then renamed over the target (a rename within one file
system is atomic). A reader, or a run that crashed half-way, sees the old file or the new
one, never half of one; two runs writing at once never share a temporary file.

Checkpoints live here too: `atomic_save` writes one, `load_checkpoint` reads one with a
clear error, and `load_trained_model` rebuilds the model a `cvbook train` checkpoint
describes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Call write(file) on a temporary file next to `path`, then rename it to `path`.
    If write raises, the temporary file is removed and `path` is left untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text), mode="w")


def atomic_write_json(obj: Any, path: str | os.PathLike) -> Path:
    return atomic_write(path, lambda f: json.dump(obj, f, indent=2), mode="w")


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save, atomically."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a checkpoint written by cvbook.train, with a clear error if it is missing
    or is not one."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        # Our checkpoints hold numpy RNG state and plain Python objects besides tensors;
        # only load files you trust (the same caveat as any pickle).
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:
        raise ValueError(f"{path}: not a readable torch checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ValueError(f"{path}: not a cvbook checkpoint (expected a dict with a 'model' entry)")
    return ckpt


def load_trained_model(path: str | os.PathLike, device="cpu"):
    """(model in eval mode, meta) from best_model.pth or any cvbook checkpoint: the
    model is rebuilt with cvbook.models.create_model from the saved description."""
    from cvbook.models import create_model

    ckpt = load_checkpoint(path, device)
    meta = ckpt.get("meta") or {}
    missing = [k for k in ("model", "num_classes", "in_chans", "img_size", "mean", "std") if k not in meta]
    if missing:
        raise ValueError(f"{path}: checkpoint does not describe its model (missing {missing}); "
                         f"was it written by `cvbook train`?")
    model = create_model(meta["model"], num_classes=meta["num_classes"], in_chans=meta["in_chans"],
                         img_size=meta["img_size"])
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), meta
