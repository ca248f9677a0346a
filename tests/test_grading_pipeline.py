"""The grading pipeline end to end, as an instructor runs it: release every assignment from
solutions/, submit the solution, a blank notebook and plausible wrong answers, grade them
with `cvbook grade` (nbgrader's autograde, in the sandbox), and read the scores from the
gradebook. The solution is graded with no problem reported: nothing the notebook's own
cells do (importing torch, torchvision, numpy) is mistaken for a cheat."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from cvbook.grading import course, grade

ASSIGNMENTS = course.assignments(REPO)
pytestmark = pytest.mark.slow


def _mutants(assignment: str) -> dict[str, dict[str, str]]:
    try:
        return importlib.import_module(f"mutants.{assignment.lstrip('0123456789_')}").MUTANTS
    except ModuleNotFoundError:
        return {}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Release one assignment in a scratch course, submit and autograde everyone."""
    name = request.param
    root = course.copy_course(tmp_path_factory.mktemp(name), REPO)
    course.release(root, [name])
    students = {"solution": {}, "blank": None}
    # One wrong answer per graded part goes through nbgrader itself (all of them run
    # in-process in test_autograder_quality.py, where a kernel start each would be too slow).
    for grade_id, wrong_answers in _mutants(name).items():
        label, code = next(iter(wrong_answers.items()))
        students[f"mutant-{grade_id}-{label}"] = {grade_id: code}
    for nb_path in sorted((root / "solutions" / name).glob("*.ipynb")):
        source = nbformat.read(nb_path, as_version=4)
        released = nbformat.read(root / "exercises" / name / nb_path.name, as_version=4)
        for student, answers in students.items():
            relevant = {k: v for k, v in (answers or {}).items()
                        if k in {c.metadata.get("nbgrader", {}).get("grade_id") for c in source.cells}}
            sub = course.make_submission(released, source, relevant, fill_solutions=answers is not None)
            course.write_submission(root, student, name, nb_path.name, sub)
    results = {r.student: r for r in grade.grade_assignment(name, root, jobs=2, timeout=300)}
    for student, result in results.items():
        assert result.status != grade.NEEDS_REGRADE, f"the grader failed on {student}:\n{result.log}"
    return name, root, course.scores(root, name), results


def written_answers(root: Path, name: str) -> set[str]:
    """The questions answered in words: markdown answer cells that carry points."""
    return {c.metadata["nbgrader"]["grade_id"] for nb_path in (root / "solutions" / name).glob("*.ipynb")
            for c in nbformat.read(nb_path, as_version=4).cells
            if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")}


def test_solution_gets_full_marks(graded):
    """Every automatic point; an answer in words awaits the instructor (nbgrader gives it no
    automatic score), and the grader says so."""
    name, root, scores, results = graded
    sol, written = scores["solution"], written_answers(root, name)
    lost = {cell: s for cell, s in sol["cells"].items() if cell not in written and s[0] != s[1]}
    assert sol["max_score"] > 0 and not lost, f"{name}: the solution lost points in {lost}"
    assert {cell for cell, waits in sol["manual"].items() if waits} == written
    assert results["solution"].by_hand == sorted(written)
    assert results["solution"].status == "graded", f"{name}: {results['solution'].problems}"
    assert not results["solution"].copies


def test_a_course_has_a_question_graded_by_hand():
    """At least one assignment asks for an answer in words (exercise 8's part 4)."""
    assert written_answers(REPO, "08_evaluation") == {"calibration_answer"}


def test_assignment_has_three_graded_parts(graded):
    name, _, scores, _ = graded
    assert len(scores["solution"]["cells"]) >= 3, f"{name} has fewer than three graded parts"


def test_blank_submission_gets_zero(graded):
    name, _, scores, _ = graded
    assert scores["blank"]["score"] == 0, f"{name}: an unanswered notebook scored {scores['blank']}"
    assert not any(scores["blank"]["manual"].values()), "an answer left as released needs no reading"


def test_wrong_answers_lose_points_through_nbgrader(graded):
    """Counted on the automatic points only: an answer in words scores nothing until it is
    read, so it would make every mutant look caught."""
    name, root, scores, _ = graded
    written = written_answers(root, name)
    mutants = {s: v for s, v in scores.items() if s.startswith("mutant-")}
    survivors = sorted(s for s, v in mutants.items()
                       if all(got == most for cell, (got, most) in v["cells"].items() if cell not in written))
    assert mutants, f"{name}: tests/mutants has no wrong answers for this assignment"
    assert not survivors, f"{name}: wrong answers that still got full marks: {survivors}"


def _normalised(nb_path: Path) -> dict:
    return json.loads(nb_path.read_text())


def test_exercises_match_what_release_generates(graded, repo):
    name, root, _, _ = graded
    generated = sorted(p.relative_to(root / "exercises") for p in (root / "exercises" / name).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(repo / "exercises") for p in (repo / "exercises" / name).rglob("*") if p.is_file())
    assert committed == generated, f"exercises/{name} differs from solutions/{name}: run `make release`"
    for rel in generated:
        a, b = root / "exercises" / rel, repo / "exercises" / rel
        same = _normalised(a) == _normalised(b) if rel.suffix == ".ipynb" else a.read_bytes() == b.read_bytes()
        assert same, f"exercises/{rel} is out of date: run `make release` and commit the result"


def test_released_notebooks_hide_solutions_and_hidden_tests(graded):
    name, root, _, _ = graded
    for nb_path in (root / "exercises" / name).glob("*.ipynb"):
        text = nb_path.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
            assert marker not in text, f"exercises/{name}/{nb_path.name} still contains {marker}"


def test_nbgrader_validate_passes_the_solution_and_reports_each_unanswered_part(tmp_path, repo):
    """A student's "Validate" button (nbgrader's Validator) runs the public tests in their own
    kernel, with the real library: the solution validates, a blank notebook fails each part."""
    import shutil

    from nbgrader.validator import Validator

    for kind in ("solutions", "exercises"):
        shutil.copy(repo / kind / "10_compression" / "compression.ipynb", tmp_path / f"{kind}.ipynb")
    assert not Validator().validate(str(tmp_path / "solutions.ipynb")).get("failed")
    failed = Validator().validate(str(tmp_path / "exercises.ipynb")).get("failed", [])
    assert len(failed) == 6, failed
    # The message first and alone: which part is not answered yet, no traceback, no NameError.
    errors = [re.sub(r"\x1b\[[0-9;]*m", "", f["raw_error"]) for f in failed]
    assert [e.split(" is not answered yet")[0] for e in errors] == [
        f"Part {n} ({name})" for n, name in enumerate(("choose_qparams", "quantize", "dequantize",
                                                        "magnitude_mask", "model_sparsity", "int8_size_bytes"), 1)]

    # What the student edition's Lab sends the Validate dialog: each message first, in the slot
    # the dialog shows before the other, and the cell's code after it, escaped for its HTML slot.
    from cvbook.grading.jupyter_extension import message_first

    shown = message_first({"success": True, "value": {"failed": failed}})["value"]["failed"]
    assert [" ".join(cell["source"].split()) for cell in shown] == [" ".join(e.split()) for e in errors]
    assert all(len(line) <= 88 for cell in shown for line in cell["source"].splitlines())
    assert all(cell["error"].startswith("The cell:\n\n") for cell in shown)
    assert "check_quantize(quantize" in shown[1]["error"]
    assert message_first({"success": False, "value": "a traceback"}) == {"success": False, "value": "a traceback"}
