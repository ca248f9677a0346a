"""`cvbook test | infer | plot | compare`: score a trained model, classify one image,
draw its training curves, and tabulate every model under results/.

    cvbook test --model tiniest               -> results/tiniest/test_results.json
    cvbook infer --model tiniest --image shirt.png --top-k 5
    cvbook plot --model tiniest               -> plots/tiniest/training_{loss,accuracy}.png
    cvbook compare                            -> results/model_comparison.{csv,md}
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

from cvbook.cli import add_option


def register(sub) -> None:
    # cvbook.cli lists each command name with this module, so this may be called once per name
    if "test" not in sub.choices:
        p = sub.add_parser("test", help="top-1/top-5 accuracy and per-class report on the test set")
        _model_args(p)
        p.add_argument("--dataset", help="override the dataset saved in the checkpoint")
        add_option(p, "--data-dir", help="override the dataset location saved in the checkpoint")
        p.add_argument("--limit", type=int, help="score the first N test images only")
        add_option(p, "--batch-size", type=int, default=512)
        add_option(p, "--no-plot", dest="plot", action="store_false", help="no confusion_matrix.png")
        p.set_defaults(func=run_test)
    if "infer" not in sub.choices:
        p = sub.add_parser("infer", help="classify one image with a trained model")
        _model_args(p)
        p.add_argument("--image", required=True, help="path of an image file")
        add_option(p, "--top-k", type=int, default=5)
        p.set_defaults(func=run_infer)
    if "plot" not in sub.choices:
        p = sub.add_parser("plot", help="training loss and accuracy curves as PNG")
        p.add_argument("--model", required=True, help="run name under --out-dir")
        add_option(p, "--out-dir", "--output_dir", "--output-dir", dest="output_dir", default="results",
                   help="the folder of the runs, one sub-folder each (default results)")
        add_option(p, "--plots-dir", default="plots", help="PNGs go to PLOTS_DIR/<model>/")
        p.set_defaults(func=run_plot)
    if "compare" not in sub.choices:
        p = sub.add_parser("compare", help="model_comparison.csv and a markdown table of all runs")
        add_option(p, "--out-dir", "--output_dir", "--output-dir", dest="output_dir", default="results",
                   help="the folder of the runs, one sub-folder each (default results)")
        p.set_defaults(func=run_compare)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="run name under --out-dir (reads <out-dir>/<model>/best_model.pth)")
    add_option(p, "--out-dir", "--output_dir", "--output-dir", dest="output_dir", default="results",
               help="the folder of the runs, one sub-folder each (default results)")
    p.add_argument("--checkpoint", help="a checkpoint path instead of --model")
    p.add_argument("--device", default="cpu")


def _checkpoint(args) -> Path:
    if args.checkpoint:
        return Path(args.checkpoint)
    if not args.model:
        raise ValueError("give --model (a run under --out-dir) or --checkpoint")
    return Path(args.output_dir) / args.model / "best_model.pth"


def run_test(args) -> int:
    import torch

    from cvbook.evaluate.efficiency import count_parameters
    from cvbook.evaluate.metrics import (classification_report, confusion_matrix,
                                         format_classification_report, topk_accuracy)
    from cvbook.files import atomic_write_json, load_trained_model
    from cvbook.data.splits import load_splits
    from cvbook.evaluate.predict import predict

    path = _checkpoint(args)
    model, meta = load_trained_model(path, args.device)
    dataset = args.dataset or (None if args.data_dir else meta.get("dataset"))
    data_dir = args.data_dir or meta.get("data_dir")
    test = load_splits(dataset, data_dir, meta.get("val_fraction", 0.1), meta["img_size"],
                       only=("test",))["test"]
    test = test.head(args.limit)
    if tuple(test.images.shape[1:]) != (meta["in_chans"], meta["img_size"], meta["img_size"]):
        raise ValueError(f"test images have shape {tuple(test.images.shape[1:])}; {path} expects "
                         f"{(meta['in_chans'], meta['img_size'], meta['img_size'])}")
    logits = predict(model, test.images, meta, args.batch_size, torch.device(args.device))
    preds, classes = logits.argmax(1), list(meta["classes"])
    top = topk_accuracy(logits, test.labels, (1, 5))
    report = classification_report(test.labels, preds, classes)
    cm = confusion_matrix(test.labels, preds, len(classes))
    results = {"model": meta["model"], "checkpoint": str(path), "dataset": dataset or data_dir,
               "num_images": len(test), "top1": top[1], "top5": top[5],
               "loss": torch.nn.functional.cross_entropy(logits, test.labels).item(),
               "params": count_parameters(model), "classification_report": report,
               "confusion_matrix": cm.tolist()}
    out = path.parent
    atomic_write_json(results, out / "test_results.json")
    print(format_classification_report(report))
    print(f"top-1 {top[1]:.4f}  top-5 {top[5]:.4f}  ({len(test)} test images) -> {out / 'test_results.json'}")
    if args.plot:
        from cvbook.evaluate.plots import plot_confusion_matrix, save_figure

        save_figure(plot_confusion_matrix(cm, classes, title=f"{meta['model']}: confusion matrix"),
                    out / "confusion_matrix.png")
    return 0


def run_infer(args) -> int:
    import torch
    from PIL import Image, UnidentifiedImageError

    from cvbook.files import load_trained_model
    from cvbook.evaluate.predict import predict

    image = Path(args.image)
    if not image.is_file():
        raise FileNotFoundError(f"image {image} does not exist")
    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    model, meta = load_trained_model(_checkpoint(args), args.device)
    size = meta["img_size"]
    try:
        with Image.open(image) as im:
            im = im.convert("L" if meta["in_chans"] == 1 else "RGB").resize((size, size), Image.BILINEAR)
            pixels = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
    except UnidentifiedImageError as err:
        raise ValueError(f"{image}: not an image file PIL can read") from err
    x = pixels.view(size, size, meta["in_chans"]).permute(2, 0, 1)[None]
    probs = predict(model, x, meta, device=torch.device(args.device)).softmax(1)[0]
    p, idx = probs.topk(min(args.top_k, len(probs)))
    for rank, (pi, i) in enumerate(zip(p.tolist(), idx.tolist()), 1):
        print(f"{rank}. {meta['classes'][i]:<24s} {100 * pi:6.2f}%")
    return 0


def run_plot(args) -> int:
    from cvbook.evaluate.plots import plot_history, save_figure

    path = Path(args.output_dir) / args.model / "history.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; train first (`cvbook train --model {args.model}`)")
    history = json.loads(path.read_text())
    out = Path(args.plots_dir) / args.model
    for metric, name in (("loss", "training_loss.png"), ("acc", "training_accuracy.png")):
        fig = plot_history(history, metric, title=f"{args.model}: {'accuracy' if metric == 'acc' else 'loss'}")
        print(save_figure(fig, out / name))
    return 0


COLUMNS = ("model", "top1", "top5", "params", "epochs", "best_val_acc", "train_time_s")


def comparison_rows(results_dir: str | Path) -> list[dict]:
    """One row per run folder that has a test_results.json, best top-1 first."""
    rows = []
    for path in sorted(Path(results_dir).glob("*/test_results.json")):
        res = json.loads(path.read_text())
        hist_path = path.parent / "history.json"
        hist = json.loads(hist_path.read_text()) if hist_path.is_file() else {}
        rows.append({"model": path.parent.name, "top1": res.get("top1"), "top5": res.get("top5"),
                     "params": res.get("params"), "epochs": len(hist.get("val_acc", [])) or None,
                     "best_val_acc": max(hist["val_acc"]) if hist.get("val_acc") else None,
                     "train_time_s": round(sum(hist.get("epoch_time_s", [])), 1) or None})
    return sorted(rows, key=lambda r: -(r["top1"] or 0))


def comparison_table(rows: list[dict]) -> str:
    """The comparison rows as a Markdown table: accuracies in %, counts with thousands separators."""
    from cvbook.evaluate.tables import markdown_table

    def cell(key, v):
        if v is None:
            return "-"
        if key in ("top1", "top5", "best_val_acc"):
            return f"{100 * v:.2f}%"
        return f"{v:,}" if isinstance(v, int) else str(v)
    return markdown_table(COLUMNS, [[cell(k, r[k]) for k in COLUMNS] for r in rows]) + "\n"


def run_compare(args) -> int:
    from cvbook.files import atomic_write

    rows = comparison_rows(args.output_dir)
    if not rows:
        raise FileNotFoundError(f"no {args.output_dir}/<model>/test_results.json found; "
                                f"run `cvbook test --model M` first")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out = Path(args.output_dir)
    atomic_write(out / "model_comparison.csv", lambda f: f.write(buf.getvalue()), mode="w")
    table = comparison_table(rows)
    atomic_write(out / "model_comparison.md", lambda f: f.write(table), mode="w")
    print(table, end="")
    return 0
