"""What a model costs: parameters, multiply-adds, size on disk, CPU latency, memory."""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections.abc import Callable, Mapping

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cvbook.models.layers import count_parameters  # noqa: F401 - one home, re-exported here


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass on a batch of `input_shape` (torchinfo's
    'mult-adds'): torch's FlopCounterMode counts 2 FLOPs per multiply-add."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(input_shape, device=device))
    model.train(was_training)
    return counter.get_total_flops() // 2


def saved_bytes(obj: nn.Module | Mapping) -> bytes:
    """What `torch.save` writes for a module's state_dict (or for a given mapping), as bytes."""
    buffer = io.BytesIO()
    torch.save(obj.state_dict() if isinstance(obj, nn.Module) else obj, buffer)
    return buffer.getvalue()


def size_on_disk(obj: nn.Module | Mapping) -> int:
    """Bytes of the saved state_dict (what a .pth of the weights weighs), or of a given mapping."""
    return len(saved_bytes(obj))


def latency_samples_ms(fn: Callable, x: torch.Tensor, repeats: int) -> list[float]:
    """The wall time of each of `repeats` calls `fn(x)`, in milliseconds (no warm-up)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def median_latency_ms(fn: Callable, x: torch.Tensor, warmup: int = 3, runs: int = 20,
                      clock: Callable[[], float] | None = None) -> float:
    """Median time of `runs` calls `fn(x)`, in milliseconds, after `warmup` calls that are not
    timed (the first calls pay for memory allocation and kernel selection). `clock` reads the
    time in seconds, time.perf_counter by default. The median resists the spikes of a shared
    machine; quote it with the machine it ran on."""
    clock = clock or time.perf_counter
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return statistics.median(times)


@torch.no_grad()
def cpu_latency_ms(model: nn.Module, input_shape: tuple[int, ...], repeats: int = 20,
                   warmup: int = 3) -> float:
    """Median wall time of one forward pass on the CPU, in milliseconds (median_latency_ms
    on a random batch of `input_shape`). Runs in eval mode; the model's own mode is restored afterwards."""
    was_training = model.training
    model.eval()
    x = torch.randn(input_shape, device=next(model.parameters()).device)
    try:
        return median_latency_ms(model, x, warmup, repeats)
    finally:
        model.train(was_training)


@torch.no_grad()
def back_to_back_ms(base: Callable, candidate: Callable, x: torch.Tensor, rounds: int = 5,
                    reps: int = 5, warmup: int = 2) -> tuple[float, float]:
    """Median latency (ms) of `base` and of `candidate` on `x`, each over `rounds` x `reps`
    calls, measured in alternating rounds so that a burst of load on a shared machine hits
    both alike."""
    for _ in range(warmup):
        base(x)
        candidate(x)
    a, b = [], []
    for _ in range(rounds):
        a += latency_samples_ms(base, x, reps)
        b += latency_samples_ms(candidate, x, reps)
    return statistics.median(a), statistics.median(b)


@contextlib.contextmanager
def _left_as_it_was(model: nn.Module):
    """Measuring must not change the model: a training-mode forward pass updates
    BatchNorm's running statistics and backward overwrites the gradients, so both are
    put back afterwards, with the train/eval mode."""
    was_training = model.training
    buffers = [b.detach().clone() for b in model.buffers()]
    grads = [p.grad for p in model.parameters()]
    for p in model.parameters():
        p.grad = None  # or backward would accumulate into the saved gradient tensors in place
    try:
        yield
    finally:
        with torch.no_grad():
            for b, saved in zip(model.buffers(), buffers):
                b.copy_(saved)
        for p, g in zip(model.parameters(), grads):
            p.grad = g
        model.train(was_training)


def training_memory_bytes(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Peak memory of one training step. On a GPU: measured (max_memory_allocated).
    On the CPU (no allocator statistics): estimated as parameters + gradients + the
    tensors autograd keeps for the backward pass, each storage counted once.
    The model is left as it was (weights, BatchNorm statistics, gradients, mode)."""
    with _left_as_it_was(model):
        return _training_memory_bytes(model, input_shape)


def _training_memory_bytes(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    device = next(model.parameters()).device
    x = torch.randn(input_shape, device=device)
    model.train()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        model(x).float().sum().backward()
        model.zero_grad(set_to_none=True)
        return torch.cuda.max_memory_allocated(device)
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        saved[storage.data_ptr()] = storage.nbytes()
        return t

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x).float().sum()
    out.backward()
    model.zero_grad(set_to_none=True)
    activations = sum(n for ptr, n in saved.items() if ptr not in params)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return 2 * weights + activations


def efficiency_report(model: nn.Module, input_shape: tuple[int, ...],
                      batch_sizes: tuple[int, ...] = (1, 64), repeats: int = 20) -> dict:
    """All of the above for one model; input_shape is one image (C, H, W)."""
    report = {"params": count_parameters(model),
              "macs": count_macs(model, (1, *input_shape)),
              "size_bytes": size_on_disk(model),
              "train_memory_bytes_batch64": training_memory_bytes(model, (64, *input_shape))}
    for b in batch_sizes:
        report[f"cpu_latency_ms_batch{b}"] = cpu_latency_ms(model, (b, *input_shape), repeats)
    return report
