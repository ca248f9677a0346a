"""Where datasets live.

A dataset NAME is looked for, in order, in: an explicit directory, `$CVBOOK_DATA/NAME`,
the user cache `~/.cache/cvbook/NAME`, then the Debian location
`/usr/share/datasets/NAME`. Only when none holds it does anything download.
"""

from __future__ import annotations

import os
from pathlib import Path

DEBIAN_ROOT = Path("/usr/share/datasets")
# the image files cvbook reads from a folder (an image folder, a curated Tiny ImageNet)
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png", ".bmp"}

# Files whose presence means "this directory holds the dataset".
MARKER_FILES = {
    "fashion-mnist": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "cifar10": ("cifar-10-batches-py/data_batch_1", "cifar-10-batches-py/test_batch"),
    "tiny-imagenet": ("tiny-imagenet-200/wnids.txt",),
}

HOW_TO_GET = {
    "fashion-mnist": "install the Debian package (sudo apt-get install dataset-fashion-mnist), "
                     "or run `cvbook data fetch fashion-mnist` on a machine with internet",
    "cifar10": "run `cvbook data fetch cifar10` on a machine with internet "
               "(or unpack cifar-10-python.tar.gz into $CVBOOK_DATA/cifar10/ or ~/.cache/cvbook/cifar10/)",
    "tiny-imagenet": "run `cvbook data fetch tiny-imagenet` on a machine with internet "
                     "(or unzip tiny-imagenet-200.zip into $CVBOOK_DATA/tiny-imagenet/ "
                     "or ~/.cache/cvbook/tiny-imagenet/)",
}


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cvbook"


def candidate_dirs(name: str, explicit: str | os.PathLike | None = None) -> list[Path]:
    """The directories searched for dataset `name`, in order."""
    dirs = []
    if explicit is not None:
        dirs.append(Path(explicit))
    if os.environ.get("CVBOOK_DATA"):
        dirs.append(Path(os.environ["CVBOOK_DATA"]) / name)
    dirs.append(cache_root() / name)
    dirs.append(DEBIAN_ROOT / name)
    return dirs


def _check_name(name: str) -> None:
    if name not in MARKER_FILES:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(MARKER_FILES)}")


def find_dataset_dir(name: str, explicit: str | os.PathLike | None = None,
                     required: bool = True) -> Path | None:
    """The first candidate directory holding all of `name`'s marker files.

    With required=True a missing dataset raises FileNotFoundError with a one-line
    message that lists where it looked and how to get the data.
    """
    _check_name(name)
    dirs = candidate_dirs(name, explicit)
    for d in dirs:
        if all((d / f).is_file() for f in MARKER_FILES[name]):
            return d
    if explicit is not None and required:
        missing = [f for f in MARKER_FILES[name] if not (Path(explicit) / f).is_file()]
        raise FileNotFoundError(f"{name}: {explicit} does not hold {', '.join(missing)}")
    if not required:
        return None
    looked = ", ".join(str(d) for d in dirs)
    raise FileNotFoundError(f"{name} not found (looked in {looked}). To get it: {HOW_TO_GET[name]}.")
