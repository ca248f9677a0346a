"""The book's experiments: training-trick A/B runs and the model comparison.

Each experiment trains with `cvbook.train.train` on a fixed subset of Fashion-MNIST
and writes one JSON file atomically. The book's chapters load those files, and say
which command wrote them:

    python -m cvbook.experiments tricks --out book/results   -> tricks.json
    python -m cvbook.experiments models --out book/results   -> models.json

A trick is judged against the spread between seeds of the same recipe: every arm runs
with several seeds on the same data, so a difference smaller than that spread is noise.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch
from torch import nn

from cvbook.train import ImageSet, TrainConfig, atomic_write_json, load_splits, predict, train
from cvbook.train.loop import channel_stats


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU layers (16, 32, 64 channels), two max-pools, a global average
    and a Linear layer: about 24K parameters and 2 M multiply-adds for a 28x28 image,
    so an A/B run of a few thousand images takes seconds on a CPU."""

    def __init__(self, num_classes: int = 10, in_chans: int = 1, width: int = 16):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                    nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*block(in_chans, width), nn.MaxPool2d(2),
                                      *block(width, 2 * width), nn.MaxPool2d(2),
                                      *block(2 * width, 4 * width))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


def build_model(name: str, seed: int, num_classes: int = 10) -> nn.Module:
    """'smallcnn' or any cvbook.models name, for 1x28x28 images, with seeded weights."""
    torch.manual_seed(seed)
    if name == "smallcnn":
        return SmallCNN(num_classes)
    from cvbook.models import create_model

    return create_model(name, num_classes=num_classes, in_chans=1, img_size=28)


def fashion_subsets(n_train: int, n_val: int | None = None, n_test: int | None = None
                    ) -> dict[str, ImageSet]:
    """The first n images of Fashion-MNIST's train / held-out validation / test splits
    (the splits are shuffled once with a fixed seed, so each subset mixes the classes)."""
    splits = load_splits("fashion-mnist")
    return {"train": splits["train"].head(n_train), "val": splits["val"].head(n_val),
            "test": splits["test"].head(n_test)}


# The recipe every A/B arm starts from; each arm changes only the options it names.
BASE_RECIPE = dict(optimizer="sgd", lr=0.1, weight_decay=5e-4, batch_size=128, scheduler="cosine",
                   warmup_epochs=0.0, label_smoothing=0.0, mixup_cutmix_alpha=0.0, ema=0.0,
                   crop_padding=2, flip=True, bf16=False)

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


def run_arm(data: dict[str, ImageSet], overrides: dict, seed: int, epochs: int,
            model: str = "smallcnn", output_dir: str | Path | None = None) -> dict:
    """Train one configuration once: its seed, final validation accuracy, history and
    training time (seconds, the sum of the epoch times), plus the trained `model` and
    its `meta` (normalisation statistics), which are not JSON and are left out of files."""
    cfg = TrainConfig(**{**BASE_RECIPE, **overrides, "epochs": epochs, "seed": seed,
                         "progress": False, "device": "cpu"})
    net = build_model(model, seed, len(data["train"].classes))
    meta = {"model": model, "in_chans": 1, "img_size": 28, "classes": list(data["train"].classes)}
    meta["mean"], meta["std"] = channel_stats(data["train"].images)
    history = train(net, data["train"], data["val"], cfg, output_dir=output_dir, meta=meta)
    return {"seed": seed, "val_acc": history["val_acc"][-1], "history": history,
            "train_time_s": sum(history["epoch_time_s"]), "model": net.eval(), "meta": meta}


def _json_part(run: dict) -> dict:
    return {k: v for k, v in run.items() if k not in ("model", "meta")}


def _machine() -> dict:
    """The CPU (cvbook.hardware.cpu_info), the system and the load, stored with every result."""
    from cvbook import hardware

    return {**hardware.cpu_info(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "load_average_1_5_15_min": list(os.getloadavg())}


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
                cache[key] = [_json_part(run_arm(data, overrides, s, epochs)) for s in seeds]
                accs = [r["val_acc"] for r in cache[key]]
                print(f"{trick:16s} {label:32s} val acc {sum(accs) / len(accs):.4f} "
                      f"(seeds {', '.join(f'{a:.4f}' for a in accs)})", flush=True)
            results[trick][label] = {"overrides": overrides, "runs": cache[key]}
    return {"setting": {"model": "smallcnn", "n_train": len(data["train"]), "n_val": len(data["val"]),
                        "epochs": epochs, "seeds": list(seeds), "base_recipe": BASE_RECIPE},
            "machine": _machine(), "tricks": results}


def score_model(model: nn.Module, test: ImageSet, meta: dict) -> dict:
    """The quality columns of a results page (macro precision/recall/F1, accuracy, top-5) and the
    confusion matrix on `test`."""
    from cvbook.evaluate import classification_report, confusion_matrix, topk_accuracy

    logits = predict(model, test.images, meta)
    preds = logits.argmax(1)
    report = classification_report(test.labels, preds, test.classes)
    macro = report["macro avg"]
    return {"precision": macro["precision"], "recall": macro["recall"], "f1": macro["f1-score"],
            "accuracy": report["accuracy"], "top5": topk_accuracy(logits, test.labels, (5,))[5],
            "confusion": confusion_matrix(test.labels, preds, len(test.classes)).tolist()}


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
            "classes": list(data["test"].classes), "machine": _machine(), "models": rows}


def trick_rows(result: dict, trick: str) -> list[dict]:
    """One row per arm of `trick` in a run_tricks result: mean, lowest and highest
    validation accuracy over the seeds, the difference of the means to the first arm
    (the baseline), and a verdict. The difference counts as an effect only when it is
    larger than the range between seeds of either arm; otherwise it is called noise."""
    arms = result["tricks"].get(trick)
    if arms is None:
        raise ValueError(f"no trick {trick!r} in the results; found {', '.join(result['tricks'])}")
    rows, base = [], None
    for label, arm in arms.items():
        accs = [r["val_acc"] for r in arm["runs"]]
        times = [r["train_time_s"] for r in arm["runs"]]
        row = {"arm": label, "mean": sum(accs) / len(accs), "low": min(accs), "high": max(accs),
               "train_time_s": sorted(times)[len(times) // 2]}
        base = base or row
        row["delta"] = row["mean"] - base["mean"]
        noise = max(row["high"] - row["low"], base["high"] - base["low"])
        row["verdict"] = ("baseline" if row is base else "better" if row["delta"] > noise
                          else "worse" if row["delta"] < -noise else "within seed noise")
        rows.append(row)
    return rows


class Text(str):
    """A string that shows without quotes where its repr is printed (myst_nb's glue)."""

    def __repr__(self) -> str:
        return str(self)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (the book renders it; no pandas needed)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cvbook.experiments", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", choices=("tricks", "models"))
    parser.add_argument("--out", default="book/results", help="folder for tricks.json / models.json")
    parser.add_argument("--n_train", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="tricks: seeds 0..N-1 per arm")
    parser.add_argument("--models", default="smallcnn,tiniest,alexnet", help="models: comma-separated")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.n_train < 512 or args.epochs < 1 or args.seeds < 1:
        raise ValueError("need --n_train >= 512, --epochs >= 1 and --seeds >= 1")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    if args.experiment == "tricks":
        result = run_tricks(args.n_train, epochs=args.epochs, seeds=tuple(range(args.seeds)))
    else:
        result = run_models(tuple(args.models.split(",")), args.n_train, epochs=args.epochs)
    command = "python -m cvbook.experiments " + " ".join(argv if argv is not None else __import__("sys").argv[1:])
    result.update(command=command.strip(), wall_time_s=time.perf_counter() - t0,
                  finished=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    path = atomic_write_json(result, Path(args.out) / f"{args.experiment}.json")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
