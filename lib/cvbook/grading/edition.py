"""`cvbook edition`: what students receive, made from the course root.

The student edition holds the exercises (nbgrader's release), the course library and the
book's sources, and a Jupyter configuration that turns off nbgrader's instructor tools
(the formgrader, "Create Assignment", the course list); the student's Assignments tab and
Validate stay, Validate showing each message before its cell's code (`jupyter_extension`). It never holds solutions/, hidden tests, a gradebook, submissions,
feedback or grades: `make_edition` checks its own output and refuses to finish otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tarfile
from pathlib import Path

from cvbook.cli import add_option

# What goes in, relative to the course root (missing ones are skipped).
INCLUDE = ["exercises", "lib/pyproject.toml", "lib/cvbook", "lib/jupyter-config", "book", "_config.yml", "_toc.yml",
           "environment.yml", "BENCHMARKS.md"]   # chapter 10 reads a table of BENCHMARKS.md
# Never copied, wherever they are.
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints", "gradebook.db",
                              ".nbgrader.log", "_build")
FORBIDDEN_TEXT = ("BEGIN HIDDEN TESTS", "BEGIN SOLUTION", "END HIDDEN TESTS", "END SOLUTION")
FORBIDDEN_NAMES = {"solutions", "gradebook.db", "submitted", "autograded", "feedback", "reports",
                   "grades.csv", "students.csv", "nbgrader_config.py", "tests"}

# nbgrader's instructor extensions, off in the student's JupyterLab.
SERVER_EXTENSIONS_OFF = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"]
# and on: Validate's dialog shows each failed check's message before the cell's code
SERVER_EXTENSIONS_ON = ["cvbook.grading.jupyter_extension"]
# (and JupyterLab's prompt about fetching its news feed, which the server no longer serves)
LAB_PLUGINS_OFF = ["@jupyterlab/apputils-extension:announcements",
                   "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:course-list"]

README = """\
# cvbook: exercises

The exercises of the course *Image classification with convolutional networks*, with the
course library `cvbook` they use and the sources of the book.

## Set up once

```sh
python3 -m venv .venv
.venv/bin/pip install -e "lib[course]"      # or: conda env create -f environment.yml
```

## Work

```sh
JUPYTER_CONFIG_PATH=$PWD/jupyter .venv/bin/jupyter lab exercises
```

Open `exercises/<assignment>/<name>.ipynb`, fill in each cell marked `# YOUR CODE HERE`
and run the test cell below it: a passing test cell prints one line, a failing one says
which input it tried, what was expected and what your code returned, and a part you have
not answered yet says so. The toolbar's **Validate** button runs every test cell of the
notebook from a fresh kernel, as the grader will. Hidden tests check more cases when your
work is graded.

`jupyter/` is a Jupyter configuration folder: it turns off nbgrader's instructor tools
(the formgrader and "Create Assignment"), which students do not need.
"""


def _check(out: Path) -> None:
    """Refuse an edition that holds anything an instructor keeps."""
    for path in out.rglob("*"):
        if path.name in FORBIDDEN_NAMES:
            raise RuntimeError(f"the student edition must not contain {path.relative_to(out)}")
        if path.is_file() and path.suffix == ".ipynb":
            # (The book and the library name the markers in prose and code; a notebook never may.)
            text = path.read_text(errors="replace")
            for marker in FORBIDDEN_TEXT:
                if marker in text:
                    raise RuntimeError(f"{path.relative_to(out)} contains {marker!r}: the student "
                                       f"edition must hold no solution and no hidden test")


def write_jupyter_config(config_dir: Path) -> None:
    """A Jupyter configuration folder (for JUPYTER_CONFIG_PATH) with the instructor tools off."""
    # The server's own config file: its settings win over the extensions' config.d entries.
    server = config_dir / "jupyter_server_config.json"
    server.parent.mkdir(parents=True, exist_ok=True)
    # JupyterLab's news feed and update check ask students about the network on first start.
    server.write_text(json.dumps({
        "ServerApp": {"jpserver_extensions": {**{name: False for name in SERVER_EXTENSIONS_OFF},
                                              **{name: True for name in SERVER_EXTENSIONS_ON}}},
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"},
    }, indent=2) + "\n")
    lab = config_dir / "labconfig" / "page_config.json"
    lab.parent.mkdir(parents=True, exist_ok=True)
    lab.write_text(json.dumps({"disabledExtensions": {name: True for name in LAB_PLUGINS_OFF}}, indent=2) + "\n")


def make_edition(out: Path | str, root: Path | str | None = None, archive: bool = False) -> Path:
    """Write the student edition into the folder `out` (emptied first); with `archive`, also
    `out`.tar.gz beside it. Returns the folder, or the archive."""
    from cvbook.grading import course  # nbgrader's stack: only when an edition is made

    root, out = course.course_root(root), Path(out).resolve()
    taken = FORBIDDEN_NAMES | {item.split("/")[0] for item in INCLUDE}
    if out == root or out in root.parents or (out.parent == root and out.name in taken):
        raise ValueError(f"{out} is not a place for the student edition: choose a new folder")
    if not (root / "exercises").is_dir():
        raise FileNotFoundError(f"{root / 'exercises'} does not exist: release the exercises first (make release)")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for item in INCLUDE:
        src = root / item
        if src.is_dir():
            shutil.copytree(src, out / item, ignore=SKIP)
        elif src.is_file():
            (out / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / item)
    (out / "README.md").write_text(README)
    write_jupyter_config(out / "jupyter")
    _check(out)
    if not archive:
        return out
    tar = out.with_name(out.name + ".tar.gz")
    with tarfile.open(tar, "w:gz") as t:
        t.add(out, arcname=out.name, filter=lambda info: info if not os.path.islink(info.name) else None)
    return tar


def register(subparsers) -> None:
    p = subparsers.add_parser("edition", help="make the student edition: exercises, library, book; no solutions",
                              description=__doc__)
    add_option(p, "--out-dir", "--out", dest="out", type=Path, default=Path("student-edition"),
               help="folder to write (emptied first; default: student-edition)")
    p.add_argument("--root", type=Path, default=None, help="course root (default: the current folder)")
    p.add_argument("--archive", action="store_true", help="also write OUT_DIR.tar.gz")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    made = make_edition(args.out, args.root, archive=args.archive)
    print(f"student edition: {made}")
    return 0
