"""Checkpoints that survive a crash: written to a temporary file in the same folder,
then renamed over the target (a rename within one file system is atomic), so a
reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cvbook.files import atomic_write, atomic_write_json  # noqa: F401 - re-exported


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """torch.save, atomically."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def rng_state() -> dict:
    """Every random generator a training step may draw from."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by cvbook.train, with a clear error if it is missing
    or is not one."""
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


def load_trained_model(path: str | os.PathLike, device: str | torch.device = "cpu"):
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
