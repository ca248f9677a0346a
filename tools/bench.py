"""`make bench`: run the course's benchmarks and rewrite their sections of BENCHMARKS.md.

    .venv/bin/python tools/bench.py [--root DIR] [NAME ...]

Each benchmark owns one section of DIR/BENCHMARKS.md (DIR: the repository, by default the
current folder) per CPU class (cvbook.hardware.cpu_class: AVX2, AVX-512, native bf16 or not,
VNNI, ARM), between `<!-- bench:NAME@CLASS -->` markers, with the exact command that produced
it and the machine it ran on. Running a subset (`tools/bench.py loaders`) rewrites only those
sections of this machine's class; the rest, and every other class's figures, are kept. The
headline and compression benchmarks also write the book's stored results, DIR/book/results/.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from cvbook.files import atomic_write_bytes, atomic_write_json, atomic_write_text
from machine import line as machine, torch_threads, training_cpu

from cvbook import hardware

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # an unanswered part, as released
HEADER = """# Benchmarks

Measured figures only: each section says the command that produced it and the machine it
ran on, with its CPU class (vector width, native bfloat16, VNNI): speed on a CPU depends on
the class far more than on the clock. Regenerate all with `make bench` (or one section:
`.venv/bin/python tools/bench.py NAME`); a run rewrites the sections of its own CPU class.
Shared 2-core machines are noisy: figures are medians of repeated runs.
"""


def bench_precision(root: Path, model_name: str = "tiny_resnet", batch_size: int = 256, steps: int = 5) -> str:
    """Seconds per training step (forward, loss, backward, SGD update) of `model_name` on a
    Fashion-MNIST batch, in float32 and bf16 autocast, channels_last and not: the median of
    `steps` steps after one warm-up, the variants taking turns step by step so that a burst
    of load hits all alike. What `--precision auto` chooses on this CPU is said below."""
    from cvbook.data.fashion_mnist import load_fashion_mnist
    from cvbook.models import create_model
    from cvbook.train.losses import soft_cross_entropy
    from cvbook.train.optim import build_optimizer
    from cvbook.data.normalize import channel_stats, to_input
    from cvbook.train.precision import choose_precision

    images, labels = load_fashion_mnist("train")
    batch = images[:batch_size].unsqueeze(1)
    mean, std = channel_stats(batch)
    x = to_input(batch, {"mean": mean, "std": std}, "cpu")
    targets = torch.nn.functional.one_hot(labels[:batch_size].long(), 10).float()
    torch.manual_seed(0)
    base = create_model(model_name, num_classes=10, in_chans=1, img_size=28)
    variants = {(p, cl): None for p in ("float32", "bf16") for cl in (True, False)}
    for key in variants:
        net = copy.deepcopy(base).to(memory_format=torch.channels_last if key[1] else torch.contiguous_format)
        variants[key] = (net.train(), build_optimizer(net, "sgd", 0.1, 5e-4, 0.9),
                         x.contiguous(memory_format=torch.channels_last) if key[1] else x)
    seconds: dict[tuple, list[float]] = {key: [] for key in variants}
    load_before = os.getloadavg()[0]
    for step in range(steps + 1):
        for (precision, cl), (net, opt, xb) in variants.items():
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                logits = net(xb)
            loss = soft_cross_entropy(logits.float(), targets, 0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step:  # the first step of each variant warms up
                seconds[precision, cl].append(time.perf_counter() - start)
    ref = statistics.median(seconds["float32", True])
    lines = [f"| precision | memory format | s per step (median of {steps}) | images/s | step time vs float32 channels_last |",
             "|---|---|---:|---:|---:|"]
    for (precision, cl), secs in seconds.items():
        med = statistics.median(secs)
        lines.append(f"| {precision} | {'channels_last' if cl else 'contiguous'} | {med:.3f} | "
                     f"{batch_size / med:,.0f} | {med / ref:.2f}x |")
    return ("\n".join(lines) + f"\n\n{model_name}, batch {batch_size}, {torch.get_num_threads()} torch threads, "
            f"steps of the variants interleaved. `--precision auto` here: {choose_precision('auto').line()}. "
            f"Load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
            f"on {os.cpu_count()} cores.")


def bench_loaders(root: Path, repeats: int = 3) -> str:
    """Loader throughput over one full Fashion-MNIST training epoch (60,000 images, batch 256):
    per-image PIL transforms through DataLoader vs batched tensor augmentation, with torch
    on 1 and on 2 threads. Median of `repeats` runs, interleaved so drift hits all alike."""
    from cvbook.data import loaders, stats
    from cvbook.data.fashion_mnist import load_fashion_mnist

    images, labels = load_fashion_mnist("train")
    mean, std = stats.channel_mean_std(images)
    runs: dict[tuple[str, int], list[float]] = {}
    for _ in range(repeats):
        for threads in (1, 2):
            with torch_threads(threads):
                for name, result in loaders.benchmark_loaders(images, labels, mean, std).items():
                    runs.setdefault((name, threads), []).append(result["images_per_s"])
    names = list(dict.fromkeys(name for name, _ in runs))
    lines = ["| loader (batch 256, full epoch) | images/s, 1 torch thread | images/s, 2 torch threads |",
             "|---|---:|---:|"]
    lines += [f"| {n} | {statistics.median(runs[n, 1]):,.0f} | {statistics.median(runs[n, 2]):,.0f} |"
              for n in names]
    return "\n".join(lines) + f"\n\nMedian of {repeats} interleaved runs; load average at the end: {os.getloadavg()[0]:.1f}."


def _time_command(cmd: list[str], runs: int, root: Path) -> list[float]:
    """Wall-clock seconds of each of `runs` runs of `cmd`; a failing run raises with the end
    of its output (a timing of a failed command is no figure)."""
    import tempfile

    seconds = []
    for _ in range(runs):
        with tempfile.TemporaryFile("w+") as log:
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
            seconds.append(time.perf_counter() - start)
            if done.returncode:
                log.seek(0)
                raise RuntimeError(f"`{' '.join(cmd)}` failed (exit {done.returncode}); its output ended:\n"
                                   + log.read()[-4000:])
    return seconds


def bench_make_test(root: Path, runs: int = 2) -> str:
    seconds = _time_command(["make", "test"], runs=runs, root=root)
    return f"`make test` (after set-up): {_median_and_runs(seconds, 60, 1)} minutes wall-clock"


# The edit-and-rebuild loop: a page's prose edited (Sphinx re-reads that page; nothing executes)
# and one of its code cells edited (the execution cache runs that page again, and only it).
EDITED_PAGE = "book/01_tensors.md"


def _edited_rebuild(root: Path, edit) -> float:
    page = root / EDITED_PAGE
    original = page.read_text()
    try:
        page.write_text(edit(original))
        return _time_command(["make", "book"], runs=1, root=root)[0]
    finally:
        page.write_text(original)


def _edit_a_code_cell(text: str, run: int = 0) -> str:
    """A comment added at the top of the page's first code cell that has no cell options;
    `run` makes each edit new, so the execution cache cannot answer a second one."""
    fence = "```{code-cell} ipython3\n"
    at = 0
    while True:
        at = text.index(fence, at) + len(fence)
        if not text.startswith(":", at):
            return text[:at] + f"# an edited line ({run})\n" + text[at:]


def _median_and_runs(seconds: list[float], unit: float = 1.0, digits: int = 0) -> str:
    """The median in bold, and every run after it when there was more than one."""
    median = f"**{statistics.median(seconds) / unit:.{digits}f}**"
    if len(seconds) == 1:
        return median
    return f"{median} (median of {len(seconds)}: {', '.join(f'{s / unit:.{digits}f}' for s in seconds)})"


def bench_make_book(root: Path, runs: int = 2) -> str:
    """Deletes `root`/_build before each full build (the built site and its execution cache)."""
    full = []
    for _ in range(runs):
        shutil.rmtree(root / "_build", ignore_errors=True)   # every page executes
        full += _time_command(["make", "book"], runs=1, root=root)
    prose = [_edited_rebuild(root, lambda text: text.replace("\n## ", "\nAn edited sentence.\n\n## ", 1))
             for _ in range(runs)]
    code = [_edited_rebuild(root, lambda text, run=run: _edit_a_code_cell(text, run)) for run in range(runs)]
    _time_command(["make", "book"], runs=1, root=root)   # back to the committed pages
    return (f"`make book` after set-up with an empty build folder, every page executed: "
            f"{_median_and_runs(full, 60, 1)} minutes wall-clock.\n\nThen, with the build folder kept (Jupyter "
            f"Book's execution cache), a rebuild after editing `{EDITED_PAGE}`: its prose only "
            f"{_median_and_runs(prose)} s; one of its code cells (that page executes again) {_median_and_runs(code)} s.")


def bench_grading(root: Path, students: int = 6, repeats: int = 3) -> str:
    """Autograding throughput, seconds per submission: nbgrader's sequential autograde (in
    the student's kernel, no sandbox) against `cvbook grade --jobs 1` and `--jobs 2` (the
    sandbox, verdicts in the grader), on the toy assignment and on the real 10_compression.
    Median of `repeats`, the three graders interleaved so that drift hits all alike."""
    import tempfile

    from cvbook.grading import course, grade

    sys.path.insert(0, str(root / "tests"))  # the toy assignment is a fixture of the test suite
    import toy_course as toy

    lines = ["| assignment | grader | seconds per submission (median, min-max) | vs nbgrader |",
             "|---|---|---:|---:|"]
    for assignment in (toy.ASSIGNMENT, "10_compression"):
        with tempfile.TemporaryDirectory(prefix="cvbook-bench-grading-") as tmp:
            if assignment == toy.ASSIGNMENT:
                scratch = toy.make_course(Path(tmp) / "course")
            else:
                scratch = course.copy_course(Path(tmp) / "course", root)
                course.release(scratch, [assignment])
            names = _grading_submissions(scratch, assignment, students)
            api = course.nbgrader_api(scratch)
            graders = {
                "nbgrader autograde, sequential":
                    lambda: [api.autograde(assignment, n, force=True)["success"] or
                             sys.exit(f"nbgrader could not grade {n}") for n in names],
                "cvbook grade --jobs 1": lambda: grade.grade_assignment(assignment, scratch, jobs=1),
                "cvbook grade --jobs 2": lambda: grade.grade_assignment(assignment, scratch, jobs=2),
            }
            runs: dict[str, list[float]] = {name: [] for name in graders}
            for _ in range(repeats):
                for name, run in graders.items():
                    start = time.perf_counter()
                    run()
                    runs[name].append((time.perf_counter() - start) / len(names))
        base = statistics.median(runs["nbgrader autograde, sequential"])
        for name, secs in runs.items():
            med = statistics.median(secs)
            lines.append(f"| {assignment} ({len(names)} submissions) | {name} | {med:.2f} "
                         f"({min(secs):.2f}-{max(secs):.2f}) | {base / med:.2f}x |")
    return "\n".join(lines)


def _grading_submissions(root: Path, assignment: str, students: int) -> list[str]:
    """A mix of complete, blank and half-done submissions, as a class hands them in."""
    import nbformat

    from cvbook.grading import course

    names = [f"student{i:02d}" for i in range(students)]
    for nb_path in sorted((root / "solutions" / assignment).glob("*.ipynb")):
        source = nbformat.read(nb_path, as_version=4)
        released = nbformat.read(root / "exercises" / assignment / nb_path.name, as_version=4)
        parts = [c.metadata["nbgrader"]["grade_id"] for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
        for i, name in enumerate(names):
            kind = i % 3  # 0: complete, 1: blank, 2: the first half answered
            answers = {p: STUB for p in parts[len(parts) // 2:]} if kind == 2 else {}
            sub = course.make_submission(released, source, answers, fill_solutions=kind != 1)
            course.write_submission(root, name, assignment, nb_path.name, sub)
    return names


def bench_headline(root: Path) -> str:
    """The headline model (TinyResNet on Fashion-MNIST): each recipe that
    cvbook.train.headline writes for this CPU's kind (native bfloat16 or not) trained once
    by `cvbook train`; minutes until the test accuracy reaches 90/92/93/94 % and stays
    there for the rest of the run (time_to_accuracy).
    Runs land in results/headline/<recipe>/; the histories, the best weights and the exact
    arguments are kept in book/results/headline/ for the book. A recipe whose stored
    arguments equal the current ones is not trained again (delete its files to re-measure)."""
    import json

    from cvbook.models import count_parameters, create_model
    from cvbook.train.headline import THRESHOLDS, low_res_epochs, recipes_for, time_to_accuracy

    params = count_parameters(create_model("tiny_resnet", in_chans=1, img_size=28))
    headline_dir = root / "book" / "results" / "headline"
    lines = ["| recipe | command | " + " | ".join(f"{t:.0%}" for t in THRESHOLDS)
             + " | final test accuracy | training minutes | images/s |",
             "|---|---|" + "---:|" * (len(THRESHOLDS) + 3)]
    notes = []
    for name, (purpose, args) in recipes_for(hardware.bf16_native()).items():
        stored = headline_dir / f"{name}_run.json"
        if not (stored.is_file() and same_recipe(json.loads(stored.read_text()), args)):
            store_headline_run(headline_dir, name, args, _cvbook_train(args, root / "results" / "headline", name, root))
        run = json.loads(stored.read_text())
        history = json.loads((headline_dir / f"{name}_history.json").read_text())
        reached = time_to_accuracy(history)
        minutes = sum(history["epoch_time_s"]) / 60
        images = run["images_per_epoch"] * len(history["epoch"])
        shown = "cvbook train " + " ".join(args)
        cells = [f"{reached[t][1]:.1f} min (epoch {reached[t][0]})" if reached[t] else "not reached"
                 for t in THRESHOLDS]
        lines.append(f"| {name}: {purpose} | `{shown}` | " + " | ".join(cells)
                     + f" | {100 * history['test_acc'][-1]:.2f} % | {minutes:.1f} | {images / (60 * minutes):,.0f} |")
        times = history["epoch_time_s"]
        low = low_res_epochs(args)
        load = run.get("load_average_after")
        epochs = (f"epochs {statistics.median(times[:low]):.0f} s at 20x20 and {statistics.median(times[low:]):.0f} s "
                  f"at full size (medians)" if low else f"epochs {statistics.median(times):.0f} s (median)")
        notes.append(f"{name}: finished {run['finished']}" + (f", load average after {load:.1f}" if load else "")
                     + f", {epochs}, slowest {max(times):.0f} s" + (f"; {run['note']}" if run.get("note") else ""))
    return ("\n".join(lines) + f"\n\nTinyResNet, {params:,} parameters; 54,000 training images (6,000 held out "
            "for validation), accuracy on the 10,000 test images after every epoch (outside the timed training). "
            "A threshold counts from the first epoch after which the test accuracy never falls below it "
            "again (one lucky epoch does not count). Minutes are training plus validation time. " + "; ".join(notes) + ".")


def same_recipe(run: dict, args: list[str]) -> bool:
    """Whether a stored headline run (its {name}_run.json) was trained with `args`. Runs made
    before `--precision` existed say `--bf16`, which is what `--precision auto` picks on a
    CPU that runs bfloat16 natively: there the two are the same recipe."""
    stored, cpu = list(run["args"]), run.get("cpu", {})
    cls = cpu.get("class", "")
    native = cpu.get("bf16_native", "native bf16" in cls and "no native bf16" not in cls)
    if native and "--bf16" in stored:
        at = stored.index("--bf16")
        stored[at:at + 1] = ["--precision", "auto"]
    return stored == args


def store_headline_run(headline_dir: Path, name: str, args: list[str], run_dir: Path) -> None:
    """Keep what the book and BENCHMARKS.md need of a finished `cvbook train ARGS` run in
    run_dir: its history, best weights, and {name}_run.json (the arguments, the machine and
    its CPU, the load after the run). The per-epoch checkpoints are then deleted."""
    import shutil

    last = torch.load(run_dir / "last.pth", map_location="cpu", weights_only=False)
    if last["epoch"] != int(args[args.index("--epochs") + 1]):
        raise ValueError(f"{run_dir} stopped at epoch {last['epoch']}, before the recipe's last: not stored")
    headline_dir.mkdir(parents=True, exist_ok=True)
    for kept in ("history.json", "best_model.pth"):
        atomic_write_bytes(headline_dir / f"{name}_{kept}", (run_dir / kept).read_bytes())
    trained_on = training_cpu(last["history"])
    run = {"args": args, "images_per_epoch": last["steps_per_epoch"] * last["config"]["batch_size"],
           "machine": machine(trained_on), "cpu": trained_on, "load_average_after": os.getloadavg()[0],
           # when the run wrote its last epoch, not when it was stored
           "finished": dt.datetime.fromtimestamp((run_dir / "history.json").stat().st_mtime, dt.timezone.utc)
           .strftime("%Y-%m-%d %H:%M UTC")}
    atomic_write_json(run, headline_dir / f"{name}_run.json")  # last: marks the recipe as measured
    shutil.rmtree(run_dir)


def _cvbook_train(args: list[str], output_dir: Path, name: str, root: Path) -> Path:
    """Run `cvbook train ARGS` into output_dir/name (a process of its own, as a user would)."""
    subprocess.run([sys.executable, "-m", "cvbook", "train", *args, "--output-dir", str(output_dir),
                    "--run-name", name, "--no-progress"], cwd=root, check=True)
    return output_dir / name


def bench_compression(root: Path) -> str:
    """Pruning, int8 and ONNX Runtime on Fashion-MNIST; also writes book/results/compression/."""
    import compression_benchmark as benchmark
    from cvbook.evaluate import compression_table

    # the headline model, fully trained (bench headline), and ResNet-18 trained here by
    # `cvbook train` (RESNET18_RECIPE); both on all the data, each with a real fine-tune
    trained = root / "book" / "results" / "headline" / "30min_best_model.pth"
    if not trained.is_file():
        raise FileNotFoundError(f"{trained} is missing: run `tools/bench.py headline` first")
    resnet18 = _train_recipe(RESNET18_RECIPE, root / "results" / "compression", "resnet18", root)
    out_dir = root / "book" / "results" / "compression"
    benchmark.run(["tiny_resnet"], checkpoints={"tiny_resnet": trained}, train_images=60_000, eval_images=10_000,
                  finetune_images=None, finetune_epochs=5, structured_ratios=(0.25, 0.5), out_dir=out_dir)
    result = benchmark.run(["resnet18"], checkpoints={"resnet18": resnet18}, train_images=60_000,
                           eval_images=10_000, finetune_images=None, finetune_epochs=2, append=True, out_dir=out_dir)
    return (compression_table(result["rows"]) + "\n\n" + result["conditions"]
            + "\n\nResNet-18 was trained by `cvbook train " + " ".join(RESNET18_RECIPE) + "`.")


# ResNet-18 for the compression table: 4 epochs (about 15 minutes on the 2-core CPU)
RESNET18_RECIPE = ["--model", "resnet18", "--dataset", "fashion-mnist", "--epochs", "4", "--batch-size", "128",
                   "--lr", "0.1", "--weight-decay", "5e-4", "--warmup-epochs", "0.5", "--warmup-start-lr", "0.01",
                   "--label-smoothing", "0.1", "--precision", "auto", "--channels-last"]


def _train_recipe(args: list[str], output_dir: Path, name: str, root: Path) -> Path:
    """best_model.pth of `cvbook train ARGS` in output_dir/name, trained unless a finished
    run of the same arguments is already there."""
    import json

    stamp = output_dir / name / "recipe.json"
    if not (stamp.is_file() and json.loads(stamp.read_text()) == args):
        _cvbook_train(args, output_dir, name, root)
        atomic_write_json(args, stamp)  # last: marks the run as finished
    return output_dir / name / "best_model.pth"


BENCHMARKS = {"precision": bench_precision, "loaders": bench_loaders, "make-book": bench_make_book, "make-test": bench_make_test,
              "grading": bench_grading, "headline": bench_headline, "compression": bench_compression}


def write_section(path: Path, name: str, body: str, command: str, info: dict | None = None) -> None:
    """Replace (or append) the section of the BENCHMARKS.md at `path` for benchmark `name` on
    this CPU class (or that of `info`, a cvbook.hardware.cpu_info), atomically."""
    info = info or hardware.cpu_info()
    key = f"{name}@{hardware.class_slug(info)}"
    text = path.read_text() if path.exists() else HEADER
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    held = " ".join(f"{k}={v}" for k, v in info.get("held", {}).items())
    command = f"{held} {command}" if held else command  # as it ran: held to a lower class
    section = (f"<!-- bench:{key} -->\n## {name}: {info['class']}\n\nCommand: `{command}`  \n"
               f"Machine: {machine()}  \nMeasured: {stamp}\n\n{body}\n<!-- /bench:{key} -->")
    pattern = re.compile(rf"<!-- bench:{re.escape(key)} -->.*?<!-- /bench:{re.escape(key)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    atomic_write_text(path, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course repository: BENCHMARKS.md, book/results/ (default: this folder)")
    parser.add_argument("names", nargs="*", choices=[[], *BENCHMARKS], default=[],
                        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "book").is_dir():
        parser.error(f"{root} is not the course repository (no book/ folder); give it with --root")
    for name in args.names or list(BENCHMARKS):
        print(f"running benchmark {name} ...", flush=True)
        body = BENCHMARKS[name](root)
        write_section(root / "BENCHMARKS.md", name, body, f".venv/bin/python tools/bench.py {name}")
        print(body, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
