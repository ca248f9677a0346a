"""Which number format a training run computes in, chosen by what the hardware runs natively.

bfloat16 autocast halves the bytes every convolution moves, and on a CPU with native
bfloat16 (AVX-512, ARM bf16) a step is faster than in float32. On a CPU without it (AVX2)
oneDNN emulates bfloat16 and the same step is several times *slower* (about 11x for
TinyResNet on a 2-core AVX2 CPU). So the default, "auto", takes bfloat16 only where it is
native and float32 elsewhere; "float32" and "bf16" are taken as asked, and a bf16 request on
a CPU that would emulate it is warned about, with the slowdown measured on a few steps.
"""

from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from cvbook import hardware

PRECISIONS = ("auto", "float32", "bf16")


@dataclass(frozen=True)
class Precision:
    """The choice for one run: `name` is what the run computes in ("float32" or "bf16"),
    `requested` what was asked for, `reason` why, in words, `where` the device in words;
    `emulated` is True when bf16 was asked for on hardware that does not run it natively."""
    name: str
    requested: str
    reason: str
    where: str = ""
    emulated: bool = False

    @property
    def bf16(self) -> bool:
        return self.name == "bf16"

    def line(self) -> str:
        """The one line a run prints at its start."""
        return f"precision: {self.name} ({self.reason})"


def _bf16_native(device: torch.device) -> tuple[bool, str]:
    """(whether `device` runs bfloat16 natively, the device in words)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(), f"GPU ({torch.cuda.get_device_name(device)})"
    return hardware.bf16_native(), f"CPU ({hardware.cpu_class()})"


def choose_precision(requested: str = "auto", device: str | torch.device | None = None) -> Precision:
    """Resolve "auto" | "float32" | "bf16" for `device` (default: the CPU)."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision={requested!r}: expected one of {', '.join(PRECISIONS)}")
    device = torch.device(device or "cpu")
    native, where = _bf16_native(device)
    if requested == "float32":
        return Precision("float32", requested, f"as requested; {where}", where)
    if requested == "bf16":
        if native:
            return Precision("bf16", requested, f"as requested; {where}", where)
        return Precision("bf16", requested, f"as requested, but this {where} emulates bfloat16: "
                         "much slower than float32", where, emulated=True)
    if native:
        return Precision("bf16", requested, f"auto: bfloat16 runs natively on this {where}", where)
    return Precision("float32", requested, f"auto: this {where} would emulate bfloat16, "
                     "which is slower than float32", where)


def step_seconds(model: nn.Module, x: torch.Tensor, targets: torch.Tensor, steps: int = 2) -> dict[str, float]:
    """Seconds of one training step (forward, loss, backward; no update) of a copy of `model`
    on the batch `x`, in float32 and in bf16 autocast: the fastest of `steps` steps each,
    after one warm-up step, the two formats alternating. The global random state is left as
    it was, so a run that measures trains exactly as one that does not."""
    net = copy.deepcopy(model).train()
    times: dict[str, list[float]] = {"float32": [], "bf16": []}
    with torch.random.fork_rng(devices=[]):
        for i in range(steps + 1):
            for name, seconds in times.items():
                start = time.perf_counter()
                with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=name == "bf16"):
                    logits = net(x)
                nn.functional.cross_entropy(logits.float(), targets).backward()
                net.zero_grad(set_to_none=True)
                if i:  # the first step of each warms up (allocations, oneDNN primitives)
                    seconds.append(time.perf_counter() - start)
    return {name: min(seconds) for name, seconds in times.items()}


def warn_emulated_bf16(precision: Precision, model: nn.Module | None = None, x: torch.Tensor | None = None,
                       targets: torch.Tensor | None = None) -> str:
    """Warn (RuntimeWarning) that bf16 was asked for where it is emulated; with a model and a
    batch, say how much slower a step is, measured on them. Returns the message."""
    message = (f"bf16 was requested, but this {precision.where} does not run bfloat16 natively: "
               "it is emulated, much slower than float32")
    if model is not None and x is not None and targets is not None:
        t = step_seconds(model, x, targets)
        message += (f"; measured on {len(x)} images, a training step takes {t['bf16']:.3f} s in bf16 "
                    f"against {t['float32']:.3f} s in float32, {t['bf16'] / t['float32']:.1f}x slower")
    message += ". precision 'auto' (--precision auto) or 'float32' trains at full speed."
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    return message
