"""`cvbook train`: train a model from cvbook.models on a dataset, writing
results/<model>/{history.json, best_model.pth, checkpoint_epoch_N.pth, last.pth}.

    cvbook train --model tiniest --epochs 15 --lr 0.2 --label_smoothing 0.1
    torchrun --nproc_per_node 2 -m cvbook train --model resnet18 ...   (DDP)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cvbook.train.data import DATASETS
from cvbook.train.optim import OPTIMIZERS, SCHEDULERS

# options that may differ between a run and its resumption (all others come from the checkpoint)
RUNTIME_OPTIONS = ("epochs", "progress", "device", "compile")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model (results/<model>/: history, checkpoints)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="architecture from cvbook.models (e.g. tiniest, resnet18)")
    p.add_argument("--epochs", type=int, default=50,
                   help="train until this epoch; with --resume, epochs already done count (default 50)")
    p.add_argument("--total_epochs", type=int, help="epochs the LR schedule spans, when training in parts")
    p.add_argument("--batch_size", type=int, default=128, help="per process (default 128)")
    p.add_argument("--lr", type=float, default=0.1, help="peak learning rate (default 0.1)")
    p.add_argument("--min_lr", type=float, default=0.0, help="LR at the end of cosine/onecycle")
    p.add_argument("--weight_decay", type=float, default=1e-3, help="on weights, not biases/norms")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    p.add_argument("--momentum", type=float, default=0.9, help="for sgd and rmsprop")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="cosine")
    p.add_argument("--warmup_epochs", type=float, default=0.0)
    p.add_argument("--warmup_start_lr", type=float, default=1e-6)
    p.add_argument("--label_smoothing", type=float, default=0.0)
    p.add_argument("--mixup_cutmix_alpha", type=float, default=0.0, help="0 = off; 0.2-1.0 = on")
    p.add_argument("--ema", type=float, nargs="?", const=0.999, default=0.0, metavar="DECAY",
                   help="keep an EMA of the weights (decay 0.999 if no value given) and score it")
    p.add_argument("--grad_clip", type=float, default=0.0, help="max gradient norm (0 = off)")
    p.add_argument("--crop_padding", type=int, default=2, help="random crop +-pixels (0 = off)")
    p.add_argument("--no_flip", dest="flip", action="store_false", help="no horizontal flips")
    p.add_argument("--random_erasing", type=float, default=0.0, metavar="P",
                   help="erase a square of each image with probability P (0 = off)")
    p.add_argument("--erasing_size", type=int, default=8, help="side of the erased square (pixels)")
    p.add_argument("--precision", choices=("auto", "float32", "bf16"), default="auto",
                   help="auto (default): bfloat16 autocast where the hardware runs it natively "
                        "(AVX-512, ARM bf16, recent GPUs), float32 elsewhere")
    p.add_argument("--bf16", action="store_true", help="the same as --precision bf16")
    p.add_argument("--channels_last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", choices=DATASETS, help="default fashion-mnist")
    p.add_argument("--data_dir", help="dataset location, or an image folder with train/ (val/, test/)")
    p.add_argument("--img_size", type=int, help="resize image-folder images to this size")
    p.add_argument("--val_fraction", type=float, default=0.1,
                   help="share of train held out for validation when the dataset has no val split")
    p.add_argument("--limit_train", type=int, help="train on the first N images only (quick runs)")
    p.add_argument("--limit_val", type=int, help="validate on N images (default limit_train // 4 "
                                                 "when --limit_train is given)")
    p.add_argument("--track_test", action="store_true",
                   help="also score the test set after every epoch (history.json test_acc, for "
                        "time-to-accuracy curves; never used to pick the best model)")
    p.add_argument("--output_dir", default="results")
    p.add_argument("--run_name", help="folder under output_dir (default: the model name)")
    p.add_argument("--resume", metavar="PATH",
                   help="continue the run saved in this checkpoint (e.g. results/M/last.pth); "
                        "its settings are used, except --epochs")
    p.add_argument("--save_every", type=int, default=1, help="checkpoint_epoch_N.pth every N epochs")
    p.add_argument("--no_progress", dest="progress", action="store_false")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from cvbook.train import distributed
    from cvbook.train.checkpoint import load_checkpoint
    from cvbook.train.data import load_splits
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
