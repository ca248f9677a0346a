"""Shared fixtures. Jupyter, IPython and matplotlib write into ~: point them at a
temporary folder for the whole session so tests never touch the user's home."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

_home = Path(tempfile.mkdtemp(prefix="cvbook-test-home-"))
for var, sub in {"JUPYTER_CONFIG_DIR": ".jupyter", "JUPYTER_RUNTIME_DIR": ".jupyter/runtime",
                 "IPYTHONDIR": ".ipython", "MPLCONFIGDIR": ".mpl",
                 "TORCHINDUCTOR_CACHE_DIR": ".inductor"}.items():
    os.environ[var] = str(_home / sub)
    (_home / sub).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

# `make test` runs two workers on a 2-core machine. PyTorch's default of one OpenMP thread
# per core gives each worker two threads on two shared cores, and every parallel region
# then waits for a thread that is not running: three steps of the Tiniest took 10 s
# instead of 0.24 s. So each xdist worker gets its share of the cores, and the commands,
# kernels and pages it starts inherit it (pages use PyTorch's default, which follows
# OMP_NUM_THREADS, or one thread where they say why). Only workers decide (the controller does not know the count yet, and its
# environment is what workers start from); an OMP_NUM_THREADS given by the user wins.
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    _share = max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    os.environ.setdefault("OMP_NUM_THREADS", str(_share))
    if "torch" in sys.modules:  # imported before this file (by a plugin): apply the share now
        sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


CHROMIUM = "/usr/bin/chromium"  # Debian's build, never a downloaded browser


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, for the book's pages and for JupyterLab."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (Debian packages chromium, chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@contextlib.contextmanager
def jupyterlab_server(root: Path, home: Path, *options: str, config_path: Path | None = None):
    """JupyterLab serving `root` on a free local port, without a token, with a HOME and Jupyter
    folders of its own under `home` (and `config_path` as JUPYTER_CONFIG_PATH, for an
    edition's settings). Started in `root`, so a course root's nbgrader_config.py applies.
    Yields its URL; stopped on exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
           "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / ".ipython"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if config_path is not None:
        env["JUPYTER_CONFIG_PATH"] = str(config_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=", *options],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail(f"JupyterLab did not start:\n{proc.stdout.read()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def fashion_mnist_available() -> bool:
    from cvbook.data.locate import find_dataset_dir

    if find_dataset_dir("fashion-mnist", required=False) is None:
        pytest.fail("Fashion-MNIST is missing: `make setup` installs it (dataset-fashion-mnist)")
    return True


def pytest_terminal_summary(terminalreporter):
    """After the run: how many of the project's own wrong answers each graded part catches
    (recorded by test_autograder_quality; user properties reach here from xdist workers too)."""
    rows = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "kill_rates" and report.when == "call":
                rows += [f"{value['assignment']:18s} {part:28s} {caught}/{total}"
                         for part, (caught, total) in sorted(value["parts"].items())]
    if rows:
        terminalreporter.write_sep("-", "wrong answers caught, per graded part")
        for row in sorted(rows):
            terminalreporter.write_line(row)


# The book build is about half of the run's work and one file: `make test` hands out whole
# files in collection order (`--dist loadfile --no-loadscope-reorder`), so the book goes
# first and starts at once beside everything else, instead of last, after the files with
# the most tests. Every other item keeps its order.
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.nodeid.split("::")[0] != "tests/test_book.py")
