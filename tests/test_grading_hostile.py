"""Hostile and broken submissions, graded in one `cvbook grade` run of the toy assignment.

For each: the student gets the score their code earns (worked out below from what each
test cell checks), the grader moves on, the honest student's result is untouched, the
course's files are unchanged, and the report tells the instructor what happened."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from cvbook.grading import grade, sandbox, toy

pytestmark = pytest.mark.slow

RIGHT = {"double": 2, "square": 1, "total": 3}  # points of each part's test cell
WRONG_DOUBLE = "def double(x):\n    return 3 * x"
WRONG_SQUARE = "def square(x):\n    return x + x"  # same shape and dtype: only the values differ
WRONG_TOTAL = "def total(xs):\n    return 0.0"

# student -> (answers per solution cell, the parts whose tests must pass)
HOSTILE = {
    "honest": ({}, {"double", "square", "total"}),
    "infinite_loop": ({"double": "while True:\n    pass\ndef double(x):\n    return 2 * x"}, {"square", "total"}),
    "loop_in_function": ({"square": "def square(x):\n    while True:\n        pass"}, {"double", "total"}),
    "ignores_interrupt": ({"total": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"},
                          {"double", "square"}),
    "os_exit": ({"square": "import os\nos._exit(3)"}, {"double"}),
    "segfault": ({"total": "import ctypes\nctypes.string_at(0)"}, {"double", "square"}),
    "memory_hog": ({"square": "def square(x):\n    hog = bytearray(8 << 30)\n    return x * x"}, {"double", "total"}),
    "prints_fake_pass": ({"double": WRONG_DOUBLE + "\nprint('All tests passed! 6/6')",
                          "square": WRONG_SQUARE + "\nprint('test_square passed')"}, {"total"}),
    "monkeypatches": ({
        "double": WRONG_DOUBLE + "\nimport cvbook.grading.checks as c\nc.check_equal = lambda *a, **k: None\n"
                                 "check_equal = lambda *a, **k: None",
        "square": WRONG_SQUARE + "\nimport torch\ntorch.allclose = lambda *a, **k: True\n"
                                 "check_tensor = lambda *a, **k: None",
        "total": WRONG_TOTAL + "\nimport numpy, sys, types\nnumpy.allclose = lambda *a, **k: True\n"
                               "sys.modules['cvbook.grading.checks'] = types.SimpleNamespace(check_close=lambda *a, **k: None)\n"
                               "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"}, set()),
    "input_transformer": ({"double": WRONG_DOUBLE + "\nget_ipython().input_transformers_cleanup.append("
                                                    "lambda lines: ['pass\\n'])"}, {"square", "total"}),
}


def _hash_tree(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("solutions", "exercises", "submitted") for p in sorted((root / sub).rglob("*")) if p.is_file()}


def _edit(path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = toy.make_course(tmp_path_factory.mktemp("hostile"))
    for student, (answers, _) in HOSTILE.items():
        toy.submit(root, student, answers or None)
    # Reads hidden tests (gradebook, source notebook, its own restored notebook) and writes
    # outside its folder (gradebook, solutions, another student's submission, the course root, /).
    snoop_code = (
        "import glob, os\nfound, written = [], []\n"
        f"for p in [{str(root / 'gradebook.db')!r}, {str(root / 'solutions' / 'toy' / 'functions.ipynb')!r},"
        f" {str(root / 'autograded')!r}, '../functions.ipynb', 'functions.ipynb']"
        " + glob.glob('/tmp/**/*.db', recursive=True) + glob.glob('/tmp/**/*.ipynb', recursive=True):\n"
        "    try:\n        found.append(open(p, errors='ignore').read())\n    except OSError:\n        pass\n"
        f"print('LEAKED' if any({toy.HIDDEN_MARKER!r} in t for t in found) else 'nothing found')\n"
        f"for p in [{str(root / 'gradebook.db')!r}, {str(root / 'solutions' / 'toy' / 'functions.ipynb')!r},"
        f" {str(root / 'submitted' / 'honest' / 'toy' / 'functions.ipynb')!r}, {str(root / 'evil.txt')!r},"
        " '../../evil.txt', '/evil.txt']:\n"
        "    try:\n        open(p, 'w').write('overwritten')\n        written.append(p)\n    except OSError:\n        pass\n"
        "print('wrote', written)\n"
        "def double(x):\n    return 2 * x")
    toy.submit(root, "snoops", {"double": snoop_code})
    # Deleted and edited test cells: nbgrader restores both (OverwriteCells, add_missing_cells).
    path = toy.submit(root, "edits_tests", {"square": WRONG_SQUARE})

    def edit_tests(nb):
        nb.cells = [c for c in nb.cells if _grade_id(c) != "test_double"]
        for c in nb.cells:
            if _grade_id(c) == "test_square":
                c.source = "pass"
    _edit(path, edit_tests)
    # Duplicated cells: the copies must not earn points twice.
    path = toy.submit(root, "duplicates_cells")

    def duplicate(nb):
        i = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == "test_double")
        nb.cells[i + 1:i + 1] = [nbformat.from_dict(json.loads(json.dumps(nb.cells[i]))) for _ in range(2)]
    _edit(path, duplicate)
    # Invalid notebook JSON.
    (root / "submitted" / "invalid_json").mkdir()
    (root / "submitted" / "invalid_json" / "toy").mkdir()
    (root / "submitted" / "invalid_json" / "toy" / toy.NOTEBOOK).write_text('{"cells": [ not json')
    before = _hash_tree(root)
    gradebook_before = (root / "gradebook.db").stat().st_ino
    results = grade.grade_assignment(toy.ASSIGNMENT, root, jobs=2, timeout=40, cell_timeout=5, memory_mb=1500)
    return root, {r.student: r for r in results}, before, gradebook_before


def _expected(parts: set[str]) -> float:
    return float(sum(RIGHT[p] for p in parts))


@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_each_student_gets_the_score_their_code_earns(graded, student):
    _, results, _, _ = graded
    r = results[student]
    assert r.status != "failed", f"{student}: {r.problems}"
    assert r.max_score == toy.MAX_SCORE
    assert r.score == _expected(HOSTILE[student][1]), f"{student}: {r.score} ({r.problems}, {r.tampering})"


def test_stopped_notebooks_are_reported_to_the_instructor(graded):
    _, results, _, _ = graded
    for student, words in {"infinite_loop": "time limit", "loop_in_function": "time limit",
                           "ignores_interrupt": "interrupt", "os_exit": "kernel died", "segfault": "kernel died"}.items():
        assert any(words in p for p in results[student].problems), f"{student}: {results[student].problems}"
    assert results["honest"].status == "graded" and not results["honest"].problems


def test_tampering_is_undone_and_reported(graded):
    _, results, _, _ = graded
    restored = " ".join(results["monkeypatches"].tampering)
    for name in ("cvbook.grading.checks.check_equal", "torch.allclose", "numpy.allclose",
                 "sys.modules['cvbook.grading.checks']", "shell.set_custom_exc", "notebook name check_tensor"):
        assert name in restored, f"{name} was not restored: {restored}"
    assert "input_transformers_cleanup" in " ".join(results["input_transformer"].tampering)
    assert not results["honest"].tampering


def test_hidden_tests_cannot_be_read_and_nothing_outside_is_written(graded):
    root, results, before, gradebook_before = graded
    if not sandbox.namespaces_available():
        pytest.skip("this machine gives no mount namespaces: the kernel is not isolated")
    assert results["snoops"].isolation == "mount-namespace"
    assert results["snoops"].score == toy.MAX_SCORE  # trying did not cost or earn anything
    nb = nbformat.read(root / "autograded" / "snoops" / "toy" / toy.NOTEBOOK, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if _grade_id(c) == "double" for o in c.outputs)
    assert "nothing found" in printed and "LEAKED" not in printed
    assert "wrote []" in printed
    assert _hash_tree(root) == before
    assert not (root / "evil.txt").exists() and not Path("/evil.txt").exists()
    assert (root / "gradebook.db").stat().st_ino == gradebook_before


def test_structural_damage_is_repaired_or_reported(graded):
    root, results, _, _ = graded
    # test_double was deleted and test_square emptied: both restored, so the wrong square loses its point
    assert results["edits_tests"].score == RIGHT["double"] + RIGHT["total"]
    assert results["duplicates_cells"].score == toy.MAX_SCORE  # the copies earned nothing extra
    assert any("not a valid notebook" in p for p in results["invalid_json"].problems)
    assert results["invalid_json"].score == 0
