"""Figures: confusion matrix, training curves, feature maps. Each function returns a
matplotlib Figure; `save_figure` writes it as PNG atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    from cvbook.files import atomic_write

    return atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi, bbox_inches="tight"))


def plot_confusion_matrix(confusion: torch.Tensor, class_names: Sequence[str],
                          normalize: bool = True, title: str = "Confusion matrix"):
    """Rows are true classes, columns predictions; normalised per row (recall) by default."""
    import matplotlib.pyplot as plt

    cm = torch.as_tensor(confusion).double()
    if normalize:
        cm = cm / cm.sum(1, keepdim=True).clamp_min(1)
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(1 + 0.55 * n, 1 + 0.5 * n))
    im = ax.imshow(cm.numpy(), cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true", title=title)
    ax.set_xticklabels(class_names, rotation=45, ha="right")
    ax.set_yticklabels(class_names)
    if n <= 20:  # numbers stay readable up to about 20 classes
        for i in range(n):
            for j in range(n):
                v = cm[i, j].item()
                ax.text(j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center",
                        fontsize=7, color="white" if v > cm.max().item() / 2 else "black")
    fig.tight_layout()
    return fig


def plot_history(history: dict, metric: str = "loss", title: str | None = None):
    """Train and validation curves of `metric` ('loss' or 'acc') against the epoch."""
    import matplotlib.pyplot as plt

    if metric not in ("loss", "acc"):
        raise ValueError(f"metric must be 'loss' or 'acc', got {metric!r}")
    missing = [k for k in (f"train_{metric}", f"val_{metric}") if k not in history]
    if missing:
        raise ValueError(f"history has no {missing}; keys found: {sorted(history)}")
    epochs = history.get("epoch") or list(range(1, len(history[f"train_{metric}"]) + 1))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, history[f"train_{metric}"], marker=".", label="train")
    ax.plot(epochs, history[f"val_{metric}"], marker=".", label="validation")
    ax.set(xlabel="epoch", ylabel="accuracy" if metric == "acc" else "loss",
           title=title or ("Accuracy" if metric == "acc" else "Loss"))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_feature_maps(maps: torch.Tensor, max_channels: int = 16, columns: int = 8,
                      title: str | None = None):
    """The first channels of one image's feature maps (C, H, W) as a grid of images."""
    import matplotlib.pyplot as plt

    if maps.ndim != 3:
        raise ValueError(f"expected one image's feature maps (C, H, W), got {tuple(maps.shape)}")
    n = min(max_channels, maps.shape[0])
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for c, ax in zip(range(n), axes.flat):
        ax.imshow(maps[c].float().cpu().numpy(), cmap="viridis")
        ax.set_title(str(c), fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
