"""`cvbook data info|where|fetch|curate-tiny-imagenet`: locate, inspect, download, curate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cvbook.cli import add_option
from cvbook.data import locate

NAMES = sorted(locate.MARKER_FILES)
MAX_NAMES_SHOWN = 20


def register(sub) -> None:
    p = sub.add_parser("data", help="locate, inspect, fetch and curate datasets",
                       description="Locate, inspect, download and curate the course's datasets.")
    cmds = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    info = cmds.add_parser("info", help="where a dataset is, its splits, shapes and classes")
    info.add_argument("name", choices=NAMES)
    info.add_argument("--root", help="look in this folder (instead of the usual places)")
    info.set_defaults(func=cmd_info)

    where = cmds.add_parser("where", help="print the folder that holds a dataset")
    where.add_argument("name", choices=NAMES)
    where.add_argument("--root", help="look in this folder (instead of the usual places)")
    where.set_defaults(func=cmd_where)

    fetch = cmds.add_parser("fetch", help="download a dataset (checksum-verified)")
    fetch.add_argument("name", choices=NAMES)
    add_option(fetch, "--out-dir", "--dest", dest="dest",
               help=f"download into this folder (default: {locate.cache_root()}/NAME)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=cmd_fetch)

    curate = cmds.add_parser("curate-tiny-imagenet",
                             help="raw Tiny ImageNet -> ImageFolder train/val/test tree")
    curate.add_argument("raw", nargs="?", help="the tiny-imagenet-200 folder (default: located)")
    curate.add_argument("out", nargs="?", help="output folder (default: curated/ beside RAW)")
    curate.add_argument("--seed", type=int, default=42, help="seed of the train/val split (42)")
    curate.add_argument("--train-per-class", type=int, default=400)
    curate.add_argument("--val-per-class", type=int, default=100)
    curate.set_defaults(func=cmd_curate)


def _split_line(label: str, n: int, what: str = "") -> str:
    return f"  {label:<10}{n:>8,} images  {what}".rstrip()


def _class_line(names) -> str:
    names = list(names)
    shown = ", ".join(f"{i} {n}" for i, n in enumerate(names[:MAX_NAMES_SHOWN]))
    more = f", ... ({len(names) - MAX_NAMES_SHOWN} more)" if len(names) > MAX_NAMES_SHOWN else ""
    return f"classes ({len(names)}): {shown}{more}"


def _info_fashion_mnist(folder: Path) -> list[str]:
    from cvbook.data.fashion_mnist import CLASSES, SPLITS
    from cvbook.data.idx import read_idx_header

    lines = []
    for split, (image_file, label_file) in SPLITS.items():
        shape = read_idx_header(folder / image_file)
        n_labels = read_idx_header(folder / label_file)[0]
        if n_labels != shape[0]:
            raise ValueError(f"{folder / image_file} holds {shape[0]} images but "
                             f"{folder / label_file} holds {n_labels} labels")
        lines.append(_split_line(split, shape[0], f"{'x'.join(map(str, shape[1:]))} uint8 (greyscale)"))
    return lines + [_class_line(CLASSES)]


def _info_cifar10(folder: Path) -> list[str]:
    from cvbook.data.cifar10 import FOLDER, SPLITS, cifar10_classes, read_batch

    lines = []
    for split, files in SPLITS.items():
        images = [read_batch(folder / FOLDER / f)[0] for f in files]
        n = sum(len(x) for x in images)
        shape = "x".join(map(str, images[0].shape[1:]))
        lines.append(_split_line(split, n, f"{shape} uint8 (RGB, CHW)"))
    return lines + [_class_line(cifar10_classes(folder))]


def _info_tiny_imagenet(folder: Path) -> list[str]:
    from cvbook.data import tiny_imagenet as ti

    raw = folder / ti.RAW_FOLDER
    wnids = ti.read_wnids(raw)
    names = ti.read_words(raw, wnids)
    n_train = sum(len(ti.train_images(raw, w)) for w in wnids)
    lines = [_split_line("raw train", n_train, f"64x64 RGB JPEG in {raw / 'train'}"),
             _split_line("raw val", len(ti.read_val_annotations(raw)),
                         "64x64 RGB JPEG (the test split once curated)")]
    try:
        curated = ti.curated_dir(raw=raw)
    except FileNotFoundError:
        lines.append("  not curated yet: run `cvbook data curate-tiny-imagenet`")
    else:
        lines.append(f"  curated: {curated}")
        lines += [_split_line(split, n) for split, n in ti.curated_counts(curated).items()]
    ordered = sorted(wnids)  # ImageFolder's class order
    return lines + [_class_line(f"{w} {names[w]}" for w in ordered)]


INFO = {"fashion-mnist": _info_fashion_mnist, "cifar10": _info_cifar10,
        "tiny-imagenet": _info_tiny_imagenet}


def cmd_info(args: argparse.Namespace) -> int:
    folder = locate.find_dataset_dir(args.name, args.root)
    print(f"{args.name}: found in {folder}")
    print("\n".join(INFO[args.name](folder)))
    return 0


def cmd_where(args: argparse.Namespace) -> int:
    print(locate.find_dataset_dir(args.name, args.root))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from cvbook.data.fetch import FetchError, fetch

    if args.dest is None:
        found = locate.find_dataset_dir(args.name, required=False)
        if found is not None:
            print(f"{args.name} is already here: {found}")
            return 0
    try:
        folder = fetch(args.name, args.dest, progress=not args.quiet)
    except FetchError as err:
        print(f"cvbook data: error: {err}", file=sys.stderr)
        return 2
    print(f"{args.name} ready in {folder}")
    return 0


def cmd_curate(args: argparse.Namespace) -> int:
    from cvbook.data import tiny_imagenet as ti

    raw = ti.raw_dir(args.raw)
    out = Path(args.out) if args.out else ti.default_curated_dir(raw)
    out = ti.curate_tiny_imagenet(raw, out, seed=args.seed, train_per_class=args.train_per_class,
                                  val_per_class=args.val_per_class)
    counts = ", ".join(f"{s} {n:,}" for s, n in ti.curated_counts(out).items())
    print(f"curated Tiny ImageNet in {out}: {counts} images (seed {args.seed})")
    return 0
