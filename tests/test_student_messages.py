"""What a student sees in their own kernel when test cells run: one line per passing test
cell, "part N is not answered yet" for a blank part, a failed check's message without the
library's frames, and only the student's own lines when their code raises."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from conftest import REPO
from cvbook.grading import course, student

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _part_headers(nb) -> dict[str, int]:
    """name of the student's function or class -> the part number of the heading above its test."""
    number, out = None, {}
    for cell in nb.cells:
        heading = re.match(r"## (\d+)\.", cell.source)
        if cell.cell_type == "markdown" and heading:
            number = int(heading.group(1))
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code":
            for name in re.findall(r"check_\w+\((\w+)", cell.source):
                out[name] = number
    return out


@pytest.mark.parametrize("assignment", course.assignments(REPO))
def test_part_numbers_follow_the_notebooks(assignment):
    module = assignment.lstrip("0123456789_")
    for path in (REPO / "exercises" / assignment).glob("*.ipynb"):
        assert _part_headers(nbformat.read(path, as_version=4)) == student.parts(module)


def _outputs(nb, grade_id: str) -> str:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    text = []
    for out in cell.outputs:
        if out.output_type == "stream":
            text.append(out.text)
        elif out.output_type == "error":
            text.append(f"[error {out.ename}]\n" + "\n".join(out.traceback))
    return ANSI.sub("", "".join(text))


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """10_compression's first three parts in a kernel: part 1 answered, part 2 wrong, part 3
    raising in the student's own code; the rest of the notebook is left out (speed)."""
    from nbclient import NotebookClient

    released = nbformat.read(REPO / "exercises/10_compression/compression.ipynb", as_version=4)
    source = nbformat.read(REPO / "solutions/10_compression/compression.ipynb", as_version=4)
    answers = {
        "choose_qparams": course.solution_code(
            next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "choose_qparams")),
        "quantize": "def quantize(x, scale, zero_point):\n    return torch.round(x / scale).to(torch.int8)\n",
        "dequantize": "def dequantize(q, scale, zero_point):\n    return helper(q)\n\ndef helper(q):\n"
                      "    return q.float() / undefined_scale\n",
    }
    nb = course.make_submission(released, source, answers, fill_solutions=False)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells = nb.cells[:ids.index("test_dequantize") + 1]
    cwd = tmp_path_factory.mktemp("kernel")
    NotebookClient(nb, allow_errors=True, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_a_passing_test_cell_says_so_in_one_line(ran):
    out = _outputs(ran, "test_choose_qparams")
    assert out.strip().splitlines() == ["✓ part 1 (choose_qparams) passes all 2 of its checks (grading runs more cases)."]


def test_a_failed_check_shows_its_message_and_no_library_frames(ran):
    out = _outputs(ran, "test_quantize")
    assert out.startswith("[error CheckFailed]\nPart 2 (quantize) failed: quantize("), out
    assert "cvbook/" not in out and "site-packages" not in out and "Traceback" not in out, out
    assert len(out.splitlines()) == 2, out


def test_an_error_in_the_students_code_is_named_with_its_case_and_no_library_frames(ran):
    out = _outputs(ran, "test_dequantize")
    assert out.startswith("[error CheckFailed]\nPart 3 (dequantize) failed: dequantize(q of shape"), out
    assert "raised NameError" in out and "undefined_scale" in out, out
    assert "cvbook/" not in out and "site-packages" not in out and "Traceback" not in out, out


def test_an_unanswered_part_says_so_where_it_is_used(tmp_path):
    """A blank notebook: each test cell names its part; nothing else is printed."""
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "exercises/01_tensors/tensors.ipynb", as_version=4)
    NotebookClient(nb, allow_errors=True, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for number, name in enumerate(("batch_memory", "nchw_to_nhwc", "channels_last_strides", "to_tensor"), 1):
        out = _outputs(nb, f"test_{name}")
        assert out.startswith(f"[error NotImplementedError]\nPart {number} ({name}) is not answered yet"), out
        assert len(out.splitlines()) == 2, out
    assert "NameError" not in json.dumps(nb)
