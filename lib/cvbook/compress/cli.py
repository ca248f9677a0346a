"""`cvbook compress prune|quantize|export`: make a trained model smaller or faster.

    cvbook compress prune results/tiniest/best_model.pth --amount 0.3 --global-pruning -o pruned.pth
    cvbook compress prune results/resnet18/best_model.pth --structured --amount 0.3 -o slim.pt2
    cvbook compress quantize results/resnet18/best_model.pth --evaluate 2000 -o int8.pt2
    cvbook compress export results/resnet18/best_model.pth -o model.onnx [--int8]

CHECKPOINT is a checkpoint written by `cvbook train` (it describes its architecture and
normalisation), a plain state_dict .pth with --model NAME (and --num-classes, --in-chans,
--img-size, --mean, --std), or a .pt2 program written by this command. Calibration and
evaluation images come from the checkpoint's dataset (else --dataset / --data-dir).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from torch import nn

from cvbook.cli import add_option

from .size import atomic_write_bytes, file_size, saved_bytes, size_on_disk, size_report


def register(sub) -> None:
    p = sub.add_parser("compress", help="prune, quantize (int8) or export (ONNX) a trained model",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="compress_command", metavar="ACTION", required=True)

    prune = actions.add_parser("prune", help="zero the smallest weights, or remove whole channels (--structured)")
    _common(prune)
    prune.add_argument("--amount", type=float, default=0.3, help="fraction of weights (channels) to remove (0.3)")
    add_option(prune, "--global-pruning", action="store_true", help="one threshold across layers, not per layer")
    prune.add_argument("--structured", action="store_true",
                       help="remove output channels (torch-pruning); writes a .pt2 program; fine-tune it afterwards")
    prune.add_argument("--compressed", action="store_true",
                       help="unstructured: write gzip-compressed sparse (CSR) weights (read with "
                            "cvbook.compress.size.load_compressed)")
    prune.set_defaults(func=cmd_prune)

    quant = actions.add_parser("quantize", help="int8 post-training quantization (PT2E, x86); writes a .pt2 program")
    _common(quant)
    quant.add_argument("--method", choices=("static", "dynamic"), default="static",
                       help="static: calibrated int8 convs and linears (default); dynamic: int8 Linear layers only")
    add_option(quant, "--calibration-batches", type=int, default=8, help="batches of training images (8)")
    quant.set_defaults(func=cmd_quantize)

    export = actions.add_parser("export", help="write an ONNX file (float32, or int8 QDQ with --int8)")
    _common(export)
    export.add_argument("--int8", action="store_true", help="static int8 quantization with ONNX Runtime")
    add_option(export, "--calibration-batches", type=int, default=8, help="batches of training images (8)")
    export.set_defaults(func=cmd_export)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="cvbook checkpoint (.pth), plain state_dict (.pth, with --model) or .pt2")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--model", help="architecture name from cvbook.models (for a plain state_dict)")
    add_option(p, "--num-classes", type=int, default=10)
    add_option(p, "--in-chans", type=int, default=1)
    add_option(p, "--img-size", type=int, default=28)
    p.add_argument("--mean", type=float, nargs="+", help="per-channel input mean (default: from the checkpoint "
                                                          "or the training images)")
    p.add_argument("--std", type=float, nargs="+", help="per-channel input std")
    p.add_argument("--dataset", help="calibration/evaluation data (default: the checkpoint's, else fashion-mnist)")
    add_option(p, "--data-dir", help="dataset location or image folder")
    add_option(p, "--batch-size", type=int, default=64, help="calibration and evaluation batch size (64)")
    p.add_argument("--evaluate", type=int, default=0, metavar="N",
                   help="also report float and compressed accuracy on N test images")


# -- loading -------------------------------------------------------------------------------

def load_model(args) -> tuple[nn.Module, dict]:
    """(model in eval mode, meta) from a cvbook checkpoint, a plain state_dict or a .pt2 program."""
    path = Path(args.checkpoint)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    meta = {"model": args.model, "num_classes": args.num_classes, "in_chans": args.in_chans,
            "img_size": args.img_size, "dataset": args.dataset, "data_dir": args.data_dir}
    if path.suffix == ".pt2":
        from .quantize import load_quantized  # any torch.export program loads this way
        model = load_quantized(path)
    else:
        try:
            saved = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValueError(f"{path}: not a readable torch file ({type(err).__name__}: {err})") from err
        if isinstance(saved, dict) and isinstance(saved.get("meta"), dict) and "model" in saved:
            from cvbook.files import load_trained_model
            model, saved_meta = load_trained_model(path)
            meta.update({k: v for k, v in saved_meta.items() if v is not None})
            meta.update({k: v for k, v in (("dataset", args.dataset), ("data_dir", args.data_dir)) if v})
        elif isinstance(saved, dict) and saved and all(isinstance(v, torch.Tensor) for v in saved.values()):
            if not args.model:
                raise ValueError(f"{path} is a plain state_dict: say which architecture with --model NAME")
            from cvbook.models import create_model
            model = create_model(args.model, num_classes=args.num_classes, in_chans=args.in_chans,
                                 img_size=args.img_size)
            try:
                model.load_state_dict(saved)
            except RuntimeError as err:
                raise ValueError(f"{path} does not fit --model {args.model} with --num-classes "
                                 f"{args.num_classes} --in-chans {args.in_chans}: {err}") from err
        else:
            raise ValueError(f"{path}: expected a cvbook checkpoint or a state_dict of tensors")
    if args.mean:
        meta["mean"] = args.mean
    if args.std:
        meta["std"] = args.std
    if not isinstance(model, torch.fx.GraphModule):  # exported programs refuse .eval(); they are fixed
        model.eval()
    return model, meta


def _splits(meta: dict) -> dict:
    """The dataset's splits; fills in the normalisation from the training images if unknown."""
    from cvbook.data.splits import load_splits
    from cvbook.data.normalize import channel_stats

    dataset = meta.get("dataset") or (None if meta.get("data_dir") else "fashion-mnist")
    splits = load_splits(dataset, meta.get("data_dir"), img_size=meta.get("img_size"))
    if not meta.get("mean") or not meta.get("std"):
        meta["mean"], meta["std"] = channel_stats(splits["train"].images)
    return splits


def _batches(images: torch.Tensor, meta: dict, batch_size: int, limit: int | None = None):
    from cvbook.data.normalize import to_input

    n = len(images) if limit is None else min(limit, len(images))
    for start in range(0, n, batch_size):
        yield to_input(images[start:min(start + batch_size, n)], meta, "cpu")


def _calibration(args, meta: dict, splits: dict) -> list[torch.Tensor]:
    train = splits["train"]
    # a fixed random sample, not the first images (which may be sorted by class)
    order = torch.randperm(len(train.images), generator=torch.Generator().manual_seed(0))
    sample = train.images[order[: args.calibration_batches * args.batch_size]]
    return list(_batches(sample, meta, args.batch_size))


def _example(meta: dict, batch: int = 2) -> torch.Tensor:
    return torch.zeros(batch, meta["in_chans"], meta["img_size"], meta["img_size"])


@torch.no_grad()
def _accuracy(model, meta: dict, splits: dict, n: int, batch_size: int) -> float:
    test = splits["test"]
    correct = 0
    total = min(n, len(test.labels))
    for i, x in enumerate(_batches(test.images, meta, batch_size, total)):
        y = test.labels[i * batch_size: i * batch_size + len(x)]
        correct += int((model(x).argmax(1) == y).sum())
    return correct / total


def _report_accuracy(args, meta, splits, **models) -> None:
    if args.evaluate > 0:
        if splits is None:
            splits = _splits(meta)
        for name, model in models.items():
            print(f"{name} accuracy on {min(args.evaluate, len(splits['test'].labels))} test images: "
                  f"{_accuracy(model, meta, splits, args.evaluate, args.batch_size):.2%}")


# -- actions -------------------------------------------------------------------------------

def cmd_prune(args) -> int:
    model, meta = load_model(args)
    if isinstance(model, torch.fx.GraphModule):
        raise ValueError(f"{args.checkpoint}: pruning needs the model's Python class; give a .pth checkpoint")
    out = Path(args.output)
    splits = _splits(meta) if args.evaluate else None
    if args.structured:
        from .quantize import save_quantized
        from .structured import prune_channels

        result = prune_channels(model, _example(meta), args.amount, global_pruning=args.global_pruning)
        print(result.summary())
        save_quantized(result.model, out, _example(meta))  # a torch.export program: no class needed to load
        print(f"wrote {out} ({file_size(out):,} bytes; state_dict {size_on_disk(model):,} -> "
              f"{size_on_disk(result.model):,} bytes). Fine-tune it before use: accuracy drops until then.")
        _report_accuracy(args, meta, splits, float=model, pruned=result.model)
        return 0

    from .prune import format_sparsity_report, prune_global, prune_per_layer, sparsity_report

    pruned = (prune_global if args.global_pruning else prune_per_layer)(copy.deepcopy(model), args.amount)
    print(format_sparsity_report(sparsity_report(pruned)))
    print("bytes on disk:", ", ".join(f"{k} {v:,}" for k, v in size_report(pruned).items()))
    if args.compressed:
        from .size import save_compressed
        written = save_compressed(pruned, out)
    else:
        # a cvbook checkpoint stays one (loadable by `cvbook test`); a plain state_dict stays plain
        state = {"model": pruned.state_dict(), "meta": meta} if meta.get("mean") else pruned.state_dict()
        data = saved_bytes(state)
        atomic_write_bytes(out, data)
        written = len(data)
    print(f"wrote {out} ({written:,} bytes)")
    _report_accuracy(args, meta, splits, float=model, pruned=pruned)
    return 0


def cmd_quantize(args) -> int:
    from .quantize import quantize_dynamic, quantize_static, save_quantized

    model, meta = load_model(args)
    out = Path(args.output)
    if args.method == "dynamic":
        quantized = quantize_dynamic(model)
        data = saved_bytes(quantized.state_dict())
        atomic_write_bytes(out, data)
        print(f"wrote {out}: int8 Linear weights, {len(data):,} bytes (float state_dict {size_on_disk(model):,}). "
              "Convolutions stay float32: expect no speed-up on a conv net. Load with torchao installed.")
        _report_accuracy(args, meta, None, float=model, dynamic_int8=quantized)
        return 0
    splits = _splits(meta)
    calibration = _calibration(args, meta, splits)
    quantized = quantize_static(model, calibration, num_batches=None)
    save_quantized(quantized, out, calibration[0])
    print(f"wrote {out} ({file_size(out):,} bytes); state_dict float {size_on_disk(model):,} -> "
          f"int8 {size_on_disk(quantized):,} bytes. For speed, load it and torch.compile it "
          "(cvbook.compress.quantize.compile_int8).")
    _report_accuracy(args, meta, splits, float=model, int8=quantized)
    return 0


def cmd_export(args) -> int:
    import tempfile

    from .onnx_export import OnnxModel, export_onnx, quantize_onnx

    model, meta = load_model(args)
    out = Path(args.output)
    splits = _splits(meta) if (args.int8 or args.evaluate) else None
    if args.int8:
        calibration = _calibration(args, meta, splits)
        with tempfile.TemporaryDirectory() as tmp:
            float_path = export_onnx(model, calibration[0], Path(tmp) / "float.onnx")
            quantize_onnx(float_path, out, calibration, num_batches=None)
            print(f"wrote {out} (int8 QDQ, {file_size(out):,} bytes; float ONNX {file_size(float_path):,} bytes)")
    else:
        export_onnx(model, _example(meta), out)
        session = OnnxModel(out)
        x = torch.randn(2, meta["in_chans"], meta["img_size"], meta["img_size"])
        with torch.no_grad():
            diff = float((session(x) - model(x)).abs().max())
        print(f"wrote {out} (float32, {file_size(out):,} bytes); largest difference from PyTorch: {diff:.2e}")
    _report_accuracy(args, meta, splits, float=model, onnx=OnnxModel(out))
    return 0
