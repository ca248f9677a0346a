"""Error analysis: which classes are mistaken for which, and what the mistakes look like."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def most_confused_pairs(confusion: torch.Tensor, class_names: Sequence[str],
                        k: int = 10) -> list[tuple[str, str, int]]:
    """The k largest off-diagonal cells as (true class, predicted class, count),
    largest first; cells with count 0 are left out."""
    cm = torch.as_tensor(confusion).clone()
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] != len(class_names):
        raise ValueError(f"confusion matrix of shape {tuple(cm.shape)} does not match "
                         f"{len(class_names)} class names")
    cm.fill_diagonal_(0)
    counts, flat = cm.flatten().sort(descending=True, stable=True)
    n = cm.shape[0]
    return [(class_names[i // n], class_names[i % n], int(c))
            for c, i in zip(counts[:k].tolist(), flat[:k].tolist()) if c > 0]


def mistakes(targets: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Indices of wrongly classified images, the most confident mistakes first."""
    probs = logits.softmax(dim=1)
    conf, preds = probs.max(dim=1)
    wrong = (preds != targets).nonzero().flatten()
    return wrong[conf[wrong].argsort(descending=True, stable=True)]


def mistake_gallery(images: torch.Tensor, targets: torch.Tensor, logits: torch.Tensor,
                    class_names: Sequence[str], n: int = 16, columns: int = 8):
    """A matplotlib figure of the n most confident mistakes, each titled
    'true -> predicted (confidence)'. `images` are uint8 or float (N, C, H, W)."""
    import matplotlib.pyplot as plt

    idx = mistakes(targets, logits)[:n]
    rows = max(1, -(-len(idx) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False)
    probs = logits.softmax(dim=1)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, idx.tolist()):
        img = images[i].float()
        img = (img - img.min()) / (img.max() - img.min()).clamp_min(1e-8)
        ax.imshow(img.permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray" if img.shape[0] == 1 else None)
        pred = int(probs[i].argmax())
        ax.set_title(f"{class_names[int(targets[i])]}\n-> {class_names[pred]} ({probs[i, pred]:.2f})",
                     fontsize=7)
    fig.tight_layout()
    return fig
