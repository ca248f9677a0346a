"""Transfer learning: split a model into backbone and head, replace the head, freeze
parts of the backbone, give each depth its own learning rate, and fine-tune.

Every cvbook model ends in one `nn.Linear` classifier (`head`, `fc`, `classifier` or
`classifier.N`); it is the last Linear registered, and everything before it is the
backbone. That is what `head_name` relies on.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def head_name(model: nn.Module) -> str:
    """Dotted name of the model's classifier: its last registered nn.Linear."""
    names = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to use as a classifier head")
    return names[-1]


def make_head(in_features: int, num_classes: int, hidden: int | None = None,
              dropout: float = 0.0) -> nn.Module:
    """A linear head (hidden=None) or an MLP head: Linear -> ReLU -> Dropout -> Linear."""
    if hidden is None:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_features, num_classes)) if dropout \
            else nn.Linear(in_features, num_classes)
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                         nn.Linear(hidden, num_classes))


def replace_head(model: nn.Module, num_classes: int, hidden: int | None = None,
                 dropout: float = 0.0) -> nn.Module:
    """Put a freshly initialised head for `num_classes` where the old classifier was
    (same input width); returns the new head. The model is changed in place."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    name = head_name(model)
    old = model.get_submodule(name)
    head = make_head(old.in_features, num_classes, hidden, dropout).to(old.weight.device)
    parent_name, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, head)
    return head


def set_trainable(model: nn.Module, trainable_prefixes: tuple[str, ...] = ()) -> int:
    """Freeze every parameter except those whose name starts with one of
    `trainable_prefixes` (e.g. ("head",) or ("block6", "head")); returns how many
    parameters stay trainable. A prefix that matches nothing is an error (a typo would
    otherwise freeze the whole model silently)."""
    names = [name for name, _ in model.named_parameters()]
    for prefix in trainable_prefixes:
        if not any(name == prefix or name.startswith(prefix + ".") for name in names):
            tops = sorted({name.split(".")[0] for name in names})
            raise ValueError(f"no parameter of the model starts with {prefix!r}; top-level names: {tops}")
    trainable = 0
    for name, p in model.named_parameters():
        p.requires_grad = any(name == prefix or name.startswith(prefix + ".") for prefix in trainable_prefixes)
        trainable += p.numel() if p.requires_grad else 0
    return trainable


def unfreeze(model: nn.Module) -> None:
    for p in model.parameters():
        p.requires_grad = True


def discriminative_param_groups(model: nn.Module, lr: float, decay: float = 0.3,
                                weight_decay: float = 0.0) -> list[dict]:
    """One optimiser group per top-level child that has trainable parameters, in
    order; the last (the head) gets `lr`, the one before `lr * decay`, then
    `lr * decay**2`, ...: early layers, which hold generic features, move least."""
    if not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    children = [(name, [p for p in child.parameters() if p.requires_grad])
                for name, child in model.named_children()]
    children = [(name, params) for name, params in children if params]
    if not children:
        raise ValueError("the model has no trainable parameters")
    depth = len(children)
    return [{"params": params, "lr": lr * decay ** (depth - 1 - i), "weight_decay": weight_decay, "name": name}
            for i, (name, params) in enumerate(children)]


def _freeze_frozen_batchnorm(model: nn.Module) -> None:
    """BatchNorm layers whose scale and shift are frozen keep their running statistics
    too: in train mode they would drift towards the few new images."""
    for m in model.modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters(recurse=False)):
            m.eval()


def fit(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, optimizer: torch.optim.Optimizer,
        epochs: int, batch_size: int = 32, seed: int = 0) -> list[float]:
    """Plain fine-tuning loop on normalised float images (N, C, H, W): shuffle, forward,
    cross-entropy, step. Returns the mean training loss of each epoch."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        model.train()
        _freeze_frozen_batchnorm(model)
        order, total = torch.randperm(len(images), generator=generator), 0.0
        for start in range(0, len(images), batch_size):
            idx = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(images[idx]), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(images))
    return losses
