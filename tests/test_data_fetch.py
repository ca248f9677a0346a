"""Downloads, served by a local http.server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile

import numpy as np
import pytest

from cvbook.data import fashion_mnist, fetch as fetch_mod, locate
from cvbook.data.fetch import FetchError, Resource, extract_archive, fetch, find_or_fetch
from cvbook.data.idx import write_idx


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(folder served, base URL) of a local HTTP server."""
    served = tmp_path / "served"
    served.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def refused_url():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _serve_fashion(served, base, mirrors=()):
    rng = np.random.default_rng(0)
    resources = []
    for split, n in (("train", 20), ("test", 10)):
        image_file, label_file = fashion_mnist.SPLITS[split]
        write_idx(served / image_file, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(served / label_file, (np.arange(n) % 10).astype(np.uint8))
        for f in (image_file, label_file):
            resources.append(Resource(f, _md5(served / f), (*mirrors, base + f)))
    return {"fashion-mnist": tuple(resources)}


def test_good_download_with_progress_bar(server, tmp_path, capsys):
    served, base = server
    sources = _serve_fashion(served, base)
    dest = tmp_path / "dest"
    assert fetch("fashion-mnist", dest, sources=sources) == dest
    images, labels = fashion_mnist.load_fashion_mnist("train", root=dest)
    assert images.shape == (20, 28, 28) and labels.tolist()[:3] == [0, 1, 2]
    assert not list(dest.glob("*.part"))
    err = capsys.readouterr().err
    assert "train-images-idx3-ubyte.gz" in err and "100%" in err


def test_module_table_is_injectable_and_fetch_goes_to_the_cache(server, tmp_path, monkeypatch):
    served, base = server
    monkeypatch.setattr(fetch_mod, "SOURCES", _serve_fashion(served, base))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = fetch("fashion-mnist", progress=False)
    assert folder == tmp_path / "cache" / "cvbook" / "fashion-mnist"
    assert fetch_mod.is_complete("fashion-mnist", folder)
    (served / fashion_mnist.SPLITS["test"][0]).unlink()  # a second fetch downloads nothing
    assert fetch("fashion-mnist", progress=False) == folder


def test_checksum_mismatch_removes_the_file(server, tmp_path):
    served, base = server
    sources = _serve_fashion(served, base)
    bad = sources["fashion-mnist"][1]._replace(md5="0" * 32)
    sources["fashion-mnist"] = (sources["fashion-mnist"][0], bad)
    dest = tmp_path / "dest"
    with pytest.raises(FetchError, match=f"{bad.filename}.*checksum mismatch.*expected {'0' * 32}"):
        fetch("fashion-mnist", dest, sources=sources, progress=False)
    assert not (dest / bad.filename).exists() and not list(dest.glob("*.part"))
    assert (dest / sources["fashion-mnist"][0].filename).is_file()  # the good one is kept


def test_connection_refused_says_how_to_get_the_data(refused_url, tmp_path):
    sources = {"cifar10": (Resource("cifar-10-python.tar.gz", "0" * 32,
                                    (refused_url + "cifar-10-python.tar.gz",)),)}
    with pytest.raises(FetchError) as err:
        fetch("cifar10", tmp_path / "dest", sources=sources, progress=False)
    message = str(err.value)
    assert "could not download cifar10" in message and refused_url in message
    assert "refused" in message.lower() and locate.HOW_TO_GET["cifar10"] in message
    assert not (tmp_path / "dest").exists()


def test_http_404_and_next_mirror(server, refused_url, tmp_path):
    served, base = server
    sources = _serve_fashion(served, base, mirrors=(refused_url + "x.gz", base + "missing.gz"))
    fetch("fashion-mnist", tmp_path / "dest", sources=sources, progress=False)
    assert fetch_mod.is_complete("fashion-mnist", tmp_path / "dest")
    only_404 = {"fashion-mnist": (sources["fashion-mnist"][0]._replace(urls=(base + "missing.gz",)),)}
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch("fashion-mnist", tmp_path / "other", sources=only_404, progress=False)


def test_no_network_gives_file_not_found_with_how_to(refused_url, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CVBOOK_DATA", raising=False)
    monkeypatch.setattr(locate, "DEBIAN_ROOT", tmp_path / "debian")
    monkeypatch.setitem(fetch_mod.SOURCES, "tiny-imagenet",
                        (Resource("t.zip", "0" * 32, (refused_url + "t.zip",), extract=True),))
    with pytest.raises(FileNotFoundError, match="tiny-imagenet not found locally.*To get it"):
        find_or_fetch("tiny-imagenet", progress=False)
    with pytest.raises(FileNotFoundError, match="looked in"):
        find_or_fetch("tiny-imagenet", download=False)


def _tar_gz(path, files):
    with tarfile.open(path, "w:gz") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


def test_archives_are_extracted_and_removed(server, tmp_path):
    served, base = server
    _tar_gz(served / "c.tar.gz", {"cifar-10-batches-py/data_batch_1": b"a",
                                  "cifar-10-batches-py/test_batch": b"b"})
    with zipfile.ZipFile(served / "t.zip", "w") as z:
        z.writestr("tiny-imagenet-200/wnids.txt", "n01443537\n")
    sources = {"cifar10": (Resource("c.tar.gz", _md5(served / "c.tar.gz"), (base + "c.tar.gz",), True),),
               "tiny-imagenet": (Resource("t.zip", _md5(served / "t.zip"), (base + "t.zip",), True),)}
    cifar = fetch("cifar10", tmp_path / "cifar", sources=sources, progress=False)
    assert (cifar / "cifar-10-batches-py" / "test_batch").read_bytes() == b"b"
    tiny = fetch("tiny-imagenet", tmp_path / "tiny", sources=sources, progress=False)
    assert (tiny / "tiny-imagenet-200" / "wnids.txt").read_text() == "n01443537\n"
    assert sorted(p.name for p in tiny.iterdir()) == ["tiny-imagenet-200"]  # archive gone


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt"])
def test_path_traversal_is_refused(tmp_path, kind, member):
    dest = tmp_path / "dest"
    dest.mkdir()
    archive = tmp_path / f"a.{kind}"
    if kind == "tar":
        _tar_gz(archive, {"ok.txt": b"fine", member: b"evil"})
    else:
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("ok.txt", "fine")
            z.writestr(member, "evil")
    with pytest.raises(ValueError, match="unsafe path"):
        extract_archive(archive, dest)
    assert not list(tmp_path.rglob("evil.txt")) and not list(dest.iterdir())


def test_tar_symlink_out_of_the_folder_is_refused(tmp_path):
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as t:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
    (tmp_path / "dest").mkdir()
    with pytest.raises(ValueError, match="unsafe archive member"):
        extract_archive(archive, tmp_path / "dest")


def test_damaged_archive(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"not an archive at all")
    (tmp_path / "dest").mkdir()
    with pytest.raises(ValueError, match="not a zip or tar archive"):
        extract_archive(archive, tmp_path / "dest")
    _tar_gz(tmp_path / "b.tar.gz", {"x": b"y" * 10000})
    (tmp_path / "c.tar.gz").write_bytes((tmp_path / "b.tar.gz").read_bytes()[:60])
    with pytest.raises(ValueError, match="c.tar.gz"):
        extract_archive(tmp_path / "c.tar.gz", tmp_path / "dest")


def test_published_checksums_are_well_formed():
    for name, resources in fetch_mod.SOURCES.items():
        assert name in locate.MARKER_FILES
        for r in resources:
            assert len(r.md5) == 32 and int(r.md5, 16) >= 0 and r.urls
            assert all(u.startswith(("http://", "https://")) and u.endswith(r.filename) for u in r.urls)
