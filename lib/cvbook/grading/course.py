"""nbgrader course tooling: the course's configuration, releasing exercises from
solutions, building a student's submission, and reading scores. A course root is a
folder with solutions/ (nbgrader's source), exercises/ (its release) and gradebook.db;
commands work on the current folder unless given another root, as nbgrader's do."""

from __future__ import annotations

import copy
import os
import shutil
import sys
from pathlib import Path

import nbformat
from traitlets.config import Config, PyFileConfigLoader

SOLUTION_BEGIN, SOLUTION_END = "### BEGIN SOLUTION", "### END SOLUTION"


def apply_course_settings(c: Config, exchange: Path | str | None = None) -> Config:
    """The course's nbgrader settings (the course root's nbgrader_config.py calls this).

    `exchange`: the folder of nbgrader's exchange (release, submit, collect, feedback);
    the course root's `exchange/` when the course runs on one machine."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from cvbook.grading.feedback import StripHiddenTests

    c.CourseDirectory.course_id = "cvbook"
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "exercises"
    # Exercises run their reference checks against cvbook; a notebook gets at most this long.
    c.ExecutePreprocessor.timeout = 300
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    # nbgrader's own feedback (also the formgrader's "Generate Feedback" button) renders the
    # autograded notebook, which holds the hidden tests: strip them as cvbook's pages do.
    c.GenerateFeedback.preprocessors = [GetGrades, StripHiddenTests, CSSHTMLHeaderPreprocessor]
    # One late-work policy for every place a grade shows (cvbook.grading.late).
    c.AssignLatePenalties.plugin_class = "cvbook.grading.late.LatePolicy"
    if exchange is not None:
        c.Exchange.root = str(Path(exchange).resolve())
    return c


def _use_this_environment() -> None:
    """nbgrader runs `alembic` and kernels run `python` from PATH: both must be this
    environment's (the one with cvbook installed), even when PATH was not activated."""
    env_bin = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != env_bin:
        os.environ["PATH"] = env_bin + os.pathsep + os.environ.get("PATH", "")


def course_root(root: Path | str | None) -> Path:
    """`root`, or the current folder; resolved."""
    return Path.cwd().resolve() if root is None else Path(root).resolve()


def course_config(root: Path | str | None = None, db_path: Path | str | None = None) -> Config:
    """nbgrader_config.py from the course root (the course's settings where there is none),
    with the root (and database) set explicitly."""
    _use_this_environment()
    root = course_root(root)
    config_file = root / "nbgrader_config.py"
    if config_file.is_file():
        config = PyFileConfigLoader(config_file.name, str(config_file.parent)).load_config()
    else:
        config = apply_course_settings(Config(), exchange=root / "exchange")
    config.CourseDirectory.root = str(root)
    if db_path is not None:
        config.CourseDirectory.db_url = f"sqlite:///{Path(db_path).resolve()}"
    return config


def nbgrader_api(root: Path | str | None = None, db_path: Path | str | None = None):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = course_config(root, db_path)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def assignments(root: Path | str | None = None) -> list[str]:
    """Assignment names: the folders of solutions/ that hold a notebook."""
    source = course_root(root) / "solutions"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def ensure_exchange(root: Path | str | None = None) -> Path:
    """Create the course's exchange folder when it lies in the course root (a course on one
    machine), writable by every user as nbgrader's release makes it: students' Assignments
    tab then lists "no assignments" instead of failing. A shared folder elsewhere (JupyterHub)
    is the administrator's to create."""
    from nbgrader.exchange.default import Exchange

    root = course_root(root)
    path = Path(Exchange(config=course_config(root)).root)
    if path.resolve().is_relative_to(root) and not path.is_dir():
        path.mkdir(parents=True)
        path.chmod(0o777)
    return path


def release(root: Path | str | None = None, names: list[str] | None = None,
            db_path: Path | str | None = None) -> list[str]:
    """Generate exercises/<name>/ from solutions/<name>/ (nbgrader generate_assignment)."""
    root = course_root(root)
    names = names or assignments(root)
    ensure_exchange(root)
    api = nbgrader_api(root, db_path)
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"nbgrader could not release {name}:\n{result.get('error') or result.get('log')}")
    return names


def _cells_by_id(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def solution_code(source_cell) -> str:
    """The code of a source solution cell without the BEGIN/END SOLUTION markers."""
    lines = [l for l in source_cell.source.splitlines() if l.strip() not in (SOLUTION_BEGIN, SOLUTION_END)]
    return "\n".join(lines)


def make_submission(released_nb, source_nb, answers: dict[str, str] | None = None,
                    fill_solutions: bool = True):
    """A student's notebook: the released one with solution cells answered.

    Solution cells (code, and answers in words) get the instructor's solution when
    `fill_solutions` (else stay blank), and `answers` (grade_id -> source) overrides single
    cells, e.g. with a wrong answer.
    """
    nb = copy.deepcopy(released_nb)
    source_cells = _cells_by_id(source_nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        grade_id = meta["grade_id"]
        if answers and grade_id in answers:
            cell.source = answers[grade_id]
        elif fill_solutions:
            cell.source = solution_code(source_cells[grade_id])
    unknown = set(answers or ()) - set(_cells_by_id(nb))
    if unknown:
        raise ValueError(f"answers name cells that the notebook does not have: {sorted(unknown)}")
    return nb


def write_submission(root: Path | str, student: str, assignment: str, notebook_name: str, nb) -> Path:
    path = Path(root) / "submitted" / student / assignment / notebook_name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def copy_course(dest: Path | str, root: Path | str) -> Path:
    """A scratch course root: nbgrader_config.py and solutions/ (for tests and dry runs)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(root) / "nbgrader_config.py", dest)
    shutil.copytree(Path(root) / "solutions", dest / "solutions", dirs_exist_ok=True)
    return dest


def awaits_grade_by_hand(grade) -> bool:
    """True for a gradebook grade that nobody has scored: an answer in words (or other
    manually graded cell) that the autograder left unscored and no instructor has graded
    yet. nbgrader raises needs_manual_grade again on every regrade, so that flag alone
    would ask for a grade already given; the scores say what is still missing."""
    return grade.auto_score is None and grade.manual_score is None


def scores(root: Path | str, assignment: str, db_path: Path | str | None = None) -> dict[str, dict]:
    """What the gradebook holds for each student who submitted `assignment`, the one source
    every page and export reads: student -> {"score" (after the late penalty, as `nbgrader
    export` computes it), "raw_score", "late_penalty", "seconds_late", "timestamp",
    "max_score", "cells": {grade_id: (score, max)} (a manual score overrides the automatic
    one), "manual": {grade_id: True while it awaits a manual grade}, "comments": {grade_id:
    the grader's comment}}."""
    from nbgrader.api import Gradebook

    url = f"sqlite:///{Path(db_path or Path(root) / 'gradebook.db').resolve()}"
    out = {}
    with Gradebook(url) as gb:
        for sub in gb.assignment_submissions(assignment):
            cells, manual, comments = {}, {}, {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    cells[grade.cell.name] = (grade.score, grade.max_score)
                    manual[grade.cell.name] = awaits_grade_by_hand(grade)
                for comment in nb.comments:
                    text = comment.manual_comment or comment.auto_comment
                    if text:
                        comments[comment.cell.name] = text
            penalty = float(sub.late_submission_penalty or 0.0)
            out[sub.student.id] = {"score": max(0.0, sub.score - penalty), "raw_score": sub.score,
                                   "late_penalty": penalty, "seconds_late": sub.total_seconds_late,
                                   "timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
                                   "max_score": sub.max_score, "cells": cells, "manual": manual,
                                   "comments": comments}
    return out
