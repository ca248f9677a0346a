"""The experiments behind the book's stored results: the training-trick A/B tables and the
model comparison. Each trains with cvbook (`cvbook.experiments.run_arm`) on a fixed subset
of Fashion-MNIST and writes one JSON file atomically; the chapters load those files and
say which command wrote them:

    .venv/bin/python tools/experiments.py tricks --out book/results   -> tricks.json
    .venv/bin/python tools/experiments.py models --out book/results   -> models.json
    .venv/bin/python tools/experiments.py tricks --trick "label smoothing" --epochs 10 --out /tmp/ab
    .venv/bin/python tools/experiments.py trained --run results/resnet18 --out book/results \
        --train-command "cvbook train --model resnet18 ..."   -> trained/resnet18/{run.json, test_logits.pt}
"""

from __future__ import annotations

import argparse
import io
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from cvbook.experiments import BASE_RECIPE, fashion_subsets, json_part, run_arm, score_model
from cvbook.files import atomic_write_bytes, atomic_write_json
from machine import describe as machine
from machine import torch_threads, training_cpu

# The A/B arms: each changes only the options it names (the first arm of each trick is its baseline).
TRICKS: dict[str, dict[str, dict]] = {
    "optimizer": {"SGD + Nesterov, lr 0.1": {},
                  "AdamW, lr 0.003": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.05}},
    "schedule": {"cosine, no warm-up": {},
                 "cosine, 1 epoch warm-up": {"warmup_epochs": 1.0},
                 "constant LR": {"scheduler": "none"}},
    "label smoothing": {"off": {}, "0.1": {"label_smoothing": 0.1}},
    "MixUp/CutMix": {"off": {}, "alpha 0.2": {"mixup_cutmix_alpha": 0.2}},
    "EMA": {"off": {}, "decay 0.99": {"ema": 0.99}},
    "augmentation": {"none": {"crop_padding": 0, "flip": False},
                     "flip + crop 2 px": {},
                     "flip + crop 4 px": {"crop_padding": 4}},
    "batch size": {"128, lr 0.1": {},
                   "512, lr 0.1": {"batch_size": 512},
                   "512, lr 0.4 (linear scaling)": {"batch_size": 512, "lr": 0.4}},
    "precision": {"float32": {}, "bf16 autocast": {"bf16": True}},
}


def run_tricks(n_train: int = 5000, n_val: int = 5000, epochs: int = 3, seeds=(0, 1, 2),
               tricks: dict | None = None) -> dict:
    """Every arm of every trick, once per seed. Arms with identical settings (each
    trick's baseline is BASE_RECIPE) are trained once and shared."""
    data = fashion_subsets(n_train, n_val)
    tricks = TRICKS if tricks is None else tricks
    cache: dict[str, list[dict]] = {}
    results = {}
    for trick, arms in tricks.items():
        results[trick] = {}
        for label, overrides in arms.items():
            key = repr(sorted(overrides.items()))
            if key not in cache:
                cache[key] = [json_part(run_arm(data, overrides, s, epochs)) for s in seeds]
                accs = [r["val_acc"] for r in cache[key]]
                print(f"{trick:16s} {label:32s} val acc {sum(accs) / len(accs):.4f} "
                      f"(seeds {', '.join(f'{a:.4f}' for a in accs)})", flush=True)
            results[trick][label] = {"overrides": overrides, "runs": cache[key]}
    return {"setting": {"model": "smallcnn", "n_train": len(data["train"]), "n_val": len(data["val"]),
                        "epochs": epochs, "seeds": list(seeds), "base_recipe": BASE_RECIPE},
            "machine": machine(), "tricks": results}


def run_models(names=("smallcnn", "tiniest", "alexnet"), n_train: int = 5000, n_val: int = 2000,
               n_test: int | None = None, epochs: int = 3, seed: int = 0, recipe: dict | None = None
               ) -> dict:
    """Train each model with one short recipe, then score it on the test set and
    measure its cost (cvbook.evaluate.efficiency_report)."""
    from cvbook.evaluate import efficiency_report

    recipe = {**BASE_RECIPE, "lr": 0.05, "warmup_epochs": 0.5, "label_smoothing": 0.1,
              **(recipe or {})}
    data = fashion_subsets(n_train, n_val, n_test)
    rows = {}
    for name in names:
        run = run_arm(data, recipe, seed, epochs, model=name)
        trained, meta = run["model"], run["meta"]
        t0 = time.perf_counter()
        scores = score_model(trained, data["test"], meta)
        test_time = time.perf_counter() - t0
        cost = efficiency_report(trained, (1, 28, 28), batch_sizes=(1, 64))
        rows[name] = {**scores, **cost, "flops": 2 * cost["macs"], "train_time_s": run["train_time_s"],
                      "test_time_s": test_time, "history": run["history"]}
        print(f"{name:10s} test acc {scores['accuracy']:.4f} top-5 {scores['top5']:.4f} "
              f"train {run['train_time_s']:.0f}s", flush=True)
    return {"setting": {"n_train": len(data["train"]), "n_val": len(data["val"]),
                        "n_test": len(data["test"]), "epochs": epochs, "seed": seed, "recipe": recipe},
            "classes": list(data["test"].classes), "machine": machine(), "models": rows}


def store_trained(run_dir: Path, out: Path, train_command: str, store_command: str = "") -> Path:
    """What the book needs of a finished `cvbook train` run on Fashion-MNIST whose weights are
    too large to keep with it (ResNet-18: 45 MB): the best model's logits on the 10,000 test
    images (0.4 MB) and a record of the run (the command, its history and training time, and
    the CPU class that trained it, as `cvbook train` recorded it in the history). Written to
    out/trained/<model>/."""
    from cvbook.data import load_splits
    from cvbook.evaluate.predict import predict
    from cvbook.files import load_trained_model

    model, meta = load_trained_model(run_dir / "best_model.pth")
    test = load_splits("fashion-mnist")["test"]
    logits = predict(model, test.images, meta)
    history = json.loads((run_dir / "history.json").read_text())
    dest = out / "trained" / meta["model"]
    buffer = io.BytesIO()
    torch.save(logits, buffer)
    atomic_write_bytes(dest / "test_logits.pt", buffer.getvalue())
    record = {"model": meta["model"], "train_command": train_command, "store_command": store_command,
              "history": history,
              # enough to rebuild the untrained architecture (cvbook.models.create_model), whose
              # cost (latency, FLOPs, size) is the trained model's
              "architecture": {k: meta[k] for k in ("num_classes", "in_chans", "img_size")},
              "train_time_s": sum(history["epoch_time_s"]), "n_test": len(test),
              "test_accuracy": float((logits.argmax(1) == test.labels).float().mean()),
              # the training CPU, from the run's own record; this machine only scored the test set
              "cpu": training_cpu(history), "stored_on": machine(),
              "stored": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    return atomic_write_json(record, dest / "run.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/experiments.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=("tricks", "models", "trained"))
    parser.add_argument("--out", required=True,
                        help="folder for tricks.json / models.json / trained/ (the book's: book/results)")
    parser.add_argument("--run", type=Path, help="trained: the folder of a finished `cvbook train` run")
    parser.add_argument("--train-command", help="trained: the `cvbook train` command that made --run")
    parser.add_argument("--n-train", "--n_train", dest="n_train", type=int, default=5000,
                        help="training images (--n_train: the older spelling)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="tricks: seeds 0..N-1 per arm")
    parser.add_argument("--trick", action="append", choices=TRICKS, metavar="NAME",
                        help="tricks: only this one (repeatable; default all of: " + ", ".join(TRICKS) + ")")
    parser.add_argument("--models", default="smallcnn,tiniest,alexnet", help="models: comma-separated")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.n_train < 512 or args.epochs < 1 or args.seeds < 1:
        raise ValueError("need --n-train >= 512, --epochs >= 1 and --seeds >= 1")
    with torch_threads(args.threads):
        return _run(args, argv, parser)


def _run(args: argparse.Namespace, argv: list[str] | None, parser: argparse.ArgumentParser) -> int:
    if args.experiment == "trained":
        if not (args.run and args.train_command):
            parser.error("trained needs --run (a finished `cvbook train` folder) and --train-command")
        store_command = shlex.join(["python", "tools/experiments.py", *(argv if argv is not None else sys.argv[1:])])
        print(f"wrote {store_trained(args.run, Path(args.out), args.train_command, store_command)}")
        return 0
    t0 = time.perf_counter()
    if args.experiment == "tricks":
        result = run_tricks(args.n_train, epochs=args.epochs, seeds=tuple(range(args.seeds)),
                            tricks={t: TRICKS[t] for t in args.trick} if args.trick else None)
    else:
        result = run_models(tuple(args.models.split(",")), args.n_train, epochs=args.epochs)
    command = "python tools/experiments.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result.update(command=command.strip(), wall_time_s=time.perf_counter() - t0,
                  finished=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    path = atomic_write_json(result, Path(args.out) / f"{args.experiment}.json")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
