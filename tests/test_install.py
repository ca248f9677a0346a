"""The package works wherever it is installed: `pip install ./lib` into a fresh virtual
environment, then, from a folder outside this repository, `cvbook --help`, `cvbook train` on a
small image folder, and `cvbook grade` on a course of its own (after adding the course extras).

uv installs from its cache with hard links, so the fresh environment costs about a minute, not
a download of torch; it is marked slow and runs once, in a file of its own."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not UV.is_file(), reason="uv is installed by `make setup` next to python")]


def _install(venv: Path, spec: str) -> None:
    base = [str(UV), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--link-mode=hardlink", spec]
    # offline first (everything is in uv's cache after `make setup`), then from the index
    if subprocess.run([*base, "--offline"], capture_output=True, text=True).returncode != 0:
        subprocess.run(base, check=True, capture_output=True, text=True)


def _run(venv: Path, cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    proc = subprocess.run([str(venv / "bin" / "cvbook"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert not check or proc.returncode == 0, f"cvbook {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _image_folder(root: Path) -> Path:
    from PIL import Image

    for split, n in (("train", 12), ("val", 4), ("test", 4)):
        for label, shade in (("dark", 40), ("light", 200)):
            (root / split / label).mkdir(parents=True)
            for i in range(n):
                Image.new("L", (16, 16), shade + i).save(root / split / label / f"{i}.png")
    return root


def test_installed_package_works_outside_the_repository(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    # a copy: building a wheel writes build/ and *.egg-info beside the sources
    lib = shutil.copytree(REPO / "lib", tmp_path / "lib",
                          ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    _install(venv, str(lib))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import cvbook; print(cvbook.__file__)"],
                               cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert str(venv) in installed and str(REPO) not in installed  # the copy in the venv, not the repository's

    assert "train" in _run(venv, elsewhere, "--help").stdout
    assert "--cell-timeout" in _run(venv, elsewhere, "grade", "--help").stdout

    folder = _image_folder(tmp_path / "shapes")
    _run(venv, elsewhere, "train", "--model", "tiniest", "--data-dir", str(folder), "--epochs", "1",
         "--batch-size", "8", "--device", "cpu", "--no-progress", "--out-dir", "runs")
    assert (elsewhere / "runs" / "tiniest" / "best_model.pth").is_file()
    assert not (REPO / "runs").exists()

    # grading needs nbgrader: without the course extras, one clear line says how to get them
    course_root = tmp_path / "course"
    sys.path.insert(0, str(REPO / "tests"))
    import toy_course

    toy_course.make_course(course_root)
    toy_course.submit(course_root, "honest")
    proc = _run(venv, elsewhere, "grade", toy_course.ASSIGNMENT, "--root", str(course_root), check=False)
    if proc.returncode != 0:
        assert "cvbook[course]" in proc.stderr, proc.stderr
        _install(venv, f"{lib}[course]")
    sandbox = [] if shutil.which("bwrap") else ["--unsandboxed"]
    proc = _run(venv, elsewhere, "grade", toy_course.ASSIGNMENT, "--root", str(course_root), "--jobs", "1",
                *sandbox)
    assert "honest" in proc.stdout and f"{toy_course.MAX_SCORE}/{toy_course.MAX_SCORE}" in proc.stdout, proc.stdout
    assert (course_root / "feedback" / "honest").is_dir() or "report:" in proc.stdout

    # Installing cvbook enables its Jupyter server extension (Validate's message first, the
    # formgrader's maths offline), with its copy of MathJax 2 inside the installed package.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER_CONFIG_PATH")}
    env.update(HOME=str(tmp_path / "home"), JUPYTER_CONFIG_DIR=str(tmp_path / "home" / ".jupyter"))
    listed = subprocess.run([str(venv / "bin" / "jupyter"), "server", "extension", "list"], cwd=elsewhere, env=env,
                            capture_output=True, text=True, check=True)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert "cvbook.grading.jupyter_extension enabled" in shown and "Validating cvbook" in shown, shown
    assert re.search(r"cvbook\.grading\.jupyter_extension\s+OK", shown), shown  # it imports and loads
    mathjax = subprocess.run([str(venv / "bin" / "python"), "-c", "from cvbook.grading import jupyter_extension as e;"
                              "print((e.MATHJAX2 / 'MathJax.js').is_file())"],
                             cwd=elsewhere, capture_output=True, text=True, check=True).stdout
    assert mathjax.strip() == "True"
