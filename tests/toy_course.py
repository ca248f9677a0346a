"""A tiny nbgrader assignment ("toy": three functions, three graded test cells with
hidden tests) in a scratch course root. The grader's own tests and the grading
benchmark use it, so they depend neither on the course's real assignments nor on
their run time."""

from __future__ import annotations

from pathlib import Path

import nbformat

from cvbook.grading import course

ASSIGNMENT = "toy"
NOTEBOOK = "functions.ipynb"
# Unique strings: the tests look for them in feedback to prove hidden tests never leak.
HIDDEN_MARKER = "hidden_probe_7919"
PUBLIC_MESSAGE = "double(2)"

_SOLUTION_META = {"grade": False, "locked": False, "schema_version": 3, "solution": True, "task": False}
_TEST_META = {"grade": True, "locked": True, "schema_version": 3, "solution": False, "task": False}
_LOCKED_META = {"grade": False, "locked": True, "schema_version": 3, "solution": False, "task": False}

CELLS = [
    ("markdown", None, "# Toy assignment\nThree small functions: $2x$, $x^2$ and $\\sum_i x_i$."),
    ("code", ("setup", 0), "import os\nimport numpy as np\nimport torch\n"
                   "from cvbook.grading.checks import check_equal, check_tensor, check_close"),
    ("code", ("double", None), "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
    ("code", ("test_double", 2), f'check_equal(double(2), 4, "{PUBLIC_MESSAGE}")\n'
                                 "### BEGIN HIDDEN TESTS\n"
                                 f'{HIDDEN_MARKER} = -7\ncheck_equal(double({HIDDEN_MARKER}), -14, "double(-7)")\n'
                                 "### END HIDDEN TESTS"),
    ("code", ("square", None), "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"),
    ("code", ("test_square", 1), 'check_tensor(square(torch.arange(3.0)), torch.tensor([0.0, 1.0, 4.0]), "square(arange(3))")\n'
                                 "### BEGIN HIDDEN TESTS\n"
                                 'assert torch.allclose(square(torch.tensor([-1.5])), torch.tensor([2.25])), "square(-1.5)"\n'
                                 "### END HIDDEN TESTS"),
    ("code", ("total", None), "def total(xs):\n    ### BEGIN SOLUTION\n    return float(np.sum(xs))\n    ### END SOLUTION"),
    ("code", ("test_total", 3), 'assert np.allclose(total([1, 2, 3]), 6.0), "total([1, 2, 3]) should be 6"\n'
                                "### BEGIN HIDDEN TESTS\n"
                                'check_close(total(np.arange(10)), 45.0, "total(arange(10))")\n'
                                "### END HIDDEN TESTS"),
]
MAX_SCORE = sum(c[1][1] for c in CELLS if c[1] and c[1][1])


def source_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    for kind, grading, text in CELLS:
        cell = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        if grading:
            grade_id, points = grading
            meta = dict(_TEST_META if points else _LOCKED_META if points == 0 else _SOLUTION_META, grade_id=grade_id)
            if points:
                meta["points"] = points
            cell.metadata["nbgrader"] = meta
        nb.cells.append(cell)
    return nb


def make_course(root: Path | str) -> Path:
    """A course root with solutions/toy/, released to exercises/toy/, gradebook created."""
    root = Path(root)
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    nbformat.write(source_notebook(), root / "solutions" / ASSIGNMENT / NOTEBOOK)
    course.release(root, [ASSIGNMENT])
    return root


def submit(root: Path | str, student: str, answers: dict[str, str] | None = None,
           fill_solutions: bool = True) -> Path:
    """Write submitted/<student>/toy/functions.ipynb: the solution, blank, or `answers`."""
    root = Path(root)
    source = nbformat.read(root / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    released = nbformat.read(root / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    nb = course.make_submission(released, source, answers, fill_solutions=fill_solutions)
    return course.write_submission(root, student, ASSIGNMENT, NOTEBOOK, nb)
