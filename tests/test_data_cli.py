"""`cvbook data ...`: called through cvbook.cli.main, plus once as the installed command."""

from __future__ import annotations

import re
import subprocess

import pytest

from cvbook import cli
from cvbook.data import fetch as fetch_mod, locate
from cvbook.data.fetch import Resource
from test_data_fetch import _serve_fashion, refused_url, server  # noqa: F401 (fixtures)
from test_data_readers import _fake_cifar, _fake_fashion
from test_data_tiny_imagenet import WNIDS, make_raw


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No dataset anywhere: empty $CVBOOK_DATA, $HOME and Debian folder."""
    for var, sub in (("CVBOOK_DATA", "data"), ("HOME", "home")):
        (tmp_path / sub).mkdir()
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(locate, "DEBIAN_ROOT", tmp_path / "debian")
    return tmp_path


def test_info_real_fashion_mnist(fashion_mnist_available, capsys):
    assert cli.main(["data", "info", "fashion-mnist"]) == 0
    out = capsys.readouterr().out
    assert str(locate.find_dataset_dir("fashion-mnist")) in out
    assert "60,000 images" in out and "10,000 images" in out and "28x28 uint8" in out
    assert "classes (10): 0 T-shirt/top" in out and "9 Ankle boot" in out


def test_installed_command(repo, fashion_mnist_available):
    result = subprocess.run([str(repo / ".venv" / "bin" / "cvbook"), "data", "info", "fashion-mnist"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"train\s+60,000 images", result.stdout) and "Sneaker" in result.stdout


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10", "tiny-imagenet"])
def test_missing_dataset_says_how_to_get_it(nowhere, capsys, name):
    assert cli.main(["data", "info", name]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{name} not found" in err and locate.HOW_TO_GET[name] in err
    assert str(nowhere / "data" / name) in err and str(nowhere / "home") in err
    assert cli.main(["data", "where", name]) == 2


def test_where_follows_cvbook_data(nowhere, capsys):
    folder = nowhere / "data" / "fashion-mnist"
    folder.mkdir()
    _fake_fashion(folder)
    assert cli.main(["data", "where", "fashion-mnist"]) == 0
    assert capsys.readouterr().out.strip() == str(folder)
    assert cli.main(["data", "info", "fashion-mnist"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"train\s+12 images\s+28x28", out) and re.search(r"test\s+5 images", out)


def test_info_cifar10(tmp_path, capsys):
    _fake_cifar(tmp_path)
    assert cli.main(["data", "info", "cifar10", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"train\s+20 images\s+3x32x32 uint8", out) and re.search(r"test\s+4 images", out)
    assert "0 airplane" in out and "9 truck" in out


def test_curate_and_info_tiny_imagenet(nowhere, capsys):
    raw = make_raw(nowhere / "data" / "tiny-imagenet")
    assert cli.main(["data", "info", "tiny-imagenet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"raw train\s+30 images", out) and re.search(r"raw val\s+6 images", out)
    assert "not curated yet" in out and "0 n01443537 goldfish" in out
    args = ["data", "curate-tiny-imagenet", "--train-per-class", "8", "--val-per-class", "2"]
    assert cli.main(args + ["--seed", "3"]) == 0  # RAW and OUT default to the located folder
    assert "train 24, val 6, test 6" in capsys.readouterr().out
    assert cli.main(["data", "info", "tiny-imagenet"]) == 0
    out = capsys.readouterr().out
    assert f"curated: {raw.parent / 'curated'}" in out and re.search(r"\btrain\s+24 images", out)
    out_dir = nowhere / "elsewhere"
    assert cli.main(args + [str(raw), str(out_dir)]) == 0
    assert sorted(p.name for p in (out_dir / "test").iterdir()) == sorted(WNIDS)
    assert cli.main(args + ["--seed", "4"]) == 2  # the default OUT holds seed 3
    assert "other settings (seed=3" in capsys.readouterr().err


def test_curate_error_is_one_line(tmp_path, capsys):
    raw = make_raw(tmp_path)
    assert cli.main(["data", "curate-tiny-imagenet", str(raw), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has 10 training images; the split needs 500" in err


def test_fetch_command(server, nowhere, monkeypatch, capsys):  # noqa: F811
    served, base = server
    monkeypatch.setattr(fetch_mod, "SOURCES", _serve_fashion(served, base))
    assert cli.main(["data", "fetch", "fashion-mnist"]) == 0
    cached = nowhere / "home" / ".cache" / "cvbook" / "fashion-mnist"
    captured = capsys.readouterr()
    assert f"ready in {cached}" in captured.out and "100%" in captured.err
    assert cli.main(["data", "fetch", "fashion-mnist"]) == 0
    assert f"already here: {cached}" in capsys.readouterr().out
    dest = nowhere / "chosen"
    assert cli.main(["data", "fetch", "fashion-mnist", "--dest", str(dest), "--quiet"]) == 0
    assert fetch_mod.is_complete("fashion-mnist", dest) and "%" not in capsys.readouterr().err


def test_fetch_without_network_is_one_clear_line(nowhere, refused_url, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setitem(fetch_mod.SOURCES, "tiny-imagenet",
                        (Resource("tiny-imagenet-200.zip", "0" * 32, (refused_url + "t.zip",), True),))
    assert cli.main(["data", "fetch", "tiny-imagenet", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("cvbook data: error: could not download tiny-imagenet")
    assert locate.HOW_TO_GET["tiny-imagenet"] in err


def test_the_cvbook_command_loads_only_the_module_it_runs():
    from cvbook.cli import SUBCOMMANDS, build_parser

    def commands(parser):
        return set(next(a for a in parser._actions if a.dest == "command").choices)

    assert commands(build_parser("data")) == {"data"}
    assert commands(build_parser("plot")) == {"test", "infer", "plot", "compare"}  # one module, four commands
    assert commands(build_parser()) == set(SUBCOMMANDS) == commands(build_parser("no-such-command"))


def test_commands_that_only_look_at_files_do_not_load_torch():
    """`cvbook data where/info/curate-tiny-imagenet` import cvbook.data's file modules; those,
    and the package itself, leave torch unloaded (it takes seconds), while the package's
    names still resolve on first use."""
    import sys

    code = ("import sys; import cvbook.data, cvbook.data.cli, cvbook.data.tiny_imagenet; "
            "assert 'torch' not in sys.modules, 'torch was imported'; "
            "from cvbook.data import ImageSet, normalize; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
