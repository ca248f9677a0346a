"""`cvbook models list` and `cvbook models summary NAME [--img-size 32 --in-chans 3 --num-classes 10]`."""

from __future__ import annotations

import argparse

from cvbook.cli import add_option

from .registry import DESCRIPTIONS, create_model, list_models
from .summary import summary


def _list(args: argparse.Namespace) -> int:
    for name in list_models():
        print(f"{name:<16} {DESCRIPTIONS[name]}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    model = create_model(args.name, num_classes=args.num_classes, in_chans=args.in_chans,
                         img_size=args.img_size, variant=args.variant)
    print(summary(model, (1, args.in_chans, args.img_size, args.img_size)).table(max_depth=args.depth))
    return 0


def register(sub) -> None:
    parser = sub.add_parser("models", help="list the architectures, show a model's layers")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the names create_model accepts").set_defaults(func=_list)
    p = actions.add_parser("summary", help="layer table: output shapes, parameters, multiply-adds")
    p.add_argument("name", help=f"one of: {', '.join(list_models())}")
    add_option(p, "--img-size", type=int, default=32, help="input height and width (default 32)")
    add_option(p, "--in-chans", type=int, default=3, help="input channels (default 3; 1 for Fashion-MNIST)")
    add_option(p, "--num-classes", type=int, default=10, help="number of classes (default 10)")
    p.add_argument("--variant", default="small", choices=["small", "imagenet"],
                   help="small: adapted to 28-64 px after the Tiny ImageNet study (default; "
                        "EfficientNet-B0 is unchanged); imagenet: the original network")
    p.add_argument("--depth", type=int, default=None, help="show layers down to this depth only")
    p.set_defaults(func=_summary)
