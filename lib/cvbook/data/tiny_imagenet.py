"""Tiny ImageNet-200 (Stanford CS231n): 64x64 colour images of 200 ImageNet classes.

The raw download, folder `tiny-imagenet-200/`, holds
    wnids.txt                           the 200 class ids (WordNet ids such as n01443537)
    words.txt                           wnid <TAB> human-readable names, for all of ImageNet
    train/<wnid>/images/*.JPEG          500 training images per class
    train/<wnid>/<wnid>_boxes.txt       file <TAB> x0 <TAB> y0 <TAB> x1 <TAB> y1
    val/images/*.JPEG                   10,000 labelled images (50 per class)
    val/val_annotations.txt             file <TAB> wnid <TAB> x0 <TAB> y0 <TAB> x1 <TAB> y1
    test/images/                        unlabelled, not used

`curate_tiny_imagenet` turns it into an ImageFolder tree, with the split of a
six-architecture study on Tiny ImageNet-200: the official validation images become the
TEST split, and the 500 training images of each class are split, class-balanced and with
a fixed seed, into 400 train and 100 validation.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import NamedTuple

from cvbook.data.locate import IMAGE_SUFFIXES, cache_root, find_dataset_dir

RAW_FOLDER = "tiny-imagenet-200"
CURATED_FOLDER = "curated"  # default place of the curated tree, beside RAW_FOLDER
SPLITS = ("train", "val", "test")
MANIFEST = "curation.json"
CLASS_NAMES = "class_names.json"


class ValAnnotation(NamedTuple):
    filename: str
    wnid: str
    box: tuple[int, int, int, int]
    line: int  # line number in val_annotations.txt, for error messages


def raw_dir(root: str | os.PathLike | None = None) -> Path:
    """The tiny-imagenet-200 folder; `root` may name it or the folder holding it."""
    if root is not None and (Path(root) / "wnids.txt").is_file():
        return Path(root)
    return find_dataset_dir("tiny-imagenet", root) / RAW_FOLDER


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the non-blank lines of a text file."""
    text = path.read_text(encoding="utf-8")
    return [(n, line.rstrip("\r\n")) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_wnids(raw: str | os.PathLike) -> list[str]:
    """The class ids of wnids.txt, in file order."""
    path = Path(raw) / "wnids.txt"
    wnids = [line.strip() for _, line in _lines(path)]
    if not wnids:
        raise ValueError(f"{path}: no class ids")
    seen = set()
    for wnid in wnids:
        if wnid in seen:
            raise ValueError(f"{path}: class id {wnid!r} listed twice")
        seen.add(wnid)
    return wnids


def read_words(raw: str | os.PathLike, wnids: list[str] | None = None) -> dict[str, str]:
    """wnid -> names from words.txt; with `wnids`, only those (each must be present)."""
    path = Path(raw) / "words.txt"
    words = {}
    for n, line in _lines(path):
        wnid, sep, names = line.partition("\t")
        if not sep:
            raise ValueError(f"{path} line {n}: expected 'wnid<TAB>names', got {line!r}")
        words[wnid.strip()] = names.strip()
    if wnids is None:
        return words
    missing = [w for w in wnids if w not in words]
    if missing:
        raise ValueError(f"{path}: no name for class id(s) {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''} listed in wnids.txt")
    return {w: words[w] for w in wnids}


def _parse_box(path: Path, n: int, fields: list[str]) -> tuple[int, int, int, int]:
    try:
        return tuple(int(v) for v in fields)  # type: ignore[return-value]
    except ValueError:
        raise ValueError(f"{path} line {n}: box {fields} is not four integers") from None


def read_val_annotations(raw: str | os.PathLike) -> list[ValAnnotation]:
    """The rows of val/val_annotations.txt: file, wnid, bounding box."""
    path = Path(raw) / "val" / "val_annotations.txt"
    rows = []
    for n, line in _lines(path):
        fields = line.split("\t")
        if len(fields) != 6:
            raise ValueError(f"{path} line {n}: expected 6 tab-separated fields "
                             f"(file, wnid, x0, y0, x1, y1), got {len(fields)}")
        rows.append(ValAnnotation(fields[0], fields[1], _parse_box(path, n, fields[2:]), n))
    return rows


def read_train_boxes(raw: str | os.PathLike, wnid: str) -> dict[str, tuple[int, int, int, int]]:
    """file name -> bounding box, from train/<wnid>/<wnid>_boxes.txt."""
    path = Path(raw) / "train" / wnid / f"{wnid}_boxes.txt"
    boxes = {}
    for n, line in _lines(path):
        fields = line.split("\t")
        if len(fields) != 5:
            raise ValueError(f"{path} line {n}: expected 5 tab-separated fields, got {len(fields)}")
        boxes[fields[0]] = _parse_box(path, n, fields[1:])
    return boxes


def _images_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: folder of images not found")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def train_images(raw: str | os.PathLike, wnid: str) -> list[Path]:
    """The training images of one class, sorted by name."""
    return _images_in(Path(raw) / "train" / wnid / "images")


def split_class(files: list[Path], wnid: str, seed: int, train_per_class: int,
                val_per_class: int) -> tuple[list[Path], list[Path]]:
    """A seeded (train, val) split of one class's images.

    The generator is seeded by (seed, wnid), so a class's split depends on nothing
    else: the same seed gives the same split on any machine and in any order.
    """
    need = train_per_class + val_per_class
    if len(files) < need:
        raise ValueError(f"class {wnid} has {len(files)} training images; the split needs "
                         f"{need} ({train_per_class} train + {val_per_class} val)")
    shuffled = sorted(files)
    random.Random(f"{seed}/{wnid}").shuffle(shuffled)
    return sorted(shuffled[val_per_class:need]), sorted(shuffled[:val_per_class])


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link costs no disk space and leaves the raw tree intact; copy where not allowed."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _test_split(raw: Path, wnids: list[str]) -> dict[str, list[Path]]:
    """The official validation images by class (these become the test split)."""
    path = raw / "val" / "val_annotations.txt"
    images = raw / "val" / "images"
    known = set(wnids)
    by_class: dict[str, list[Path]] = {w: [] for w in wnids}
    for row in read_val_annotations(raw):
        if row.wnid not in known:
            raise ValueError(f"{path} line {row.line}: class id {row.wnid!r} is not in wnids.txt")
        image = images / row.filename
        if not image.is_file():
            raise ValueError(f"{path} line {row.line}: image {row.filename} does not exist in {images}")
        by_class[row.wnid].append(image)
    return by_class


def _settings(seed: int, train_per_class: int, val_per_class: int) -> dict:
    return {"seed": seed, "train_per_class": train_per_class, "val_per_class": val_per_class}


def curate_tiny_imagenet(raw_dir: str | os.PathLike, out_dir: str | os.PathLike, seed: int = 42,
                         train_per_class: int = 400, val_per_class: int = 100) -> Path:
    """Build out_dir/{train,val,test}/<wnid>/ from the raw download; returns out_dir.

    Everything is checked before anything is written, the tree is built in a hidden
    folder beside out_dir and renamed into place at the end, so an interrupted run
    leaves no half-written output. Running again with the same settings is a no-op;
    an out_dir made with other settings (or holding anything else) is refused.
    """
    if train_per_class < 1 or val_per_class < 0:
        raise ValueError(f"need train_per_class >= 1 and val_per_class >= 0, "
                         f"got {train_per_class} and {val_per_class}")
    raw, out = Path(raw_dir), Path(out_dir)
    if not (raw / "wnids.txt").is_file() and (raw / RAW_FOLDER / "wnids.txt").is_file():
        raw = raw / RAW_FOLDER
    if not (raw / "wnids.txt").is_file():
        raise FileNotFoundError(f"{raw}: not a Tiny ImageNet folder (no wnids.txt)")
    settings = _settings(seed, train_per_class, val_per_class)
    if out.exists() and _already_curated(out, settings):
        return out

    wnids = read_wnids(raw)
    names = read_words(raw, wnids)
    splits = {"train": {}, "val": {}, "test": _test_split(raw, wnids)}
    for wnid in wnids:
        splits["train"][wnid], splits["val"][wnid] = split_class(
            train_images(raw, wnid), wnid, seed, train_per_class, val_per_class)

    partial = out.parent / f".{out.name}.partial"
    if partial.exists():  # left by an interrupted run
        shutil.rmtree(partial)
    for split, by_class in splits.items():
        for wnid, files in by_class.items():
            folder = partial / split / wnid
            folder.mkdir(parents=True)
            for f in files:
                _link_or_copy(f, folder / f.name)
    # ImageFolder numbers classes in sorted folder order: keep the names in that order
    (partial / CLASS_NAMES).write_text(json.dumps({w: names[w] for w in sorted(wnids)}, indent=1))
    counts = {s: sum(len(v) for v in by_class.values()) for s, by_class in splits.items()}
    manifest = {**settings, "source": str(raw.resolve()), "classes": len(wnids), "images": counts,
                "val": {w: [f.name for f in splits["val"][w]] for w in sorted(wnids)}}
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if out.exists():
        out.rmdir()  # _already_curated let only an empty folder through
    os.replace(partial, out)
    return out


def _already_curated(out: Path, settings: dict) -> bool:
    """True when out holds a finished curation with these settings; raises if it holds else."""
    manifest = out / MANIFEST
    if manifest.is_file():
        try:
            done = json.loads(manifest.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{manifest}: damaged ({err}); remove {out} and curate again") from None
        if {k: done.get(k) for k in settings} == settings:
            return True
        raise ValueError(f"{out} was curated with other settings ({_describe(done)}); "
                         f"remove it or choose another output folder")
    if out.is_dir() and not any(out.iterdir()):
        return False
    raise ValueError(f"{out} exists and is not a curated Tiny ImageNet folder; "
                     f"choose an empty or new output folder")


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={settings.get(k)}" for k in ("seed", "train_per_class", "val_per_class"))


def _curated_candidates(raw: Path) -> list[Path]:
    return [raw.parent / CURATED_FOLDER, cache_root() / "tiny-imagenet" / CURATED_FOLDER]


def default_curated_dir(raw: str | os.PathLike) -> Path:
    """Where curation writes by default: `curated/` beside the raw folder, or in the
    user cache when that is read-only (as under /usr/share/datasets)."""
    beside, in_cache = _curated_candidates(Path(raw))
    return beside if _writable(beside.parent) else in_cache


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def curated_dir(root: str | os.PathLike | None = None, raw: str | os.PathLike | None = None) -> Path:
    """The curated tree: `root` if given, else the default place for the raw folder
    `raw` (default: the located raw download)."""
    candidates = [Path(root)] if root is not None else _curated_candidates(raw_dir(raw))
    for out in candidates:
        if (out / MANIFEST).is_file():
            return out
    raise FileNotFoundError(f"no curated Tiny ImageNet in {' or '.join(map(str, candidates))} "
                            f"(no {MANIFEST}); run `cvbook data curate-tiny-imagenet` first")


def read_class_names(curated: str | os.PathLike) -> dict[str, str]:
    """wnid -> human-readable name, in the order of ImageFolder's class indices."""
    return json.loads((Path(curated) / CLASS_NAMES).read_text())


def curated_counts(curated: str | os.PathLike) -> dict[str, int]:
    """Number of images per split of a curated tree (counted on disk)."""
    curated = Path(curated)
    return {s: sum(1 for p in (curated / s).glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES)
            for s in SPLITS}
