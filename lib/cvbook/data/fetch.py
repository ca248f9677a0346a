"""Download a dataset into the user cache, with a progress bar and a checksum.

Every file is streamed to `NAME.part`, its MD5 checked, and only then renamed, so
an interrupted or corrupted download never leaves a file that looks complete.
Archives are unpacked into a hidden folder beside the destination (refusing
members that would land outside it) and moved into place at the end.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from tqdm.auto import tqdm

from cvbook.data import locate


class Resource(NamedTuple):
    filename: str
    md5: str
    urls: tuple[str, ...]  # mirrors, tried in order
    extract: bool = False  # an archive to unpack into the destination


class FetchError(RuntimeError):
    """A download failed (network, HTTP error or checksum); the message says what to do."""


_FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
_FASHION_MD5 = {  # as published by Zalando (the Debian package recompresses, so its MD5s differ)
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

# name -> what to download. Tests point this table (or fetch's `sources`) at localhost.
SOURCES: dict[str, tuple[Resource, ...]] = {
    "fashion-mnist": tuple(Resource(f, md5, tuple(m + f for m in _FASHION_MIRRORS))
                           for f, md5 in _FASHION_MD5.items()),
    "cifar10": (Resource("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
                         ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",), extract=True),),
    "tiny-imagenet": (Resource("tiny-imagenet-200.zip", "90528d7ca1a48142e341f4ef8d21d0de",
                               ("http://cs231n.stanford.edu/tiny-imagenet-200.zip",), extract=True),),
}

CHUNK = 1 << 20


def is_complete(name: str, folder: str | os.PathLike) -> bool:
    """Whether `folder` holds all the files that mark dataset `name` as present."""
    return all((Path(folder) / f).is_file() for f in locate.MARKER_FILES[name])


def md5sum(path: str | os.PathLike) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stream(url: str, part: Path, desc: str, progress: bool, timeout: float) -> str:
    """Stream `url` into `part` with a progress bar; returns the MD5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
        total = response.headers.get("Content-Length")
        with tqdm(total=int(total) if total else None, unit="B", unit_scale=True,
                  unit_divisor=1024, desc=desc, file=sys.stderr, disable=not progress) as bar:
            while block := response.read(CHUNK):
                out.write(block)
                digest.update(block)
                bar.update(len(block))
        if total and out.tell() != int(total):
            raise http.client.IncompleteRead(b"", int(total) - out.tell())
    return digest.hexdigest()


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return f"{type(err).__name__}: {err}"


def download(resource: Resource, folder: str | os.PathLike, name: str = "dataset",
             progress: bool = True, timeout: float = 60) -> Path:
    """Download one resource into `folder` (trying each mirror), verify its MD5, return its path.

    A file already there with the right MD5 is kept, so an interrupted fetch resumes
    file by file.
    """
    target = Path(folder) / resource.filename
    if target.is_file() and md5sum(target) == resource.md5:
        return target
    part = target.with_name(target.name + ".part")
    failures, network_only = [], True
    for url in resource.urls:
        try:
            digest = _stream(url, part, resource.filename, progress, timeout)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            failures.append(f"{url}: {_reason(err)}")
            part.unlink(missing_ok=True)
            continue
        except BaseException:  # Ctrl-C: leave nothing behind
            part.unlink(missing_ok=True)
            raise
        if digest != resource.md5:
            part.unlink()
            network_only = False
            failures.append(f"{url}: checksum mismatch (MD5 {digest}, expected {resource.md5}; "
                            f"the partial file was removed)")
            continue
        os.replace(part, target)
        return target
    hint = (f" To get it without internet: {locate.HOW_TO_GET[name]}."
            if network_only and name in locate.HOW_TO_GET else "")
    raise FetchError(f"could not download {name} file {resource.filename}: "
                     f"{'; '.join(failures)}.{hint}")


def _check_member(archive: Path, member: str) -> None:
    path = PurePosixPath(member.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ValueError(f"{archive}: refusing unsafe path {member!r} in the archive "
                         f"(it would be written outside the destination)")


def extract_archive(archive: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Unpack a zip or tar archive into `folder`, safely and atomically per top-level entry."""
    archive, folder = Path(archive), Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                for member in z.namelist():
                    _check_member(archive, member)
                z.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as t:
                for member in t.getmembers():
                    _check_member(archive, member.name)
                try:
                    t.extractall(tmp, filter="data")  # also refuses links pointing outside
                except tarfile.FilterError as err:
                    raise ValueError(f"{archive}: refusing unsafe archive member ({err})") from err
        else:
            raise ValueError(f"{archive}: not a zip or tar archive")
        for entry in tmp.iterdir():
            target = folder / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # an earlier, incomplete extraction
            elif target.exists():
                target.unlink()
            os.replace(entry, target)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise ValueError(f"{archive}: damaged archive ({err}); delete it and fetch again") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch(name: str, dest: str | os.PathLike | None = None,
          sources: dict[str, tuple[Resource, ...]] | None = None,
          progress: bool = True, timeout: float = 60) -> Path:
    """Download dataset `name` into `dest` (default: the user cache), return that folder.

    Does nothing when `dest` already holds the dataset. Archives are unpacked and
    then deleted. Raises FetchError (network, checksum) or ValueError (bad archive).
    """
    locate._check_name(name)
    folder = Path(dest) if dest is not None else locate.cache_root() / name
    if is_complete(name, folder):
        return folder
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        for resource in (sources if sources is not None else SOURCES)[name]:
            path = download(resource, folder, name, progress, timeout)
            if resource.extract:
                extract_archive(path, folder)
                path.unlink()
    except BaseException:
        if created and not any(folder.iterdir()):
            folder.rmdir()  # leave no empty folder behind a failed first download
        raise
    if not is_complete(name, folder):
        missing = [f for f in locate.MARKER_FILES[name] if not (folder / f).is_file()]
        raise ValueError(f"{name}: downloaded, but {folder} lacks {', '.join(missing)}")
    return folder


def find_or_fetch(name: str, root: str | os.PathLike | None = None, download: bool = True,
                  progress: bool = True) -> Path:
    """The dataset folder: located as usual, else downloaded into the cache.

    Without network the FileNotFoundError says where it looked, why the download
    failed, and how to get the data.
    """
    found = locate.find_dataset_dir(name, root, required=root is not None or not download)
    if found is not None:
        return found
    try:
        return fetch(name, progress=progress)
    except FetchError as err:
        raise FileNotFoundError(f"{name} not found locally, and {err}") from err
