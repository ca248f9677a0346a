"""What a measurement ran on, for the records the benchmarks and experiments write: the CPU
and its class (cvbook.hardware), torch and its threads, Python, the system, and the load at
that moment."""

from __future__ import annotations

import contextlib
import os
import platform

from cvbook import hardware


def describe() -> dict:
    return {**hardware.cpu_info(), "platform": platform.platform(), "python": platform.python_version(),
            "load_average_1_5_15_min": list(os.getloadavg())}


def training_cpu(history: dict) -> dict:
    """The CPU a `cvbook train` run trained on, as its history recorded it (held to a lower
    class if it was), or this machine's where the history predates that record."""
    return (history.get("runs") or [{}])[-1].get("cpu") or hardware.cpu_info()


def line(info: dict | None = None) -> str:
    """One line for BENCHMARKS.md; says when other jobs shared the cores at the start. `info`
    (a cvbook.hardware.cpu_info) names the CPU as a run saw it, if not this process's."""
    load = os.getloadavg()[0]
    busy = f", load average {load:.1f} at start (other jobs share the cores)" if load > 0.5 else ""
    return f"{hardware.describe(info)}, Python {platform.python_version()}, {platform.system()} {platform.release()}{busy}"


@contextlib.contextmanager
def torch_threads(count: int):
    """torch on `count` threads inside the block, and the caller's count back after it (a
    test that calls a tool in its own process keeps its share of the cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
