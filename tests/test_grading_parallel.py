"""`cvbook grade` on the toy assignment: parallel grading records exactly what nbgrader's
own sequential autograde records, re-running replaces rather than duplicates, and the
feedback pages teach without showing hidden tests."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from cvbook import cli
from cvbook.grading import course, grade
import toy_course as toy

pytestmark = pytest.mark.slow

STUDENTS = {
    "right": None,
    "blank": {},
    "off_by_two": {"double": "def double(x):\n    return x + 2"},  # passes double(2), fails the hidden test
    "tripled": {"double": "print('grading:', os.environ.get('NBGRADER_EXECUTION'))\ndef double(x):\n    return 3 * x",
                "total": "def total(xs):\n    return len(xs)"},
}


def _submit_all(root):
    for student, answers in STUDENTS.items():
        toy.submit(root, student, answers or None, fill_solutions=answers is None or bool(answers))


def _row_counts(root) -> dict[str, int]:
    with sqlite3.connect(root / "gradebook.db") as db:
        return {t: db.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("student", "submitted_assignment", "submitted_notebook", "grade")}


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """The same submissions graded by plain nbgrader (sequential) and by `cvbook grade --jobs 2`."""
    base = tmp_path_factory.mktemp("parallel")
    root = toy.make_course(base / "cvbook")
    _submit_all(root)
    reference = base / "nbgrader"
    shutil.copytree(root, reference)
    api = course.nbgrader_api(reference)
    for student in STUDENTS:
        assert api.autograde(toy.ASSIGNMENT, student, force=True)["success"]
    return root, reference


@pytest.fixture(scope="module")
def graded(courses):
    root, reference = courses
    code = cli.main(["grade", toy.ASSIGNMENT, "--root", str(root), "--jobs", "2", "--timeout", "60"])
    assert code == 0
    return root, reference


def test_parallel_scores_equal_sequential_nbgrader(graded):
    root, reference = graded
    ours, theirs = course.scores(root, toy.ASSIGNMENT), course.scores(reference, toy.ASSIGNMENT)
    assert set(ours) == set(STUDENTS)
    assert ours == theirs
    assert ours["right"]["score"] == toy.MAX_SCORE and ours["blank"]["score"] == 0
    assert ours["off_by_two"]["cells"]["test_double"][0] == 0  # the hidden test caught it


def test_rerun_sequentially_replaces_and_never_duplicates(graded):
    root, reference = graded
    counts = _row_counts(root)
    assert counts == _row_counts(reference)
    assert counts["submitted_assignment"] == len(STUDENTS)
    assert counts["grade"] == len(STUDENTS) * 3
    results = grade.grade_assignment(toy.ASSIGNMENT, root, jobs=1, timeout=60)
    assert [r.status for r in results] == ["graded"] * len(STUDENTS)
    assert _row_counts(root) == counts
    assert course.scores(root, toy.ASSIGNMENT) == course.scores(reference, toy.ASSIGNMENT)


def test_notebooks_know_they_are_being_graded(graded):
    """The sandbox keeps NBGRADER_EXECUTION, which notebooks use to skip long demos."""
    import nbformat

    root, _ = graded
    nb = nbformat.read(root / "autograded" / "tripled" / toy.ASSIGNMENT / toy.NOTEBOOK, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "grading: autograde" in printed


def test_report_names_every_student(graded):
    import json

    root, _ = graded
    report = json.loads(grade.report_path(root, toy.ASSIGNMENT).read_text())
    assert sorted(s["student"] for s in report["students"]) == sorted(STUDENTS)
    assert all(s["status"] == "graded" for s in report["students"])


def test_feedback_shows_public_failures_and_never_hidden_code(graded):
    root, _ = graded
    pages = {s: (root / "feedback" / s / toy.ASSIGNMENT / "functions.html").read_text() for s in STUDENTS}
    for student, page in pages.items():
        assert toy.HIDDEN_MARKER not in page, f"{student}'s feedback shows hidden test code"
        assert "BEGIN HIDDEN" not in page
    # The public check's own message, with what was compared and what differed.
    assert f"{toy.PUBLIC_MESSAGE}: expected 4, got 6" in pages["tripled"]
    assert "total([1, 2, 3]) should be 6" in pages["tripled"]
    # A failure found only by hidden tests: the student learns which input failed, not the code.
    assert "double(-7): expected -14, got -5" in pages["off_by_two"]
    assert "Score: 6 / 6" in pages["right"] and "failed" not in pages["right"].split("<table>")[1]


def test_nbgraders_own_feedback_never_shows_hidden_code(graded):
    """The formgrader's "Generate Feedback" button runs nbgrader's generate_feedback: the
    course configuration makes it strip hidden tests too."""
    root, _ = graded
    api = course.nbgrader_api(root)
    assert api.generate_feedback(toy.ASSIGNMENT, "off_by_two", force=True)["success"]
    page = (root / "feedback" / "off_by_two" / toy.ASSIGNMENT / "functions.html").read_text()
    assert "double(2)" in page  # the public test is shown
    assert toy.HIDDEN_MARKER not in page and "BEGIN HIDDEN" not in page


def test_bad_input_is_one_clear_error(courses, capsys):
    root, _ = courses
    assert cli.main(["grade", "no_such_assignment", "--root", str(root)]) == 2
    assert "no_such_assignment" in capsys.readouterr().err
    assert cli.main(["grade", toy.ASSIGNMENT, "--root", str(root / "nowhere")]) == 2
    assert "gradebook.db" in capsys.readouterr().err
