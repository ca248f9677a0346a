"""The measured compression table: size, CPU latency and accuracy of each way to shrink a model.

    .venv/bin/python tools/compression_benchmark.py --out-dir book/results/compression
    .venv/bin/python tools/bench.py compression      # the book's table, plus BENCHMARKS.md

For each model (trained briefly on Fashion-MNIST here, so accuracies are those of a short
run) it measures float32, unstructured pruning (30/50/70 %, made permanent: same file and
speed, smaller only sparse + gzip), structured channel pruning (+ a short fine-tune), int8
(PT2E + torch.compile), ONNX Runtime float32 and int8 (QDQ), and the pipeline of a popular
lesson on model optimisation (prune 30 %, then int8). Latencies are medians of repeated runs,
measured alternately with the float32 model ("back to back"); the float32 times of those
alternating rounds are kept (float_b1_ms, float_b64_ms) but the "x float" ratios are the
float32 row's latency over the row's own, so that every row reads consistently with its
ms columns (the float32 model's time alongside a variant moves with it: ONNX Runtime's
threads, for one, slow the torch model that runs between them). The load average is
recorded with them. Every result file is written atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import csv
import io
import json
import os
import tempfile
import time
import traceback
from pathlib import Path

import torch
from torch import nn

from cvbook.compress import prune as pruning
from cvbook.compress.size import compressed_size, file_size, to_sparse_state_dict
from cvbook.evaluate import accuracy as _accuracy
from cvbook.evaluate import back_to_back_ms, compression_table, saved_bytes, size_on_disk
from cvbook.evaluate.tables import set_speedups  # noqa: F401 - also read by tests as benchmark.set_speedups
from cvbook import hardware
from cvbook.files import atomic_write

VARIANTS = ("pruned", "structured", "pt2e", "onnx")
COLUMNS = ["model", "variant", "params", "nonzero_params", "size_bytes", "size_gzip_bytes", "size_sparse_gzip_bytes",
           "accuracy", "latency_b1_ms", "latency_b64_ms", "float_b1_ms", "float_b64_ms", "speedup_b1", "speedup_b64",
           "size_ratio", "note"]


def accuracy(fn, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 64) -> float:
    """Top-1 accuracy in fixed-size batches (the last one padded: a compiled int8 model is
    specialised to one batch size)."""
    return _accuracy(fn, inputs, labels, batch_size, pad_last=True)


@contextlib.contextmanager
def global_state_kept():
    """Measuring changes process-wide settings (torch's thread count, inductor's freezing,
    the random generator it seeds); put them back afterwards, so that a caller's later work
    runs as before."""
    import torch._inductor.config as inductor

    threads, freezing, rng = torch.get_num_threads(), inductor.freezing, torch.random.get_rng_state()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        inductor.freezing = freezing
        torch.random.set_rng_state(rng)


def load_data(train_images: int, eval_images: int):
    """(train ImageSet, test ImageSet, meta) from the local Fashion-MNIST files."""
    from cvbook.data.fashion_mnist import CLASSES, load_fashion_mnist
    from cvbook.data.splits import ImageSet
    from cvbook.data.normalize import channel_stats

    tr_x, tr_y = load_fashion_mnist("train")
    te_x, te_y = load_fashion_mnist("test")
    g = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(tr_x), generator=g)[:train_images]
    train_set = ImageSet(tr_x[pick].unsqueeze(1).contiguous(), tr_y[pick].contiguous(), tuple(CLASSES))
    test_set = ImageSet(te_x[:eval_images].unsqueeze(1).contiguous(), te_y[:eval_images].contiguous(), tuple(CLASSES))
    mean, std = channel_stats(train_set.images)
    return train_set, test_set, {"mean": mean, "std": std, "num_classes": 10}


def train_briefly(model: nn.Module, train_set, test_set, meta: dict, epochs: int = 1, lr: float = 0.05,
                  fast: bool = False) -> nn.Module:
    """A short `cvbook.train` run (cosine schedule, label smoothing, flips and crops); `fast`
    trains as the headline recipes do: channels_last, and bfloat16 where the CPU runs it
    natively (precision "auto"), float32 otherwise. The model comes back
    in eval mode and the default memory format, so that latencies compare like with like."""
    from cvbook.train.loop import TrainConfig, train

    cfg = TrainConfig(epochs=epochs, batch_size=128, lr=lr, weight_decay=5e-4, warmup_epochs=0.1,
                      label_smoothing=0.1, progress=False, device="cpu", precision="auto" if fast else "float32",
                      channels_last=fast)
    train(model, train_set, test_set.head(256), cfg, meta=dict(meta))
    return model.eval().to(memory_format=torch.contiguous_format)


def _row(model_name, variant, model_or_none, size, acc, lat, note="", **extra) -> dict:
    b1, b64, f1, f64 = lat
    row = {"model": model_name, "variant": variant, "size_bytes": size, "accuracy": round(acc, 4),
           "latency_b1_ms": round(b1, 4), "latency_b64_ms": round(b64, 3), "float_b1_ms": round(f1, 4),
           "float_b64_ms": round(f64, 3), "speedup_b1": round(f1 / b1, 3), "speedup_b64": round(f64 / b64, 3),
           "note": note, "params": None, "nonzero_params": None, "size_gzip_bytes": None,
           "size_sparse_gzip_bytes": None, "size_ratio": None}
    if model_or_none is not None:
        row["params"] = sum(p.numel() for p in model_or_none.parameters())
        row["nonzero_params"] = pruning.count_nonzero_parameters(model_or_none)
    row.update(extra)
    return row


@global_state_kept()
def benchmark_model(name: str, train_set, test_set, meta: dict, *, epochs: int = 1, finetune_images: int | None = 4000,
                    finetune_epochs: int = 1, finetune_lr: float = 0.05, structured_ratios=(0.5,), calib_batches: int = 8, rounds: int = 5, reps: int = 5,
                    sparsities=(0.3, 0.5, 0.7), variants=VARIANTS, checkpoint: str | os.PathLike | None = None,
                    log=print) -> list[dict]:
    """The variants (a subset of VARIANTS) of one model: a list of table rows (dicts with COLUMNS).

    With a `checkpoint` (a `cvbook train` best_model.pth of this architecture) its trained
    weights and normalisation are used instead of a short training run here. Global settings
    changed to measure (inductor's freezing for the compiled rows) are put back afterwards."""
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; expected some of {VARIANTS}")
    from cvbook.models import create_model
    from cvbook.data.normalize import to_input

    from cvbook.compress import onnx_export, quantize as q8, structured

    torch.manual_seed(0)
    if checkpoint is not None:
        from cvbook.files import load_trained_model

        model, saved = load_trained_model(checkpoint)
        if saved["model"] != name:
            raise ValueError(f"{checkpoint} holds a {saved['model']}, not a {name}")
        meta = {**meta, "mean": saved["mean"], "std": saved["std"]}
        log(f"{name}: trained weights from {checkpoint}")
    else:
        model = create_model(name, num_classes=10, in_chans=1, img_size=28)
        t0 = time.perf_counter()
        if epochs > 0:  # epochs=0: untrained weights (smoke tests)
            train_briefly(model, train_set, test_set, meta, epochs=epochs)
        log(f"{name}: trained {epochs} epoch(s) on {len(train_set)} images in {time.perf_counter() - t0:.0f} s")
    model = model.eval()
    inputs = to_input(test_set.images, meta, "cpu")
    labels = test_set.labels
    calib = [to_input(train_set.images[i * 64:(i + 1) * 64], meta, "cpu") for i in range(calib_batches)]
    x1, x64 = inputs[:1].clone(), inputs[:64].clone()

    def latencies(fn, fn64=None):
        f1, c1 = back_to_back_ms(model, fn, x1, rounds, reps)
        f64, c64 = back_to_back_ms(model, fn if fn64 is None else fn64, x64, rounds, max(2, reps // 2))
        return c1, c64, f1, f64

    rows = []
    float_size = size_on_disk(model)
    dense = saved_bytes(model)
    acc_float = accuracy(model, inputs, labels)
    rows.append(_row(name, "float32", model, float_size, acc_float, latencies(model),
                     size_gzip_bytes=compressed_size(dense)))
    log(f"{name}: float32 {float_size} bytes, accuracy {acc_float:.4f}")

    pruned_models = {}
    for s in (sparsities if "pruned" in variants else ()):
        pm = pruning.prune_global(copy.deepcopy(model), s, permanent=True).eval()
        pruned_models[s] = pm
        data = saved_bytes(pm)
        rows.append(_row(name, f"pruned {s:.0%} (global, permanent)", pm, len(data), accuracy(pm, inputs, labels),
                         latencies(pm), "dense storage: same bytes, same speed",
                         size_gzip_bytes=compressed_size(data),
                         size_sparse_gzip_bytes=compressed_size(saved_bytes(to_sparse_state_dict(pm)))))
        log(f"{name}: pruned {s:.0%} done")

    # structured: remove a share of every layer's output channels, then fine-tune
    for ratio in (structured_ratios if "structured" in variants else ()):
        label = f"structured {ratio:.0%} channels"
        try:
            slim = structured.prune_channels(model, x64, ratio=ratio).model
        except ValueError as err:
            rows.append({**{c: None for c in COLUMNS}, "model": name, "variant": label,
                         "note": f"not applicable: {str(err).split(';')[0][:160]}"})
            break
        ft_set = train_set.head(finetune_images)
        t0 = time.perf_counter()
        slim = train_briefly(slim, ft_set, test_set, meta, epochs=finetune_epochs, lr=finetune_lr, fast=True)
        rows.append(_row(name, f"{label} + {finetune_epochs} epoch(s) fine-tune", slim,
                         size_on_disk(slim), accuracy(slim, inputs, labels), latencies(slim),
                         f"fine-tuned on {len(ft_set)} images in {time.perf_counter() - t0:.0f} s (lr {finetune_lr})"))
    log(f"{name}: structured done")

    # float32 compiled: how much of int8's speed is compilation (fused ops) rather than int8
    if "pt2e" in variants:
        q8.enable_freezing()
        f1, f64 = torch.compile(copy.deepcopy(model), dynamic=False), torch.compile(copy.deepcopy(model), dynamic=False)
        rows.append(_row(name, "float32 + torch.compile", None, float_size, accuracy(f64, inputs, labels),
                         latencies(f1, f64), "same weights; inductor with freezing, as for int8"))
        log(f"{name}: float32 compiled done")

    # int8 PT2E (+ torch.compile, one compile per batch size)
    def int8_row(float_model, variant, note):
        # one int8 program per batch size: the int8 convolutions compile only with static shapes
        try:
            q64 = q8.quantize_static(float_model, calib, num_batches=calib_batches, dynamic_batch=False)
            singles = [b[i:i + 1] for b in calib for i in range(len(b))]
            q1 = q8.quantize_static(float_model, singles, num_batches=64, dynamic_batch=False)
            with tempfile.TemporaryDirectory() as tmp:
                program = q8.save_quantized(q64, Path(tmp) / "int8.pt2", x64, dynamic_batch=False).read_bytes()
            weights = len(saved_bytes(q64.state_dict()))
            c1, c64 = q8.compile_int8(q1), q8.compile_int8(q64)
            acc = accuracy(c64, inputs, labels)
            return _row(name, variant, None, len(program), acc, latencies(c1, c64),
                        f"{note}; the int8 weights alone (state_dict) {weights / 1e6:.3f} MB, "
                        f"{float_size / weights:.2f}x smaller", size_gzip_bytes=compressed_size(program))
        except Exception as err:  # noqa: BLE001 - record why this variant has no figures, keep the rest
            log(f"{name}: {variant} failed: {type(err).__name__}: {str(err)[:300]}\n{traceback.format_exc()}")
            return {**{c: None for c in COLUMNS}, "model": name, "variant": variant,
                    "note": f"failed here: {type(err).__name__}: {str(err).splitlines()[0][:150]}"}

    if "pt2e" in variants:
        rows.append(int8_row(model, "int8 PT2E + torch.compile", "X86InductorQuantizer, saved .pt2 program"))
    log(f"{name}: int8 PT2E done")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp) if "onnx" in variants else None
        threads = torch.get_num_threads()

        def onnx_rows(float_model, tag):
            fp = onnx_export.export_onnx(float_model, x64, tmp / f"{tag}.onnx")
            ip = onnx_export.quantize_onnx(fp, tmp / f"{tag}_int8.onnx", calib, num_batches=calib_batches)
            out = []
            for path, kind in ((fp, "float32"), (ip, "int8 QDQ")):
                om = onnx_export.OnnxModel(path, threads=threads)
                data = path.read_bytes()
                out.append((kind, om, file_size(path), compressed_size(data)))
            return out

        for kind, om, size, gz in (onnx_rows(model, "model") if tmp else []):
            rows.append(_row(name, f"ONNX Runtime {kind}", None, size, accuracy(om, inputs, labels),
                             latencies(om), size_gzip_bytes=gz))
        log(f"{name}: ONNX done")
        # a popular lesson's pipeline: train, prune 30 % of the smallest weights, int8
        pm = pruned_models.get(0.3) or pruning.prune_global(copy.deepcopy(model), 0.3).eval()
        if tmp:
            kind, om, size, gz = onnx_rows(pm, "pruned30")[1]
            rows.append(_row(name, "lesson pipeline: pruned 30 % + int8 (ONNX Runtime QDQ)", pm, size,
                             accuracy(om, inputs, labels), latencies(om), "the lesson's pipeline",
                             size_gzip_bytes=gz))
    if "pt2e" in variants:
        rows.append(int8_row(pm, "pruned 30 % + int8 PT2E + torch.compile", "the lesson's pipeline in PyTorch"))
    log(f"{name}: pruned+int8 done")

    for row in rows:
        if row["size_bytes"]:
            row["size_ratio"] = round(float_size / row["size_bytes"], 3)
    return set_speedups(rows)


def write_results(result: dict, out_dir: str | os.PathLike) -> Path:
    """compression.json, compression.csv and compression.md, each written atomically."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "compression.json", lambda f: f.write(json.dumps(result, indent=1).encode()))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(result["rows"])
    atomic_write(out_dir / "compression.csv", lambda f: f.write(buf.getvalue().encode()))
    md = f"{compression_table(result['rows'])}\n\n{result['conditions']}\n"
    atomic_write(out_dir / "compression.md", lambda f: f.write(md.encode()))
    return out_dir


def run(models=("tiniest", "resnet18"), *, train_images: int = 20000, eval_images: int = 2000, epochs: int = 1,
        threads: int = 2, rounds: int = 5, reps: int = 5, finetune_images: int | None = 4000,
        finetune_epochs: int = 1, structured_ratios=(0.5,), variants=VARIANTS, checkpoints: dict | None = None,
        out_dir: str | os.PathLike | None = None, append: bool = False, log=print) -> dict:
    """Benchmark every model; write the results (unless out_dir is None) and return them.
    `checkpoints` maps model names to trained `cvbook train` checkpoints (the others are
    trained briefly here). With `append`, rows of other models already stored in out_dir are kept.
    torch's thread count is `threads` while it runs and is put back afterwards."""
    checkpoints = dict(checkpoints or {})
    stray = set(checkpoints) - set(models)
    if stray:
        raise ValueError(f"checkpoints given for {sorted(stray)}, which are not among the models {list(models)}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; expected some of {VARIANTS}")
    with global_state_kept():
        torch.set_num_threads(threads)
        train_set, test_set, meta = load_data(train_images, eval_images)
        load_before = os.getloadavg()
        rows = []
        for name in models:
            rows += benchmark_model(name, train_set, test_set, meta, epochs=epochs, rounds=rounds, reps=reps,
                                    finetune_images=finetune_images, finetune_epochs=finetune_epochs,
                                    structured_ratios=structured_ratios, variants=variants,
                                    checkpoint=checkpoints.get(name), log=log)
        load_after = os.getloadavg()
    trained = "; ".join(f"{m} from the trained checkpoint {_shown(p)}" for m, p in checkpoints.items())
    short = [m for m in models if m not in checkpoints]
    conditions = (f"Fashion-MNIST: {trained + ('; ' if trained and short else '')}"
                  + (f"{', '.join(short)} trained {epochs} epoch(s) here on {len(train_set)} training images "
                     f"(a short run: accuracies are below a full training's)" if short else "")
                  + f"; structured pruning fine-tuned {finetune_epochs} epoch(s). Accuracy on the first "
                  f"{len(test_set)} test images. torch threads: {threads}; latency = median of {rounds}x{reps} "
                  "runs alternated with the float32 model; 'x float' = the float32 row's ms / the row's ms. "
                  f"Load average (1 min) "
                  f"{load_before[0]:.1f} before, {load_after[0]:.1f} after, on {os.cpu_count()} cores. "
                  f"CPU: {hardware.describe()}.")
    result = {"rows": rows, "conditions": conditions, "models": list(models), "threads": threads,
              "checkpoints": {m: _shown(p) for m, p in checkpoints.items()}, "train_images": len(train_set),
              "eval_images": len(test_set), "epochs": epochs, "load_average_before": load_before,
              "load_average_after": load_after, "cpu_count": os.cpu_count(), "torch": torch.__version__,
              "cpu": hardware.cpu_info()}
    if out_dir is not None:
        if append and (Path(out_dir) / "compression.json").is_file():
            result = merge_results(json.loads((Path(out_dir) / "compression.json").read_text()), result)
        write_results(result, out_dir)
    return result


def _shown(path) -> str:
    """A checkpoint path as the results show it: relative to the current folder (the
    repository, where `make bench` runs) when inside it."""
    path, here = Path(path).resolve(), Path.cwd().resolve()
    return path.relative_to(here).as_posix() if path.is_relative_to(here) else path.as_posix()


def merge_results(old: dict, new: dict) -> dict:
    """`new`'s rows replace `old`'s rows of the same models; the conditions of both are kept."""
    models = {r["model"] for r in new["rows"]}
    rows = [r for r in old["rows"] if r["model"] not in models] + new["rows"]
    old_runs = old.get("runs") or [{**{k: v for k, v in old.items() if k != "rows"},
                                    "models": old.get("models") or sorted({r["model"] for r in old["rows"]})}]
    # an earlier run's conditions stay for the models of it whose rows are kept
    kept = [{**c, "models": [m for m in c["models"] if m not in models]} for c in old_runs]
    kept = [c for c in kept if c["models"]]
    runs = kept + [{**{k: v for k, v in new.items() if k not in ("rows", "runs")}, "models": sorted(models)}]
    conditions = "\n\n".join(f"{', '.join(r['models'])}: {r['conditions']}" for r in runs)
    return {**new, "rows": rows, "runs": runs, "conditions": conditions,
            "models": list(dict.fromkeys(r["model"] for r in rows))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tiniest", "resnet18"])
    parser.add_argument("--train-images", type=int, default=20000)
    parser.add_argument("--eval-images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternating latency rounds")
    parser.add_argument("--reps", type=int, default=5, help="runs per round")
    parser.add_argument("--finetune-images", type=int, default=4000, help="0 = all training images")
    parser.add_argument("--finetune-epochs", type=int, default=1, help="after structured pruning")
    parser.add_argument("--structured-ratios", type=float, nargs="+", default=[0.5],
                        help="shares of channels removed by structured pruning (one row each)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="MODEL=PATH",
                        help="use this `cvbook train` checkpoint for MODEL instead of a short training run")
    parser.add_argument("--out-dir", required=True, help="folder for compression.json/.csv/.md "
                        "(the book's: book/results/compression)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS,
                        help="which compressed variants to measure (float32 always)")
    parser.add_argument("--append", action="store_true", help="keep stored rows of the other models")
    args = parser.parse_args(argv)
    checkpoints = {}
    for item in args.checkpoint:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            parser.error(f"--checkpoint {item!r}: expected MODEL=PATH, e.g. tiny_resnet=results/tiny_resnet/best_model.pth")
        checkpoints[name] = path
    result = run(args.models, train_images=args.train_images, eval_images=args.eval_images, epochs=args.epochs,
                 threads=args.threads, rounds=args.rounds, reps=args.reps,
                 finetune_images=args.finetune_images or None, finetune_epochs=args.finetune_epochs,
                 structured_ratios=tuple(args.structured_ratios),
                 checkpoints=checkpoints, out_dir=args.out_dir, append=args.append,
                 variants=tuple(args.variants),
                 log=lambda *a: print(*a, flush=True))
    print(compression_table(result["rows"]))
    print(result["conditions"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
