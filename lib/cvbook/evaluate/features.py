"""Feature maps from any layer, captured with forward hooks (the model is unchanged)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def layer_names(model: nn.Module) -> list[str]:
    return [name for name, _ in model.named_modules() if name]


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Run `model` on `x` and return {layer name: that layer's output} for each name
    in `layers` (names as in model.named_modules(), e.g. 'features.0' or 'layer1.1.conv2').
    The hooks are removed afterwards, even if the forward pass fails."""
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules or not name]
    if unknown:
        raise ValueError(f"unknown layer(s) {unknown}; this model has: {', '.join(layer_names(model))}")
    captured: dict[str, torch.Tensor] = {}
    hooks = [modules[name].register_forward_hook(
        lambda _m, _in, out, name=name: captured.__setitem__(name, out.detach()))
        for name in layers]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return {name: captured[name] for name in layers}
