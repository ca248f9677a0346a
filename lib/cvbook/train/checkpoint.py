"""The random state a checkpoint carries, so that a resumed run continues bit for bit.
Writing and reading checkpoints (atomically) is cvbook.files'."""

from __future__ import annotations

import random

import numpy as np
import torch


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
