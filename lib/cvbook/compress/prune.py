"""Unstructured magnitude pruning: set the smallest weights to zero.

Built on `torch.nn.utils.prune`, which works by reparametrising: `weight` becomes
`weight_orig * weight_mask`, recomputed by a forward pre-hook. `make_permanent` folds
the mask in (`prune.remove`) so the model is an ordinary one again, with zeros in it.

What pruning does *not* do on its own: make the file smaller or the model faster. The
zeros are still stored as dense float32 and multiplied like any other number. See
`cvbook.compress.size` for what does shrink the file (sparse storage, compression) and
`cvbook.compress.structured` for removing whole channels, which is what speeds a CNN up.

channels_last: `prune.l1_unstructured` and `prune.global_unstructured` flatten weights
with `.view`, which fails on channels_last tensors ("view size is not compatible with
input tensor's size and stride"). With torch.nn.utils.prune directly, prune first and
convert after; the functions here do that round trip for you.
"""

from __future__ import annotations


import torch
from torch import nn
from torch.nn.utils import prune

# The layers whose weights are worth pruning; BatchNorm/LayerNorm scales are few and sensitive.
PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def prunable_parameters(model: nn.Module, layer_types: tuple[type, ...] = PRUNABLE) -> list[tuple[nn.Module, str]]:
    """(module, "weight") for every conv and linear layer, in model order."""
    params = [(m, "weight") for m in model.modules() if isinstance(m, layer_types)]
    if not params:
        raise ValueError(f"the model has no layers of types {[t.__name__ for t in layer_types]} to prune")
    return params


def _check_amount(amount: float) -> None:
    if not isinstance(amount, (int, float)) or not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount is the fraction of weights to remove and must be in [0, 1], got {amount!r}")


def _contiguous_while_pruning(model: nn.Module, params: list[tuple[nn.Module, str]]):
    """torch's pruning flattens weights with `.view`, which fails on channels_last tensors:
    convert such a model to the default layout for pruning; the caller converts it back."""
    if all(getattr(m, n).is_contiguous() for m, n in params):
        return None
    model.to(memory_format=torch.contiguous_format)
    return torch.channels_last


def prune_per_layer(model: nn.Module, amount: float, *, permanent: bool = True) -> nn.Module:
    """Zero the fraction `amount` of smallest-|w| weights in *each* conv/linear layer (L1).

    Every layer loses the same share, whatever its size or sensitivity. Works in place
    and returns the model; with `permanent=True` the masks are folded in.
    """
    _check_amount(amount)
    params = prunable_parameters(model)
    restore = _contiguous_while_pruning(model, params)
    for module, name in params:
        prune.l1_unstructured(module, name=name, amount=amount)
    return _finish(model, permanent, restore)


def prune_global(model: nn.Module, amount: float, *, permanent: bool = True) -> nn.Module:
    """Zero the fraction `amount` of smallest-|w| weights across *all* conv/linear layers.

    One threshold for the whole network: large layers with many small weights lose more,
    small sensitive layers (the first conv, the head) usually less. Usually keeps more
    accuracy than the same amount per layer. Works in place; returns the model.
    """
    _check_amount(amount)
    params = prunable_parameters(model)
    restore = _contiguous_while_pruning(model, params)
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    return _finish(model, permanent, restore)


def _finish(model: nn.Module, permanent: bool, memory_format) -> nn.Module:
    if permanent:
        make_permanent(model)
    if memory_format is not None:
        model.to(memory_format=memory_format)
    return model


def make_permanent(model: nn.Module) -> nn.Module:
    """Fold every pruning mask into its weight (`prune.remove`): no masks, no hooks left."""
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(module, hook._tensor_name)
    return model


def is_pruned(model: nn.Module) -> bool:
    """True while some layer still carries a pruning mask (not yet made permanent)."""
    return prune.is_pruned(model)


def sparsity_report(model: nn.Module, layer_types: tuple[type, ...] = PRUNABLE) -> dict[str, dict[str, float]]:
    """Per conv/linear layer: weights, zeros and the fraction that is zero; plus a "total" row.

    Reads the effective weights (`module.weight`), so it works before and after
    `make_permanent`.
    """
    report: dict[str, dict[str, float]] = {}
    total = zeros = 0
    for name, module in model.named_modules():
        if isinstance(module, layer_types):
            w = module.weight.detach()
            n, z = w.numel(), int((w == 0).sum())
            report[name] = {"weights": n, "zeros": z, "sparsity": z / n}
            total, zeros = total + n, zeros + z
    if not report:
        raise ValueError(f"the model has no layers of types {[t.__name__ for t in layer_types]}")
    report["total"] = {"weights": total, "zeros": zeros, "sparsity": zeros / total}
    return report


def format_sparsity_report(report: dict[str, dict[str, float]]) -> str:
    """The report as an aligned text table."""
    width = max(len(name) for name in report)
    lines = [f"{'layer':<{width}}  {'weights':>9}  {'zeros':>9}  sparsity"]
    for name, row in report.items():
        lines.append(f"{name:<{width}}  {row['weights']:>9,}  {row['zeros']:>9,}  {row['sparsity']:7.1%}")
    return "\n".join(lines)


@torch.no_grad()
def count_nonzero_parameters(model: nn.Module) -> int:
    """Parameters that are not exactly zero (what pruning changes; `numel` does not)."""
    return sum(int((p != 0).sum()) for p in model.parameters())
