"""The student edition (`cvbook edition`, `make student-edition`): exercises, the library and
the book's sources; no solution, no hidden test, no gradebook; nbgrader's instructor tools off."""

from __future__ import annotations

import json
import re
import tarfile

import pytest

from conftest import REPO
from cvbook.grading import edition


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "cvbook-student"
    return edition.make_edition(out, REPO, archive=True), out


def test_the_edition_holds_what_students_need(made):
    _, out = made
    for name in ("README.md", "BENCHMARKS.md", "lib/pyproject.toml", "lib/cvbook/grading/checks.py", "book/01_tensors.md",
                 "_toc.yml", "exercises/01_tensors/tensors.ipynb", "exercises/10_compression/compression.ipynb"):
        assert (out / name).is_file(), name
    released = sorted(p.relative_to(REPO / "exercises") for p in (REPO / "exercises").rglob("*.ipynb"))
    assert sorted(p.relative_to(out / "exercises") for p in (out / "exercises").rglob("*.ipynb")) == released


def test_the_edition_holds_no_solution_no_hidden_test_no_gradebook(made):
    archive, out = made
    names = [m.name for m in tarfile.open(archive).getmembers()]
    assert names and all(n.startswith("cvbook-student") for n in names)
    for n in names:
        parts = set(n.split("/"))
        assert not parts & {"solutions", "gradebook.db", "submitted", "autograded", "feedback", "tests",
                            "nbgrader_config.py", "__pycache__"}, n
    for nb in out.rglob("*.ipynb"):
        text = nb.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{nb}: {marker}"
    # Each released solution cell is a stub, and the instructor's answers appear nowhere.
    import nbformat
    for source_path in (REPO / "solutions").rglob("*.ipynb"):
        source = nbformat.read(source_path, as_version=4)
        shipped = (out / "exercises" / source_path.relative_to(REPO / "solutions")).read_text()
        for cell in source.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                inside = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
                answer = [line for block in inside for line in block.splitlines() if len(line.strip()) > 30]
                assert not any(json.dumps(line)[1:-1] in shipped for line in answer), meta["grade_id"]


def test_the_instructor_tools_are_off(made):
    _, out = made
    server = json.loads((out / "jupyter/jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"nbgrader.server_extensions.formgrader": False,
                                                          "nbgrader.server_extensions.course_list": False,
                                                          "cvbook.grading.jupyter_extension": True}
    lab = json.loads((out / "jupyter/labconfig/page_config.json").read_text())
    assert set(lab["disabledExtensions"]) == {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                                              "@jupyter/nbgrader:course-list",
                                              "@jupyterlab/apputils-extension:announcements"}
    assert server["LabApp"]["news_url"] is None  # no request for JupyterLab's news feed


def test_validate_shows_the_message_before_the_code():
    """What the edition's Validate dialog receives: the plain message where the dialog shows
    text first, the code (escaped: that slot is HTML) after it; other replies untouched."""
    from cvbook.grading.jupyter_extension import message_first

    reply = {"success": True, "value": {"failed": [
        {"source": "assert a < b", "error": "<span class=ansi-red>Part 2 (quantize) failed: 1 &lt; 2</span>",
         "raw_error": "\x1b[31mPart 2 (quantize) failed: 1 < 2\x1b[0m"},
        {"source": "check(f)", "error": "<span>You did not provide a response.</span>"}]}}
    shown = message_first(reply)["value"]["failed"]
    assert shown[0]["source"] == "Part 2 (quantize) failed: 1 < 2"
    assert shown[0]["error"] == "The cell:\n\nassert a &lt; b"
    assert shown[1]["source"] == "You did not provide a response."
    for other in ({"success": True, "value": {"passed": [{"source": "x"}]}}, {"success": False, "value": "boom"}):
        assert message_first(other) == other


def test_the_edition_is_never_written_over_the_course(tmp_path):
    with pytest.raises(ValueError):
        edition.make_edition(REPO / "exercises", REPO)
    with pytest.raises(ValueError):
        edition.make_edition(REPO, REPO)
