"""cvbook.fundamentals agrees with PyTorch's own layers, losses and optimiser."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cvbook import fundamentals as fu


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", [
    (28, 3, 1, 1, 1), (28, 3, 2, 1, 1), (64, 11, 4, 2, 1), (7, 2, 2, 0, 1),
    (10, 3, 3, 0, 1), (28, 3, 1, 2, 2), (13, 5, 2, 0, 3), (5, 5, 1, 0, 1)])
def test_output_size_matches_a_real_layer(size, kernel, stride, padding, dilation):
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = conv(torch.zeros(1, 1, size, size)).shape[-1]
    assert fu.conv_output_size(size, kernel, stride, padding, dilation) == expected


def test_output_size_refuses_a_kernel_larger_than_the_input():
    with pytest.raises(ValueError, match="does not fit"):
        fu.conv_output_size(4, 3, dilation=2)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 1, 2)])
def test_single_channel_loop_matches_conv2d(stride, padding, dilation):
    g = torch.Generator().manual_seed(stride * 10 + padding + dilation)
    image, kernel = torch.randn(9, 11, generator=g), torch.randn(3, 2, generator=g)
    expected = F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding,
                        dilation=dilation)[0, 0]
    got = fu.conv2d_single(image, kernel, stride, padding, dilation)
    assert torch.allclose(got, expected, atol=1e-5)


def test_single_channel_loop_does_not_flip_the_kernel():
    image = torch.arange(9.0).reshape(3, 3)
    kernel = torch.tensor([[1.0, 0.0], [0.0, 0.0]])   # picks the top-left pixel of each window
    assert torch.equal(fu.conv2d_single(image, kernel), torch.tensor([[0.0, 1.0], [3.0, 4.0]]))


@pytest.mark.parametrize("shape,wshape,stride,padding,bias", [
    ((2, 3, 7, 9), (4, 3, 3, 3), 1, 1, True), ((1, 1, 8, 5), (2, 1, 2, 3), 2, 0, False),
    ((3, 2, 10, 10), (5, 2, 5, 1), 3, 2, True), ((2, 4, 6, 6), (1, 4, 1, 1), 1, 0, True)])
def test_batched_loop_matches_conv2d(shape, wshape, stride, padding, bias):
    g = torch.Generator().manual_seed(sum(shape))
    x, w = torch.randn(shape, generator=g), torch.randn(wshape, generator=g)
    b = torch.randn(wshape[0], generator=g) if bias else None
    got = fu.conv2d_loop(x, w, b, stride=stride, padding=padding)
    assert torch.allclose(got, F.conv2d(x, w, b, stride=stride, padding=padding), atol=1e-5)


def test_receptive_field_of_a_stack():
    assert fu.receptive_field([(3, 1), (3, 1), (3, 1)]) == [3, 5, 7]
    assert fu.receptive_field([(3, 2), (3, 2), (3, 1)]) == [3, 7, 15]
    # by a real network: the input pixels that reach the centre output through its gradient
    net = nn.Sequential(nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3))
    nn.init.constant_(net[0].weight, 1.0), nn.init.constant_(net[1].weight, 1.0), nn.init.constant_(net[2].weight, 1.0)
    x = torch.zeros(1, 1, 31, 31, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0, 0] != 0).any(dim=1).nonzero()
    assert int(rows.max() - rows.min() + 1) == 15


def test_cross_entropy_matches_pytorch_and_survives_large_logits():
    g = torch.Generator().manual_seed(0)
    logits, targets = torch.randn(16, 10, generator=g) * 3, torch.randint(0, 10, (16,), generator=g)
    assert torch.allclose(fu.cross_entropy(logits, targets), F.cross_entropy(logits, targets), atol=1e-6)
    huge = torch.tensor([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4 - 2.0]])
    got = fu.cross_entropy(huge, torch.tensor([1, 2]))
    assert torch.isfinite(got) and torch.allclose(got, F.cross_entropy(huge, torch.tensor([1, 2])))
    assert torch.allclose(fu.log_softmax(huge), F.log_softmax(huge, dim=-1))


def test_sgd_momentum_step_matches_torch_optim_over_several_steps():
    g = torch.Generator().manual_seed(1)
    start = [torch.randn(3, 4, generator=g), torch.randn(5, generator=g)]
    ours = [p.clone() for p in start]
    velocities = [torch.zeros_like(p) for p in start]
    theirs = [nn.Parameter(p.clone()) for p in start]
    opt = torch.optim.SGD(theirs, lr=0.1, momentum=0.9)
    for _ in range(4):
        grads = [torch.randn(p.shape, generator=g) for p in start]
        fu.sgd_momentum_step(ours, grads, velocities, lr=0.1, momentum=0.9)
        for p, grad in zip(theirs, grads):
            p.grad = grad.clone()
        opt.step()
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b.detach(), atol=1e-6)
    assert torch.allclose(velocities[0], opt.state[theirs[0]]["momentum_buffer"], atol=1e-6)
