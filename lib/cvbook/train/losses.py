"""Cross-entropy with label smoothing, for hard labels and for the soft labels that
MixUp and CutMix produce."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def smooth_targets(targets: torch.Tensor, num_classes: int, smoothing: float = 0.0) -> torch.Tensor:
    """Class indices (N,) or probabilities (N, K) -> probabilities (N, K) where a share
    `smoothing` of the mass is spread evenly over all K classes."""
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"label smoothing must be in [0, 1), got {smoothing}")
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).float()
    elif targets.shape[-1] != num_classes:
        raise ValueError(f"soft targets have {targets.shape[-1]} classes, logits have {num_classes}")
    return targets * (1.0 - smoothing) + smoothing / num_classes


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                       smoothing: float = 0.0) -> torch.Tensor:
    """Mean over the batch of -sum_k q_k log p_k, with q the (smoothed) targets. For class
    indices this equals nn.CrossEntropyLoss(label_smoothing=smoothing)."""
    q = smooth_targets(targets, logits.shape[-1], smoothing)
    return -(q * F.log_softmax(logits.float(), dim=-1)).sum(dim=-1).mean()
