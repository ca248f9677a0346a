"""The "Running this course" chapter, run as written on one machine: create the course,
import the roster, set a due date, release to the course's exchange, students fetch and
submit from their own folders through the Assignments tab's own backend (nbgrader's
AssignmentList with the student's nbgrader_config.py), collect, `cvbook grade`, a score and
comments given by hand in the gradebook, `cvbook feedback`, nbgrader's own
`release_feedback`, students fetch their feedback, `nbgrader export`, `cvbook export` for
Canvas and Moodle, the dashboard, and a late resubmission regraded alone.

One source of truth: every place a grade shows (gradebook, feedback page, dashboard and its
CSV, `nbgrader export`, the LMS files) gives the same final score, the late penalty and the
manual score included."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from cvbook import cli
from cvbook.grading import course
from conftest import jupyterlab_server
import toy_course as toy  # the toy assignment (three graded functions): imported here only

pytestmark = pytest.mark.slow

A = toy.ASSIGNMENT
NB = toy.NOTEBOOK
UNRELEASED = "later"  # generated in the gradebook, never released: absent from every report
EXPLAIN = "explain"  # a free-text answer graded by hand
EXPLAIN_POINTS = 2
MAX = toy.MAX_SCORE + EXPLAIN_POINTS
ROSTER = [("ada", "Lovelace", "Ada", "ada@example.org"), ("ben", "Franklin", "Ben", "ben@example.org"),
          ("cy", "Young", "Cy", "cy@example.org"), ("dee", "Dee", "John", "dee@example.org")]
WRONG_TOTAL = {"total": "def total(xs):\n    return len(xs)"}  # loses test_total's 3 points
COMMENT = "Good reasoning, but say why the gradient vanishes."


def student_config(exchange: Path, student: str) -> str:
    """The nbgrader_config.py a student keeps in their working folder (the chapter shows it)."""
    return (f'c = get_config()\nc.CourseDirectory.course_id = "cvbook"\n'
            f'c.Exchange.root = "{exchange}"\nc.CourseDirectory.student_id = "{student}"\n')


def add_manual_cell(nb):
    """The toy notebook with a free-text question graded by hand."""
    cell = nbformat.v4.new_markdown_cell("Why does a deep network without skip connections train slowly?\n\n"
                                         "### BEGIN SOLUTION\nThe gradient shrinks layer by layer.\n"
                                         "### END SOLUTION")
    cell.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "points": EXPLAIN_POINTS,
                                 "schema_version": 3, "task": False, "grade_id": EXPLAIN}
    nb.cells.append(cell)
    return nb


def nbgrader(root: Path, *args: str) -> str:
    """nbgrader's own command, as the instructor types it in the course root."""
    proc = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=root, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


class Student:
    """One student: a folder of their own and a Jupyter data folder of their own (the
    exchange's cache), driving nbgrader's Assignments-tab backend."""

    def __init__(self, base: Path, name: str, exchange: Path, course_root: Path):
        self.name, self.dir, self.data = name, base / name / "work", base / name / "jupyter-data"
        self.course_root = course_root  # only to write answers from the instructor's solutions
        self.dir.mkdir(parents=True)
        self.data.mkdir(parents=True)
        (self.dir / "nbgrader_config.py").write_text(student_config(exchange, name))

    @contextlib.contextmanager
    def _as_me(self):
        old = os.environ.get("JUPYTER_DATA_DIR")
        os.environ["JUPYTER_DATA_DIR"] = str(self.data)
        cwd = os.getcwd()
        os.chdir(self.dir)  # where the student started JupyterLab: its nbgrader_config.py applies
        try:
            yield
        finally:
            os.chdir(cwd)
            if old is None:
                os.environ.pop("JUPYTER_DATA_DIR")
            else:
                os.environ["JUPYTER_DATA_DIR"] = old

    def tab(self, action: str, *args):
        from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

        with self._as_me():
            lister = AssignmentList()
            lister.root_dir = str(self.dir)
            result = getattr(lister, action)(*args)
        assert result["success"], f"{self.name}: {action} failed: {result.get('value')}"
        return result.get("value")

    def answer(self, answers: dict[str, str]) -> None:
        """Fill in the fetched notebook: the solution, then `answers` on top."""
        path = self.dir / A / NB
        released = nbformat.read(path, as_version=4)
        source = nbformat.read(self.course_root / "solutions" / A / NB, as_version=4)
        nbformat.write(course.make_submission(released, source, answers), path)


def give_score(root: Path, student: str, cell: str, score: float | None, comment: str | None = None) -> None:
    """What the formgrader's Save does (nbgrader's formgrader API handlers, through its gradebook)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        if score is not None:
            grade = gb.find_grade(cell, "functions", A, student)
            grade.manual_score = score
            grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        if comment is not None:
            gb.find_comment(cell, "functions", A, student).manual_comment = comment
        gb.db.commit()


def _shown_final(page: str) -> str:
    return re.search(r"<b>Score: ([0-9.]+) / ", page).group(1)


@pytest.fixture(scope="module")
def term(tmp_path_factory, repo):
    base = tmp_path_factory.mktemp("term")
    root = base / "course"
    # 1. Create the course: the repository's nbgrader_config.py, the course's assignments.
    (root / "solutions" / A).mkdir(parents=True)
    shutil.copy(repo / "nbgrader_config.py", root / "nbgrader_config.py")
    with open(root / "nbgrader_config.py", "a") as f:  # the chapter's late policy, spelled out
        f.write("c.LatePolicy.percent_per_day = 25\n")
    nbformat.write(add_manual_cell(toy.source_notebook()), root / "solutions" / A / NB)
    (root / "solutions" / UNRELEASED).mkdir()
    nbformat.write(toy.source_notebook(), root / "solutions" / UNRELEASED / NB)
    course.release(root)  # what `make release` does
    exchange = root / "exchange"
    # Roster import.
    (root / "students.csv").write_text("id,last_name,first_name,email\n"
                                       + "".join(",".join(r) + "\n" for r in ROSTER))
    nbgrader(root, "db", "student", "import", "students.csv")
    # Students' Assignments tab works from the start (an empty exchange, not an error).
    students = {name: Student(base / "students", name, exchange, root) for name, *_ in ROSTER}
    before_release = students["ada"].tab("list_assignments", "cvbook")
    # Release to the exchange; students see it in their Assignments tab.
    nbgrader(root, "release_assignment", A)
    listed = students["ada"].tab("list_assignments", "cvbook")
    # ada and cy submit in time; the due date passes; ben submits late; dee never submits.
    for name, answers in (("ada", {EXPLAIN: "The gradient shrinks at every layer."}), ("cy", WRONG_TOTAL)):
        students[name].tab("fetch_assignment", "cvbook", A)
        students[name].answer(answers)
        students[name].tab("submit_assignment", "cvbook", A)
    time.sleep(1.1)
    due = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    nbgrader(root, "db", "assignment", "add", A, f"--duedate={due}")
    time.sleep(1.1)
    students["ben"].tab("fetch_assignment", "cvbook", A)
    students["ben"].answer({EXPLAIN: "Each layer multiplies the gradient by a small factor."})
    students["ben"].tab("submit_assignment", "cvbook", A)
    # Collect and grade.
    nbgrader(root, "collect", A)
    with contextlib.redirect_stdout(io.StringIO()) as graded:
        assert cli.main(["grade", A, "--root", str(root), "--jobs", "2", "--timeout", "120"]) == 0
    assert cli.main(["dashboard", "--root", str(root), "--out", str(root / "reports" / "before-manual.html")]) == 0
    # Manual grading: scores for the free-text answers and comments, saved as the formgrader does.
    give_score(root, "ada", EXPLAIN, 1, COMMENT)
    give_score(root, "ben", EXPLAIN, 2)
    give_score(root, "cy", EXPLAIN, 1)
    give_score(root, "cy", "total", None, "Sum the values, not count them.")
    # Feedback: rewrite the pages from the gradebook, release them with nbgrader, students fetch.
    assert cli.main(["feedback", A, "--root", str(root)]) == 0
    nbgrader(root, "release_feedback", A)
    for name in ("ada", "ben", "cy"):
        students[name].tab("fetch_feedback", "cvbook", A)
    # Export and dashboard.
    nbgrader(root, "export", "--to", "grades.csv")
    for fmt in ("canvas", "moodle", "csv"):
        assert cli.main(["export", "--to", fmt, "--root", str(root)]) == 0
    assert cli.main(["dashboard", "--root", str(root)]) == 0
    return {"root": root, "students": students, "listed": listed, "before_release": before_release,
            "grade_output": graded.getvalue()}


def test_a_hub_exchange_outside_the_course_root(tmp_path, repo, monkeypatch):
    """Section 9's JupyterHub set-up: one exchange folder for every server, set in the
    course's nbgrader_config.py after apply_course_settings; the students' file without
    student_id, so the hub user name is the id (here as a Docker spawner's `jovyan` with
    JUPYTERHUB_USER). Release, fetch, submit and collect go through that folder only."""
    from nbgrader import utils as nbgrader_utils

    root, shared = tmp_path / "course", tmp_path / "srv" / "nbgrader" / "exchange"
    (root / "solutions" / A).mkdir(parents=True)
    shutil.copy(repo / "nbgrader_config.py", root / "nbgrader_config.py")
    with open(root / "nbgrader_config.py", "a") as f:
        f.write(f'c.Exchange.root = "{shared}"\n')
    nbformat.write(toy.source_notebook(), root / "solutions" / A / NB)
    shared.mkdir(parents=True)
    shared.chmod(0o777)  # the hub's administrator makes it, writable by every user
    course.release(root)
    nbgrader(root, "release_assignment", A)
    student = Student(tmp_path / "students", "grace", shared, root)
    (student.dir / "nbgrader_config.py").write_text(
        f'c = get_config()\nc.CourseDirectory.course_id = "cvbook"\nc.Exchange.root = "{shared}"\n')
    monkeypatch.setattr(nbgrader_utils, "get_osusername", lambda: "jovyan")
    monkeypatch.setenv("JUPYTERHUB_USER", "grace")
    assert [a["assignment_id"] for a in student.tab("list_assignments", "cvbook")] == [A]
    student.tab("fetch_assignment", "cvbook", A)
    student.answer({})
    student.tab("submit_assignment", "cvbook", A)
    nbgrader(root, "collect", A)
    assert (root / "submitted" / "grace" / A / NB).is_file()
    assert list((shared / "cvbook" / "inbound").glob(f"grace+{A}+*"))
    local = root / "exchange"  # the one-machine exchange stays unused
    assert not local.exists() or not any(local.rglob("*.ipynb"))


def fetched_page(student: Student) -> str:
    pages = list((student.dir / A / "feedback").glob("*/functions.html"))
    assert len(pages) == 1, f"{student.name} fetched {pages}"
    return pages[0].read_text()


def nbgrader_export(root: Path) -> dict:
    return {(r["assignment"], r["student_id"]): r for r in csv.DictReader((root / "grades.csv").open())}


def dashboard_csv(root: Path) -> dict:
    page = (root / "reports" / "dashboard.html").read_text()
    href = re.search(r'href="data:text/csv;charset=utf-8,([^"]*)"', page).group(1)
    return {r["student"]: r for r in csv.DictReader(io.StringIO(urllib.parse.unquote(href)))}


def test_students_see_the_released_assignment_in_their_tab(term):
    assert term["before_release"] == []
    names = [a["assignment_id"] for a in term["listed"] if a["status"] == "released"]
    assert names == [A]  # the unreleased assignment is not offered


def test_late_policy_applies_once_and_only_to_late_work(term):
    truth = course.scores(term["root"], A)
    assert set(truth) == {"ada", "ben", "cy"}
    assert truth["ada"]["late_penalty"] == 0 and truth["cy"]["late_penalty"] == 0
    assert truth["ben"]["seconds_late"] > 0
    # ben: full marks (6 automatic + 2 by hand), one started day late at 25 % per day.
    assert truth["ben"]["raw_score"] == MAX
    assert truth["ben"]["late_penalty"] == pytest.approx(0.25 * MAX)
    assert truth["ben"]["score"] == pytest.approx(0.75 * MAX)
    assert truth["ada"]["score"] == toy.MAX_SCORE + 1
    assert truth["cy"]["score"] == toy.MAX_SCORE - 3 + 1


def test_every_place_shows_the_same_final_score(term):
    root = term["root"]
    truth = {s: r["score"] for s, r in course.scores(root, A).items()}
    exported = nbgrader_export(root)
    dash = dashboard_csv(root)
    canvas = list(csv.reader((root / "exports" / "grades-canvas.csv").open()))
    canvas_by_id = {row[2]: row for row in canvas[2:]}
    moodle = {r["ID number"]: r for r in csv.DictReader((root / "exports" / "grades-moodle.csv").open())}
    for student, final in truth.items():
        assert float(exported[(A, student)]["score"]) == pytest.approx(final), student
        assert float(dash[student][A]) == pytest.approx(final), student
        assert float(canvas_by_id[student][canvas[0].index(A)]) == pytest.approx(final), student
        assert float(moodle[student][A]) == pytest.approx(final), student
        assert float(_shown_final(fetched_page(term["students"][student]))) == pytest.approx(final), student


@pytest.fixture
def formgrader(term, tmp_path):
    """The instructor's JupyterLab in the course root (nbgrader's formgrader on, as installed)."""
    with jupyterlab_server(term["root"], tmp_path / "home") as url:
        yield url


def test_the_instructor_sees_the_graded_submissions_in_the_formgrader(term, formgrader, browser, tmp_path):
    """Manage Submissions lists who submitted, with the scores before the late penalty (what
    nbgrader's formgrader shows; the penalty is on the feedback pages and in the exports)."""
    truth = course.scores(term["root"], A)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{formgrader}/formgrader/manage_submissions/{A}")
        page.locator("tbody td.score", has_text=" / ").first.wait_for(timeout=60_000)
        rows = page.eval_on_selector_all("tbody tr", "rows => rows.map(r => r.innerText)")
        shown = {s: next((r for r in rows if s in r.lower()), "") for s in truth}
        for student, record in truth.items():
            assert f"{record['raw_score']:g} / {MAX:g}" in shown[student], (student, rows)
        assert not any("dee" in r.lower() for r in rows), rows  # no submission, no row
        page.screenshot(path=str(tmp_path / "manage_submissions.png"))
        page.goto(f"{formgrader}/formgrader/manage_students")
        page.locator("tbody", has_text=ROSTER[0][1]).wait_for(timeout=60_000)  # past "loading, please wait..."
        listed = page.inner_text("tbody").lower()
        assert all(last.lower() in listed for _, last, *_ in ROSTER), listed
        page.screenshot(path=str(tmp_path / "manage_students.png"))
    finally:
        page.close()


def test_the_formgrader_shows_a_submissions_maths_offline(term, formgrader, browser, tmp_path):
    """A submission's grading page typesets its maths with the MathJax that cvbook serves
    (cvbook.grading.jupyter_extension): no request leaves the machine, no raw LaTeX."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{term['root'] / 'gradebook.db'}") as gb:
        submission = gb.find_submission_notebook(NB.removesuffix(".ipynb"), A, "ada").id
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = []
    page.route("**/*", lambda route: (outside.append(route.request.url), route.abort())
               if not route.request.url.startswith(formgrader) else route.continue_())
    try:
        page.goto(f"{formgrader}/formgrader/submissions/{submission}/")
        page.locator(".MathJax_CHTML").first.wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "formgrade.png"))
        assert page.locator(".MathJax_CHTML").count() == 3
        assert "$x^2$" not in page.inner_text("body") and outside == [], outside
    finally:
        page.close()


def test_grading_says_which_answers_await_a_grade_by_hand(term):
    """Every submitted answer in words waits for the instructor; dee submitted nothing."""
    report = json.loads((term["root"] / "reports" / "grade" / f"{A}.json").read_text())
    assert {e["student"]: e["by_hand"] for e in report["students"]} == {s: [EXPLAIN] for s in ("ada", "ben", "cy")}
    # The dashboard made before the manual round counts them apart, not as failures.
    page = (term["root"] / "reports" / "before-manual.html").read_text()
    row = re.search(rf'<tr class="cell-row" data-cell="functions/{EXPLAIN}"[^>]*>.*?</tr>', page).group(0)
    assert 'data-failed="0" data-graded="0" data-to-grade="3"' in row and "3 to grade by hand" in row
    assert "(answer in words)" in row
    assert (f"3 submission(s) have answers in words to grade by hand ({EXPLAIN}): the formgrader's Manual "
            f"Grading page, then `cvbook feedback {A}`") in term["grade_output"]


def test_feedback_pages_carry_manual_scores_comments_and_the_penalty(term):
    students = term["students"]
    ada, ben, cy = (fetched_page(students[n]) for n in ("ada", "ben", "cy"))
    assert COMMENT in ada and "graded by hand" in ada and "1 / 2" in ada
    assert "after the due date" in ben and "25 % of its points per started day" in ben
    assert f"{0.25 * MAX:g}</span> point(s)" in ben
    assert "after the due date" not in ada
    assert "Sum the values, not count them." in cy
    for page in (ada, ben, cy):
        assert toy.HIDDEN_MARKER not in page
    assert not (students["dee"].dir / A).exists()


def test_released_feedback_is_found_by_its_student_only(term):
    root = term["root"]
    for name in ("ada", "ben", "cy"):
        folder = root / "feedback" / name / A
        assert (folder / "timestamp.txt").read_text() == (root / "submitted" / name / A / "timestamp.txt").read_text()
        assert (folder / "submission_secret.txt").is_file()
    released = list((root / "exchange" / "cvbook" / "feedback").glob("*.html"))
    assert len(released) == 3
    assert "feedback for ada" in fetched_page(term["students"]["ada"])
    assert "feedback for ben" in fetched_page(term["students"]["ben"])


def test_missing_work_is_marked_and_unreleased_work_left_out(term):
    root = term["root"]
    dash = dashboard_csv(root)
    assert dash["dee"][A] == "missing"
    assert UNRELEASED not in dash["dee"]
    assert float(dash["dee"]["max_total"]) == MAX  # the unreleased assignment adds nothing
    canvas = list(csv.reader((root / "exports" / "grades-canvas.csv").open()))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", A]
    assert canvas[1] == ["Points Possible", "", "", "", "", f"{MAX:g}"]
    dee = [row for row in canvas if row[2] == "dee"][0]
    assert dee[0] == "Dee, John" and dee[5] == ""
    moodle = {r["ID number"]: r for r in csv.DictReader((root / "exports" / "grades-moodle.csv").open())}
    assert moodle["dee"]["Email address"] == "dee@example.org"
    assert moodle["dee"][A] == "" and moodle["dee"][f"{A} feedback"].startswith("missing")
    assert moodle["ben"][f"{A} feedback"].startswith("late")
    assert UNRELEASED not in moodle["dee"]
    page = (root / "reports" / "dashboard.html").read_text()
    assert f'data-assignment="{UNRELEASED}"' not in page


def test_regrading_a_late_resubmission_changes_only_that_student(term):
    root, students = term["root"], term["students"]
    others = ("ada", "ben")
    before = {"scores": course.scores(root, A), "export": nbgrader_export(root), "dash": dashboard_csv(root),
              "pages": {s: (root / "feedback" / s / A / "functions.html").read_bytes() for s in others}}
    # cy fixes total() after the due date and submits again; the instructor regrades cy alone.
    students["cy"].answer({})
    students["cy"].tab("submit_assignment", "cvbook", A)
    nbgrader(root, "collect", "--update", A)
    assert cli.main(["grade", A, "--root", str(root), "--student", "cy", "--timeout", "120"]) == 0
    nbgrader(root, "export", "--to", "grades.csv")
    assert cli.main(["dashboard", "--root", str(root)]) == 0
    after = {"scores": course.scores(root, A), "export": nbgrader_export(root), "dash": dashboard_csv(root)}
    for s in others:
        assert after["scores"][s] == before["scores"][s]
        assert after["export"][(A, s)] == before["export"][(A, s)]
        assert after["dash"][s] == before["dash"][s]
        assert (root / "feedback" / s / A / "functions.html").read_bytes() == before["pages"][s]
    cy = after["scores"]["cy"]
    assert cy["seconds_late"] > 0 and cy["raw_score"] == toy.MAX_SCORE + 1  # the manual 1 is kept
    assert cy["comments"]["total"] == "Sum the values, not count them."
    assert cy["late_penalty"] == pytest.approx(0.25 * (toy.MAX_SCORE + 1))
    assert float(after["export"][(A, "cy")]["score"]) == pytest.approx(cy["score"])
    assert float(after["dash"]["cy"][A]) == pytest.approx(cy["score"])
    page = (root / "feedback" / "cy" / A / "functions.html").read_text()
    assert _shown_final(page) == f"{cy['score']:g}"
    report = json.loads((root / "reports" / "grade" / f"{A}.json").read_text())
    assert sorted(e["student"] for e in report["students"]) == ["ada", "ben", "cy"]


def test_a_score_changed_by_hand_after_grading_moves_the_penalty_too(term):
    """The formgrader stores a manual score without touching the late penalty: `cvbook
    feedback` recomputes it, so `nbgrader export` agrees with the page afterwards."""
    root = term["root"]
    give_score(root, "ben", EXPLAIN, 0)
    assert cli.main(["feedback", A, "--root", str(root), "--student", "ben"]) == 0
    nbgrader(root, "export", "--to", "grades.csv")
    expected = 0.75 * toy.MAX_SCORE
    assert float(nbgrader_export(root)[(A, "ben")]["score"]) == pytest.approx(expected)
    page = (root / "feedback" / "ben" / A / "functions.html").read_text()
    assert float(_shown_final(page)) == pytest.approx(expected)


def test_bad_input_is_a_clear_error(term, capsys):
    root = term["root"]
    assert cli.main(["feedback", A, "--root", str(root), "--student", "zed"]) == 2
    assert "zed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["export", "--to", "blackboard", "--root", str(root)])
    assert cli.main(["export", "--root", str(root / "nowhere")]) == 2
    assert "gradebook.db" in capsys.readouterr().err
