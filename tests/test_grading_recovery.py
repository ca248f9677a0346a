"""A grade is never lost to the grader's own failure. When the grader (not the notebook)
fails on a submission, it is graded once more; the report keeps both tracebacks; if the
second attempt fails too the student is marked "needs-regrade", nothing is recorded (never
a silent zero), and regrading that student alone leaves every other student's entry as it was."""

from __future__ import annotations

import json
import os

import pytest

from cvbook import cli
from cvbook.grading import course, dashboard, grade
import toy_course as toy

pytestmark = pytest.mark.slow

FAULT = "simulated grader fault 4417"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = toy.make_course(tmp_path_factory.mktemp("recovery") / "course")
    for student in ("steady", "flaky", "broken"):
        toy.submit(root, student)
    return root


def failing_worker(monkeypatch, tmp_path, fails: dict[str, int]):
    """Make the grader's worker raise for the named students, the given number of times.
    Workers are forked from this process, so they run the patched function; the count of
    failures so far is kept in files, since each attempt runs in another process."""
    real = grade.run_worker

    def run_worker(spec):
        marker = tmp_path / f"attempts-{spec['student']}"
        done = len(marker.read_text()) if marker.exists() else 0
        marker.write_text("x" * (done + 1))
        if done < fails.get(spec["student"], 0):
            raise RuntimeError(f"{FAULT} (attempt {done + 1})")
        return real(spec)

    monkeypatch.setattr(grade, "run_worker", run_worker)


def test_a_grader_failure_is_retried_and_a_second_one_needs_regrade(root, monkeypatch, tmp_path, capsys):
    failing_worker(monkeypatch, tmp_path, {"flaky": 1, "broken": 2})
    code = cli.main(["grade", toy.ASSIGNMENT, "--root", str(root), "--jobs", "2", "--timeout", "60"])
    out = capsys.readouterr().out
    assert code == 1, out  # something needs the instructor's attention
    report = json.loads(grade.report_path(root, toy.ASSIGNMENT).read_text())
    by = {e["student"]: e for e in report["students"]}

    assert by["steady"]["status"] == "graded" and by["steady"]["score"] == toy.MAX_SCORE
    # Failed once, then graded in full: the instructor is told, and the first traceback is kept.
    assert by["flaky"]["score"] == toy.MAX_SCORE
    assert by["flaky"]["status"] == "graded-with-problems"
    assert any("second attempt" in p for p in by["flaky"]["problems"])
    assert f"{FAULT} (attempt 1)" in by["flaky"]["log"] and "Traceback" in by["flaky"]["log"]
    # Failed twice: no score, nothing in the gradebook, no feedback page, a clear next step.
    broken = by["broken"]
    assert broken["status"] == grade.NEEDS_REGRADE and broken["score"] is None
    assert f"{FAULT} (attempt 1)" in broken["log"] and f"{FAULT} (attempt 2)" in broken["log"]
    assert f"cvbook grade {toy.ASSIGNMENT} --student broken" in broken["problems"][0]
    assert "broken" not in course.scores(root, toy.ASSIGNMENT)
    assert not (root / "feedback" / "broken").exists()
    assert "needs-regrade" in out and "--student broken" in out
    flags = dashboard.dashboard_data(root)["problems"][toy.ASSIGNMENT]
    assert any("the grader failed twice" in f for f in flags["broken"])
    # The limits the run graded under are stated, per cell below the notebook's.
    assert report["limits"]["cell_s"] == min(60, grade.DEFAULT_CELL_TIMEOUT_S)
    assert report["limits"]["sandbox"] == "bubblewrap"
    assert f"{report['limits']['cell_s']:g} s per cell" in out


def test_regrading_one_student_keeps_everyone_else(root):
    before = json.loads(grade.report_path(root, toy.ASSIGNMENT).read_text())["students"]
    results = grade.grade_assignment(toy.ASSIGNMENT, root, jobs=1, timeout=60, students=["broken"])
    assert [(r.student, r.status, r.score) for r in results] == [("broken", "graded", toy.MAX_SCORE)]
    after = {e["student"]: e for e in json.loads(grade.report_path(root, toy.ASSIGNMENT).read_text())["students"]}
    assert sorted(after) == ["broken", "flaky", "steady"]
    for entry in before:
        if entry["student"] != "broken":
            assert after[entry["student"]] == entry
    assert course.scores(root, toy.ASSIGNMENT)["broken"]["score"] == toy.MAX_SCORE


def test_the_report_is_written_atomically_and_survives_a_damaged_copy(root):
    path = grade.report_path(root, toy.ASSIGNMENT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{ not json")  # e.g. a disk that filled up under an older version
    grade.write_report(root, toy.ASSIGNMENT, [grade.StudentResult("steady", "graded", 6, 6)])
    assert [e["student"] for e in json.loads(path.read_text())["students"]] == ["steady"]
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]
