"""Optimisers and learning-rate schedules.

Schedules are stepped once per batch (not per epoch), so a warm-up of one epoch is
smooth even when an epoch has few batches.
"""

from __future__ import annotations

import math

import torch
from torch import nn

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("cosine", "none", "onecycle")


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weight matrices and conv kernels only: decaying biases and the
    scales of normalisation layers (1-D tensors) only shrinks what should stay free."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, name: str = "sgd", lr: float = 0.1,
                    weight_decay: float = 0.0, momentum: float = 0.9) -> torch.optim.Optimizer:
    """One of sgd (with Nesterov momentum), adam, adamw, rmsprop."""
    groups = param_groups(model, weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(groups, lr=lr, momentum=momentum)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def warmup_cosine_lr(step: int, *, base_lr: float, total_steps: int, warmup_steps: int = 0,
                     warmup_start_lr: float = 0.0, min_lr: float = 0.0,
                     cosine: bool = True) -> float:
    """The learning rate at `step` (0-based): a straight line from `warmup_start_lr` to
    `base_lr` over `warmup_steps`, then half a cosine down to `min_lr` at `total_steps`
    (or constant `base_lr` when `cosine` is False)."""
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_steps
    if not cosine:
        return base_lr
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupCosine:
    """LambdaLR factor for `warmup_cosine_lr` (a class, not a lambda, so that the
    scheduler's state_dict can be saved and resumed)."""

    def __init__(self, base_lr: float, **kwargs):
        self.base_lr, self.kwargs = base_lr, kwargs

    def __call__(self, step: int) -> float:
        return warmup_cosine_lr(step, base_lr=self.base_lr, **self.kwargs) / self.base_lr


def build_scheduler(optimizer: torch.optim.Optimizer, name: str = "cosine", *, total_steps: int,
                    warmup_steps: int = 0, warmup_start_lr: float = 1e-6, min_lr: float = 0.0
                    ) -> torch.optim.lr_scheduler.LRScheduler:
    """A per-batch schedule. `name` is cosine or none (each after an optional linear
    warm-up from `warmup_start_lr`) or onecycle (warm-up share = warmup_steps/total_steps,
    0.3 when no warm-up is given; no momentum cycling)."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps={warmup_steps} must lie in 0..total_steps={total_steps}")
    base_lr = optimizer.param_groups[0]["lr"]
    if name in ("cosine", "none"):
        factor = WarmupCosine(base_lr, total_steps=total_steps, warmup_steps=warmup_steps,
                              warmup_start_lr=warmup_start_lr, min_lr=min_lr,
                              cosine=name == "cosine")
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if name == "onecycle":
        start = warmup_start_lr if warmup_start_lr > 0 else base_lr / 25
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=base_lr, total_steps=total_steps,
            pct_start=warmup_steps / total_steps if warmup_steps else 0.3,
            div_factor=base_lr / start, final_div_factor=start / max(min_lr, 1e-12),
            cycle_momentum=False)
    raise ValueError(f"unknown scheduler {name!r}; expected one of {', '.join(SCHEDULERS)}")
