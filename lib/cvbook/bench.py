"""`make bench`: run the course's benchmarks and rewrite their sections of BENCHMARKS.md.

Each benchmark owns one section of BENCHMARKS.md, between `<!-- bench:NAME -->` markers,
with the exact command that produced it and the machine it ran on. Running a subset
(`python -m cvbook.bench loaders`) rewrites only those sections; the rest are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
HEADER = """# Benchmarks

Measured figures only: each section says the command that produced it and the machine it
ran on. Regenerate all with `make bench` (or one section: `.venv/bin/python -m cvbook.bench NAME`).
Shared 2-core machines are noisy: figures are medians of repeated runs.
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def bench_loaders(repeats: int = 3) -> str:
    """Loader throughput over one full Fashion-MNIST training epoch (60,000 images, batch 256):
    per-image PIL transforms through DataLoader vs batched tensor augmentation, with torch
    on 1 and on 2 threads. Median of `repeats` runs, interleaved so drift hits all alike."""
    from cvbook.data import loaders, stats
    from cvbook.data.fashion_mnist import load_fashion_mnist

    images, labels = load_fashion_mnist("train")
    mean, std = stats.channel_mean_std(images)
    threads_before = torch.get_num_threads()
    runs: dict[tuple[str, int], list[float]] = {}
    try:
        for _ in range(repeats):
            for threads in (1, 2):
                torch.set_num_threads(threads)
                for name, result in loaders.benchmark_loaders(images, labels, mean, std).items():
                    runs.setdefault((name, threads), []).append(result["images_per_s"])
    finally:
        torch.set_num_threads(threads_before)
    names = list(dict.fromkeys(name for name, _ in runs))
    lines = ["| loader (batch 256, full epoch) | images/s, 1 torch thread | images/s, 2 torch threads |",
             "|---|---:|---:|"]
    lines += [f"| {n} | {statistics.median(runs[n, 1]):,.0f} | {statistics.median(runs[n, 2]):,.0f} |"
              for n in names]
    return "\n".join(lines) + f"\n\nMedian of {repeats} interleaved runs; load average at the end: {os.getloadavg()[0]:.1f}."


def _time_command(cmd: list[str], runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds.append(time.perf_counter() - start)
    return seconds


def bench_make_test() -> str:
    seconds = _time_command(["make", "test"], runs=1)
    return f"`make test` (after set-up): {statistics.median(seconds) / 60:.1f} minutes wall-clock"


def bench_make_book() -> str:
    seconds = _time_command(["make", "book"], runs=1)
    return f"`make book` (after set-up, every page executed): {statistics.median(seconds) / 60:.1f} minutes wall-clock"


def bench_grading() -> str:
    """Autograding throughput on the toy assignment: nbgrader sequential vs `cvbook grade --jobs N`."""
    from cvbook.grading.toy import benchmark_grading

    rows = benchmark_grading(students=8, jobs=(1, 2))
    lines = ["| grader (8 toy submissions) | seconds per submission |", "|---|---:|"]
    lines += [f"| {name} | {sec:.2f} |" for name, sec in rows.items()]
    return "\n".join(lines)


def bench_compression() -> str:
    """Pruning, int8 and ONNX Runtime on Fashion-MNIST; also writes book/results/compression/."""
    from cvbook.compress import benchmark

    result = benchmark.run()
    return benchmark.markdown_table(result["rows"]) + "\n\n" + result["conditions"]


BENCHMARKS = {"loaders": bench_loaders, "make-book": bench_make_book, "make-test": bench_make_test,
              "grading": bench_grading, "compression": bench_compression}


def write_section(name: str, body: str, command: str) -> None:
    """Replace (or append) one section of BENCHMARKS.md, atomically."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else HEADER
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"<!-- bench:{name} -->\n## {name}\n\nCommand: `{command}`  \nMachine: {machine()}  \n"
               f"Measured: {stamp}\n\n{body}\n<!-- /bench:{name} -->")
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    tmp = BENCHMARKS_MD.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, BENCHMARKS_MD)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], default=[],
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    for name in args.names or list(BENCHMARKS):
        print(f"running benchmark {name} ...", flush=True)
        body = BENCHMARKS[name]()
        write_section(name, body, f".venv/bin/python -m cvbook.bench {name}")
        print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
