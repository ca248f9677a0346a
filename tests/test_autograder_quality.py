"""Every graded part of every assignment catches plausible wrong answers (tests/mutants/),
the instructor solution passes every test, and the kill rate per assignment is printed."""

from __future__ import annotations

import importlib

import nbformat
import pytest

from conftest import REPO
from cvbook.grading import course, quality

ASSIGNMENTS = course.assignments(REPO)


def mutants_for(assignment: str) -> dict[str, dict[str, str]]:
    return importlib.import_module(f"mutants.{assignment.lstrip('0123456789_')}").MUTANTS


def solution_cells(nb_path) -> list[str]:
    nb = nbformat.read(nb_path, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_test_in_process(assignment, repo):
    for nb_path in sorted((repo / "solutions" / assignment).glob("*.ipynb")):
        outcome = quality.run_inprocess(nbformat.read(nb_path, as_version=4))
        assert outcome and all(outcome.values()), f"{nb_path.name}: failing tests {outcome}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_part_has_wrong_answers_and_catches_them(assignment, repo, record_property):
    mutants = mutants_for(assignment)
    results = []
    for nb_path in sorted((repo / "solutions" / assignment).glob("*.ipynb")):
        missing = [g for g in solution_cells(nb_path) if len(mutants.get(g, {})) < 2]
        assert not missing, f"{assignment}: fewer than two plausible wrong answers for {missing}"
        results += quality.kill_report(nb_path, mutants)
    survivors = [f"{r.grade_id}:{r.label}" for r in results if not r.killed]
    per_part: dict[str, list[int]] = {}
    for r in results:
        caught_and_total = per_part.setdefault(r.grade_id, [0, 0])
        caught_and_total[0] += int(r.killed)
        caught_and_total[1] += 1
    record_property("kill_rates", {"assignment": assignment, "parts": per_part})  # printed by conftest
    assert not survivors, f"{assignment}: wrong answers no test catches: {survivors}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_right_answers_written_differently_keep_every_point(assignment, repo):
    """CORRECT in each mutants module: right answers that differ from the solution's way."""
    correct = getattr(importlib.import_module(f"mutants.{assignment.lstrip('0123456789_')}"), "CORRECT", {})
    for nb_path in sorted((repo / "solutions" / assignment).glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        for grade_id, answers in correct.items():
            for label, code in answers.items() if grade_id in ids else ():
                failed = [t for t, ok in quality.run_inprocess(nb, {grade_id: code}).items() if not ok]
                assert not failed, f"{assignment}: the right answer {grade_id}:{label} fails {failed}"


def test_the_checker_notices_a_mutant_that_survives(repo):
    """The quality check itself can fail: a 'mutant' equal to the solution survives."""
    nb_path = sorted((repo / "solutions" / ASSIGNMENTS[0]).glob("*.ipynb"))[0]
    nb = nbformat.read(nb_path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    result = quality.kill_report(nb_path, {cell.metadata.nbgrader.grade_id: {"same": course.solution_code(cell)}})
    assert result and not result[0].killed
