"""Logits of a model for stored images: the inference path every score in the course uses."""

from __future__ import annotations

import torch
from torch import nn

from cvbook.data.normalize import to_input


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, meta: dict, batch_size: int = 512,
            device=None, channels_last: bool = False, bf16: bool = False) -> torch.Tensor:
    """Logits (N, K) in float32 for uint8 images (N, C, H, W), in eval mode."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(images), batch_size):
        x = to_input(images[i:i + batch_size], meta, device, channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out.append(model(x).float().cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.empty(0)
