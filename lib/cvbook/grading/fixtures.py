"""Test helpers that run in the student's kernel (see `remote.runs_in_kernel`): what a
test needs to observe next to the student's objects, returned as data."""

from __future__ import annotations

from cvbook.grading.remote import runs_in_kernel


@runs_in_kernel
def value_and_grad(function, inputs, *args):
    """(function(inputs, *args), d function / d inputs): the gradient through the student's code."""
    import torch

    inputs = inputs.detach().clone().requires_grad_(True)
    value = function(inputs, *args)
    if not isinstance(value, torch.Tensor) or not value.requires_grad:
        return value, None
    (grad,) = torch.autograd.grad(value.sum(), inputs, allow_unused=True)
    return value.detach(), grad


class RecordingTransform:
    """A transform that reports what it was given, as its result:
    ("transformed", how many calls so far, the input's type, its pixels if it is a PIL image)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        import numpy as np

        self.calls += 1
        kind = f"{type(image).__module__}.{type(image).__name__}"
        return "transformed", self.calls, kind, np.array(image) if kind.startswith("PIL.") else None


@runs_in_kernel
def training_step(module, x, weights):
    """One training step's backward pass through `module` in its current mode: (module(x), the
    gradient of (module(x) * weights).sum() with respect to x, {name: gradient} of each
    parameter, None where the loss does not reach it)."""
    import torch

    x = x.detach().clone().requires_grad_(True)
    out = module(x)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return out, None, {}
    named = [(k, p) for k, p in module.named_parameters() if p.requires_grad]
    grads = torch.autograd.grad((out * weights).sum(), [x] + [p for _, p in named], allow_unused=True)
    return out.detach(), grads[0], {k: g for (k, _), g in zip(named, grads[1:])}
