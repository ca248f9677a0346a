"""A/B runs of training recipes: a small network that trains in seconds, the recipe every
arm starts from, one run of an arm, and the verdict on a trick.

Each arm trains with `cvbook.train.train` on a fixed subset of Fashion-MNIST. A trick is
judged against the spread between seeds of the same recipe: every arm runs with several
seeds on the same data, so a difference smaller than that spread is noise. The chapters
run arms live; the longer A/B tables they load were made with these same functions
(`tools/experiments.py` in the course repository).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from cvbook.data import ImageSet, channel_stats, load_splits
from cvbook.evaluate.predict import predict
from cvbook.train import TrainConfig, train


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


def json_part(run: dict) -> dict:
    """The part of a run_arm result that goes into a JSON file (not the model, not meta)."""
    return {k: v for k, v in run.items() if k not in ("model", "meta")}


def score_model(model: nn.Module, test: ImageSet, meta: dict) -> dict:
    """The quality columns of a results page (macro precision/recall/F1, accuracy, top-5) and the
    confusion matrix on `test`."""
    return score_logits(predict(model, test.images, meta), test.labels, test.classes)


def score_logits(logits: torch.Tensor, labels: torch.Tensor, classes) -> dict:
    """score_model from a model's stored test-set logits (N, K), for models whose weights
    are not kept (ResNet-18's are 45 MB; its logits on Fashion-MNIST's test set 0.4 MB)."""
    from cvbook.evaluate import classification_report, confusion_matrix, topk_accuracy

    if logits.ndim != 2 or len(logits) != len(labels) or logits.shape[1] != len(classes):
        raise ValueError(f"logits of shape {tuple(logits.shape)} for {len(labels)} labels and "
                         f"{len(classes)} classes: expected ({len(labels)}, {len(classes)})")
    preds = logits.argmax(1)
    report = classification_report(labels, preds, classes)
    macro = report["macro avg"]
    return {"precision": macro["precision"], "recall": macro["recall"], "f1": macro["f1-score"],
            "accuracy": report["accuracy"], "top5": topk_accuracy(logits, labels, (5,))[5],
            "confusion": confusion_matrix(labels, preds, len(classes)).tolist()}


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
