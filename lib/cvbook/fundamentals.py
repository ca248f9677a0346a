"""The arithmetic under every CNN, written out plainly: what a convolution computes, how
big its output is, how far a stack of layers sees, a numerically stable cross-entropy
and one step of SGD with momentum.

These are teaching references, not fast code: PyTorch's own `F.conv2d`,
`F.cross_entropy` and `torch.optim.SGD` do the same work in the rest of the course, and
the tests check that these versions agree with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution or pooling along one axis, as PyTorch computes it.

    A dilated kernel spans `dilation * (kernel - 1) + 1` input pixels; the window fits
    `(size + 2 * padding - span) // stride + 1` times. The division rounds down: a window
    that would run past the padded edge is dropped (PyTorch's default, ceil_mode=False).
    """
    span = dilation * (kernel - 1) + 1
    room = size + 2 * padding - span
    if room < 0:
        raise ValueError(f"a kernel spanning {span} pixels does not fit in {size} pixels "
                         f"with padding {padding}")
    return room // stride + 1


def conv2d_single(image: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0,
                  dilation: int = 1) -> torch.Tensor:
    """One greyscale image (H, W) and one kernel (kH, kW): the loop a convolution layer runs.

    Written with two loops over the output and a sum over the window, so that every
    output pixel reads as "weighted sum of the input pixels under the kernel". Like
    PyTorch (and every deep-learning library), it does not flip the kernel: what is
    called convolution here is, strictly, cross-correlation.
    """
    padded = F.pad(image, (padding, padding, padding, padding))
    k_h, k_w = kernel.shape
    out_h = conv_output_size(image.shape[0], k_h, stride, padding, dilation)
    out_w = conv_output_size(image.shape[1], k_w, stride, padding, dilation)
    out = torch.zeros(out_h, out_w, dtype=image.dtype)
    for row in range(out_h):
        for col in range(out_w):
            top, left = row * stride, col * stride
            window = padded[top:top + dilation * (k_h - 1) + 1:dilation,
                            left:left + dilation * (k_w - 1) + 1:dilation]
            out[row, col] = (window * kernel).sum()
    return out


def conv2d_loop(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                stride: int = 1, padding: int = 0) -> torch.Tensor:
    """`F.conv2d(x, weight, bias, stride, padding)` for a batch (N, C, H, W) and weights
    (O, C, kH, kW), one output position at a time.

    Each output pixel of every image and filter is the sum over channels and kernel
    positions of input times weight, plus the filter's bias: one tensor contraction per
    position, so the loop only walks the output grid.
    """
    n, _, h, w = x.shape
    filters, _, k_h, k_w = weight.shape
    out_h = conv_output_size(h, k_h, stride, padding)
    out_w = conv_output_size(w, k_w, stride, padding)
    x = F.pad(x, (padding, padding, padding, padding))
    result = x.new_zeros(n, filters, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * stride:i * stride + k_h, j * stride:j * stride + k_w]
            result[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, weight)
    if bias is not None:
        result += bias.reshape(1, -1, 1, 1)
    return result


def receptive_field(layers: Sequence[tuple[int, int]]) -> list[int]:
    """Receptive field after each layer of a stack, for (kernel, stride) pairs.

    Each layer widens the field by (kernel - 1) times the *product of the strides before
    it*: one step in its input is that many input pixels. So stride early makes every
    later layer see much further.
    """
    field, jump, fields = 1, 1, []
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
        fields.append(field)
    return fields


def log_softmax(logits: torch.Tensor) -> torch.Tensor:
    """log(softmax(z)) along the last axis, computed as z - logsumexp(z).

    Subtracting the row's maximum before exp keeps every exponent <= 0, so nothing
    overflows; exp(z - max) is at most 1, and the largest is exactly 1, so the log never
    sees 0 either.
    """
    top = logits.amax(dim=-1, keepdim=True)
    shifted = logits - top
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -log softmax(logits)[target], stable for any logits.

    `logits` is (N, K), `targets` (N,) class indices. Equal to `F.cross_entropy` with its
    defaults (mean reduction, no weights, no label smoothing). Uses the log-sum-exp trick:
    -log p_t = logsumexp(z) - z_t, with the maximum subtracted inside the exp.
    """
    m = logits.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    picked = logits.gather(1, targets.long().reshape(-1, 1)).squeeze(1)
    return (lse - picked).mean()


@torch.no_grad()
def sgd_momentum_step(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
                      velocities: Sequence[torch.Tensor], lr: float, momentum: float) -> None:
    """One step of SGD with momentum, in place, with PyTorch's convention.

    v <- momentum * v + g, then p <- p - lr * v (no dampening, not Nesterov). The
    learning rate multiplies the velocity, not the gradient inside it, which is what
    torch.optim.SGD does and why its velocity buffer holds no learning rate. Start with
    zero velocities: the first step is then plain SGD, as in PyTorch.
    """
    for p, g, v in zip(params, grads, velocities):
        v.mul_(momentum).add_(g)
        p.sub_(lr * v)
