"""What a measurement ran on, for the records the benchmarks and experiments write: the
CPU, its cores, torch and its threads, Python, the system, and the load at that moment."""

from __future__ import annotations

import os
import platform

import torch


def describe() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "load_average_1_5_15_min": list(os.getloadavg())}


def line() -> str:
    """One line for BENCHMARKS.md; says when other jobs shared the cores at the start."""
    m = describe()
    load = m["load_average_1_5_15_min"][0]
    busy = f", load average {load:.1f} at start (other jobs share the cores)" if load > 0.5 else ""
    return (f"{m['cpu']}, {m['cpus']} cores, torch {m['torch']} ({m['threads']} threads), "
            f"Python {m['python']}, {platform.system()} {platform.release()}{busy}")
