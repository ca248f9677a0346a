"""Autograder quality: do an assignment's tests catch plausible wrong answers?

Each wrong answer ("mutant") replaces one solution cell; the notebook's code then runs
in this process (setup, answers, test cells with their hidden tests), so hundreds of
mutants cost seconds instead of one kernel start each. The end-to-end pipeline through
nbgrader itself is tested separately on a sample of them.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from cvbook.grading.course import solution_code


@dataclass
class MutantResult:
    grade_id: str      # the solution cell that was replaced
    label: str         # what the mutant gets wrong
    failed_tests: list[str] = field(default_factory=list)  # test cells that caught it

    @property
    def killed(self) -> bool:
        return bool(self.failed_tests)


def _runnable(source: str) -> str:
    # Notebook magics and shell escapes are not Python; the checks never depend on them.
    return "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))


def run_inprocess(nb, answers: dict[str, str] | None = None) -> dict[str, bool]:
    """Run a source notebook's code with `answers` (grade_id -> code) replacing solution
    cells; return test cell grade_id -> passed. Errors in other cells do not stop the run,
    as in nbgrader's autograder."""
    answers = answers or {}
    namespace: dict = {"__name__": "__main__"}
    passed: dict[str, bool] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        source = answers.get(grade_id) if grade_id in answers else (
            solution_code(cell) if meta.get("solution") else cell.source)
        ok = True
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(_runnable(source), f"<cell {grade_id or '?'}>", "exec"), namespace)
        except BaseException:  # noqa: BLE001 - a student's cell may raise anything
            ok = False
        if meta.get("grade") and cell.cell_type == "code":
            passed[grade_id] = ok
    return passed


def kill_report(source_path: str | Path, mutants: dict[str, dict[str, str]]) -> list[MutantResult]:
    """Run every mutant of one source notebook; each result says which tests caught it."""
    nb = nbformat.read(source_path, as_version=4)
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    results = []
    for grade_id, wrong_answers in mutants.items():
        if grade_id not in ids:
            continue
        for label, code in wrong_answers.items():
            outcome = run_inprocess(nb, {grade_id: code})
            results.append(MutantResult(grade_id, label, sorted(t for t, ok in outcome.items() if not ok)))
    return results
