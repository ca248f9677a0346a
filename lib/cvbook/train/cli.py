"""`cvbook train`: train a model from cvbook.models on a dataset, writing
results/<model>/{history.json, best_model.pth, checkpoint_epoch_N.pth, last.pth}.

    cvbook train --model tiniest --epochs 15 --lr 0.2 --label-smoothing 0.1
    torchrun --nproc_per_node 2 -m cvbook train --model resnet18 ...   (DDP)
"""

from __future__ import annotations

import argparse
import typing
from dataclasses import MISSING, fields
from pathlib import Path

from cvbook.cli import add_option
from cvbook.data.splits import DATASETS
from cvbook.train.loop import TrainConfig

# options that may differ between a run and its resumption (all others come from the checkpoint)
RUNTIME_OPTIONS = ("epochs", "progress", "device", "compile")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (results/<model>/: history, checkpoints)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="architecture from cvbook.models (e.g. tiniest, resnet18)")
    add_config_options(p)
    p.add_argument("--dataset", choices=DATASETS, help="default fashion-mnist")
    add_option(p, "--data-dir", help="dataset location, or an image folder with train/ (val/, test/)")
    add_option(p, "--img-size", type=int, help="resize image-folder images to this size")
    add_option(p, "--val-fraction", type=float, default=0.1,
                   help="share of train held out for validation when the dataset has no val split")
    add_option(p, "--limit-train", type=int, help="train on the first N images only (quick runs)")
    add_option(p, "--limit-val", type=int, help="validate on N images (default a quarter of --limit-train "
                                                 "when that is given)")
    add_option(p, "--track-test", action="store_true",
                   help="also score the test set after every epoch (history.json test_acc, for "
                        "time-to-accuracy curves; never used to pick the best model)")
    add_option(p, "--out-dir", "--output_dir", "--output-dir", dest="output_dir", default="results",
               metavar="DIR", help="the folder of the runs, one sub-folder each (default results)")
    add_option(p, "--run-name", help="folder under --out-dir (default: the model name)")
    p.add_argument("--resume", metavar="PATH",
                   help="continue the run saved in this checkpoint (e.g. results/M/last.pth); "
                        "its settings are used, except --epochs")
    p.set_defaults(func=run)


def add_config_options(p: argparse.ArgumentParser, config=TrainConfig) -> None:
    """One option per field of `config` (a dataclass): `--batch-size` for batch_size, with the
    field's type, default and help. A boolean field is a switch: `--bf16` turns on one that
    defaults to off, `--no-flip` turns off one that defaults to on."""
    types = typing.get_type_hints(config)
    for f in fields(config):
        cli = dict(f.metadata)
        help_text = cli.pop("help", "") or None
        kind = types[f.name]
        kind = next((t for t in typing.get_args(kind) if t is not type(None)), kind)  # X | None -> X
        default = None if f.default is MISSING else f.default
        if kind is bool:
            name = f"--no-{f.name}" if default else f"--{f.name}"
            if help_text and default:
                help_text = f"no {help_text}"
            add_option(p, name.replace("_", "-"), dest=f.name, default=default,
                       action="store_false" if default else "store_true", help=help_text, **cli)
            continue
        if default is not None:
            help_text = f"{help_text} (default {default})" if help_text else f"default {default}"
        add_option(p, "--" + f.name.replace("_", "-"), dest=f.name, type=kind, default=default, help=help_text, **cli)


def run(args: argparse.Namespace) -> int:
    import torch

    from cvbook.train import distributed
    from cvbook.files import load_checkpoint
    from cvbook.data.splits import load_splits
    from cvbook.train.loop import TrainConfig, train

    options = vars(args)
    if args.resume:
        saved = load_checkpoint(args.resume)
        meta = saved["meta"]
        options = {**saved["config"], **{k: options[k] for k in RUNTIME_OPTIONS}}
    else:
        if not args.model:
            raise ValueError("--model is required (see `cvbook train --help`)")
        meta = {"model": args.model, "dataset": args.dataset or (None if args.data_dir else "fashion-mnist"),
                "data_dir": args.data_dir, "img_size": args.img_size, "val_fraction": args.val_fraction,
                "limit_train": args.limit_train,
                "limit_val": args.limit_val or (max(1, args.limit_train // 4) if args.limit_train else None),
                "run_name": args.run_name or args.model, "output_dir": args.output_dir,
                "track_test": args.track_test}
    cfg = TrainConfig.from_dict(options)
    splits = load_splits(meta["dataset"], meta["data_dir"], meta["val_fraction"], meta["img_size"])
    train_set, val_set = splits["train"].head(meta["limit_train"]), splits["val"].head(meta["limit_val"])
    _, in_chans, height, width = train_set.images.shape
    meta.update(in_chans=in_chans, img_size=height, num_classes=len(train_set.classes))

    from cvbook.models import create_model

    torch.manual_seed(cfg.seed)  # the same seed gives the same initial weights
    model = create_model(meta["model"], num_classes=meta["num_classes"], in_chans=in_chans,
                         img_size=height)
    out = Path(args.resume).parent if args.resume else Path(meta["output_dir"]) / meta["run_name"]
    info = distributed.setup(cfg.device)
    if info.is_main:
        print(f"training {meta['model']} on {meta['dataset'] or meta['data_dir']}: "
              f"{len(train_set)} train / {len(val_set)} val images, {info.world_size} process(es), "
              f"results in {out}")
    try:
        history = train(model, train_set, val_set, cfg, out, resume=args.resume, meta=meta,
                        test_set=splits["test"] if meta.get("track_test") else None)
    finally:
        distributed.cleanup()
    if info.is_main and history["val_acc"]:
        print(f"best validation accuracy {max(history['val_acc']):.4f}; weights in {out / 'best_model.pth'}")
    return 0
