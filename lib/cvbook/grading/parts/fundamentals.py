"""Checks of the fundamentals assignment (output sizes, convolution by loops, a stable
cross-entropy, SGD with momentum)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cvbook.grading.checks import (CheckFailed, call_unchanged, check_number, check_tensor, check_unchanged,
                                   raised, snapshot)


# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"conv_output_size": 1, "conv2d_loop": 2, "cross_entropy_from_logits": 3, "sgd_momentum_step": 4}


def _shape(x: torch.Tensor) -> str:
    return f"of shape {tuple(x.shape)}"


def check_conv_output_size(conv_output_size, size: int, kernel: int, stride: int = 1, padding: int = 0,
                           dilation: int = 1) -> None:
    """An int: floor((size + 2 padding - dilation (kernel - 1) - 1) / stride) + 1, what PyTorch's layers give."""
    what = (f"conv_output_size(size={size}, kernel={kernel}, stride={stride}, padding={padding}, "
            f"dilation={dilation})")
    expected = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
    got = call_unchanged(conv_output_size, "conv_output_size", {"size": size, "kernel": kernel},
                         {"stride": stride, "padding": padding, "dilation": dilation}, what=what)
    if isinstance(got, int) and not isinstance(got, bool) and got != expected:
        room = size + 2 * padding - dilation * (kernel - 1) - 1
        if got == math.ceil(room / stride) + 1:
            raise CheckFailed(f"{what}: expected {expected}, got {got}: round the division down (a window that "
                              f"would run past the padded edge is dropped)")
        if dilation > 1 and got == (size + 2 * padding - kernel * dilation) // stride + 1:
            raise CheckFailed(f"{what}: expected {expected}, got {got}: a kernel of {kernel} with dilation "
                              f"{dilation} spans dilation * (kernel - 1) + 1 = {dilation * (kernel - 1) + 1} "
                              f"pixels, not kernel * dilation")
        if padding and got == (size + padding - dilation * (kernel - 1) - 1) // stride + 1:
            raise CheckFailed(f"{what}: expected {expected}, got {got}: padding is added on both sides")
    check_number(got, expected, what, kind="int")


def check_conv2d_loop(conv2d_loop, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                      stride: int = 1, padding: int = 0) -> None:
    """A tensor equal to F.conv2d(x, weight, bias, stride=stride, padding=padding)."""
    what = (f"conv2d_loop(x {_shape(x)}, weight {_shape(weight)}, "
            f"bias={'None' if bias is None else 'a tensor ' + _shape(bias)}, stride={stride}, padding={padding})")
    expected = F.conv2d(x, weight, bias, stride=stride, padding=padding)
    inputs = {"x": x, "weight": weight, "bias": bias}
    got = call_unchanged(conv2d_loop, "conv2d_loop", inputs, {"stride": stride, "padding": padding}, what=what)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.allclose(
            got.detach().double(), expected.double(), atol=1e-4, rtol=1e-4):
        g = got.detach().double()
        if bias is not None and torch.allclose(g, F.conv2d(x, weight, None, stride=stride, padding=padding).double(),
                                               atol=1e-4, rtol=1e-4):
            raise CheckFailed(f"{what}: the values are right except that the bias is missing: add bias[o] to "
                              f"every pixel of output channel o")
        flipped = F.conv2d(x, weight.flip(-1, -2), bias, stride=stride, padding=padding).double()
        if torch.allclose(g, flipped, atol=1e-4, rtol=1e-4):
            raise CheckFailed(f"{what}: you flipped the kernel (textbook convolution); PyTorch's conv2d does not "
                              f"flip it: multiply x[..., i*stride + u, j*stride + v] by weight[..., u, v]")
    check_tensor(got, expected, what, atol=1e-4, rtol=1e-4)


def _logits(logits: torch.Tensor) -> str:
    return f"logits {_shape(logits)} in [{float(logits.min()):.4g}, {float(logits.max()):.4g}]"


def check_cross_entropy(cross_entropy_from_logits, logits: torch.Tensor, targets: torch.Tensor) -> None:
    """A 0-d float tensor: the mean over the batch of -log softmax(logits)[target], as F.cross_entropy."""
    what = f"cross_entropy_from_logits({_logits(logits)}, targets {_shape(targets)})"
    expected = F.cross_entropy(logits.double(), targets).to(logits.dtype)
    got = call_unchanged(cross_entropy_from_logits, "cross_entropy_from_logits",
                         {"logits": logits, "targets": targets}, what=what)
    if isinstance(got, torch.Tensor) and got.numel() == 1 and got.is_floating_point():
        value = float(got.detach().reshape(()))
        if not math.isfinite(value):
            raise CheckFailed(f"{what}: got {value}, expected {float(expected):.6g}: exp of a large logit "
                              f"overflows to inf; subtract each row's maximum before exp (log-sum-exp trick)")
        total = float(F.cross_entropy(logits.double(), targets, reduction="sum"))
        if len(targets) > 1 and abs(value - total) <= 1e-4 * max(1.0, abs(total)):
            raise CheckFailed(f"{what}: got {value:.6g}, the sum over the batch; expected its mean "
                              f"{float(expected):.6g}")
    # float32 keeps about 7 digits: with logits near 1e4, the log-sum-exp is exact to about 1e-3 only.
    atol = 1e-4 + 8 * torch.finfo(logits.dtype).eps * float(logits.abs().max())
    check_tensor(got, expected, what, atol=atol, rtol=1e-5)


def check_sgd_momentum_step(sgd_momentum_step, shapes: list[tuple[int, ...]], lr: float, momentum: float,
                            steps: int, seed: int) -> None:
    """After `steps` calls on the same params and velocities (zeros at first), both equal what
    torch.optim.SGD(lr=lr, momentum=momentum) holds (parameters and momentum buffers)."""
    what = (f"sgd_momentum_step over {steps} step{'s' if steps > 1 else ''} on {len(shapes)} parameter "
            f"tensor{'s' if len(shapes) > 1 else ''} of shapes {shapes}, lr={lr}, momentum={momentum}")
    g = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=g) for s in shapes]
    params = [p.clone() for p in start]
    velocities = [torch.zeros(s) for s in shapes]
    reference = [torch.nn.Parameter(p.clone()) for p in start]
    optimiser = torch.optim.SGD(reference, lr=lr, momentum=momentum)
    for step in range(1, steps + 1):
        grads = [torch.randn(s, generator=g) for s in shapes]
        before = snapshot({"grads": grads})
        lists = {"params": list(params), "velocities": list(velocities)}
        try:
            sgd_momentum_step(lists["params"], grads, lists["velocities"], lr, momentum)
        except (CheckFailed, NotImplementedError):
            raise
        except Exception as error:  # noqa: BLE001 - the student's exception, reported with the case
            raise CheckFailed(raised(f"{what}, step {step}", "sgd_momentum_step", error)) from None
        check_unchanged("sgd_momentum_step", before, {"grads": grads}, f"{what}, step {step}")
        for p, grad in zip(reference, grads):
            p.grad = grad.clone()
        optimiser.step()
        for i, (p, v, ref) in enumerate(zip(params, velocities, reference)):
            buffer = optimiser.state[ref].get("momentum_buffer")
            buffer = grads[i] if buffer is None else buffer   # momentum 0: PyTorch keeps no buffer, v = g
            at = f"{what}, after step {step}"
            if torch.equal(p, start[i]) and step == 1:
                raise CheckFailed(f"{at}: params[{i}] did not change: update the velocity first, then step "
                                  f"with the new one, p -= lr * v, changing each parameter tensor in place "
                                  f"(p -= ... or p.sub_(...)) as torch.optim does; rebinding a name or a list "
                                  f"element leaves the caller's tensor as it was")
            if not torch.allclose(v, buffer, atol=1e-5, rtol=1e-5):
                hint = ""
                if step == 1 and torch.count_nonzero(v) == 0:
                    hint = ("; velocities[{i}] is still zero: update each velocity tensor in place "
                            "(v.mul_(momentum).add_(g)), the caller keeps it for the next step").format(i=i)
                elif torch.allclose(v, lr * buffer, atol=1e-5, rtol=1e-5):
                    hint = ("; your velocity includes the learning rate: PyTorch keeps v = momentum * v + g "
                            "and steps p -= lr * v")
                raise CheckFailed(f"{at}: velocities[{i}] differs from torch.optim.SGD's momentum buffer "
                                  f"(largest difference {float((v - buffer).abs().max()):.3g}){hint}")
            check_tensor(p, ref.detach(), f"{at}: params[{i}]", atol=1e-5, rtol=1e-5)
