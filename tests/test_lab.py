"""JupyterLab in Chromium, as a student uses it: the student edition's Lab (instructor tools
off), an exercise run blank ("part N is not answered yet"), one part filled in and passing,
then nbgrader's Validate button (each message before its cell's code)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from conftest import REPO, jupyterlab_server
from cvbook.grading import edition

ANSWER = "def batch_memory(n, shape, dtype):\n    return n * shape[0] * shape[1] * shape[2] * dtype.itemsize\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a fresh student edition, with its own HOME and the edition's config."""
    out = edition.make_edition(tmp_path_factory.mktemp("lab") / "cvbook-student", REPO)
    with jupyterlab_server(out, tmp_path_factory.mktemp("home"), "--LabApp.expose_app_in_browser=True",
                           "--ServerApp.disable_check_xsrf=True", config_path=out / "jupyter") as url:
        yield url, out


def _kernel_ready(page) -> None:
    """Wait until the notebook's kernel is connected and idle (Run All before that runs nothing)."""
    page.wait_for_function("""() => {
        const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k && k.connectionStatus === 'connected' && k.status === 'idle';
    }""", timeout=180_000)


def _run_all(page) -> None:
    _kernel_ready(page)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def test_a_student_runs_an_exercise_fills_a_part_and_validates(lab, browser, tmp_path):
    url, _ = lab
    try:
        urllib.request.urlopen(f"{url}/formgrader", timeout=30)
        pytest.fail("the formgrader answers in the student edition's Lab")
    except urllib.error.HTTPError as err:
        assert err.code == 404
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)
    page.goto(f"{url}/lab/tree/exercises/01_tensors/tensors.ipynb")
    try:
        page.locator(".jp-Notebook .jp-CodeCell").first.wait_for()
    except Exception:
        page.screenshot(path=str(tmp_path / "opened.png"))
        pytest.fail(f"the notebook did not open:\n{page.inner_text('body')[:2000]}")
    _kernel_ready(page)
    assert page.locator("text=Create Assignment").count() == 0

    # Blank: Run All stops at the first failing cell, which names the part not answered yet.
    _run_all(page)
    try:
        page.locator(".jp-OutputArea-output", has_text="Part 1 (batch_memory) is not answered yet").first.wait_for()
    except Exception:
        page.screenshot(path=str(tmp_path / "blank-failed.png"), full_page=True)
        raise
    assert page.locator(".jp-OutputArea-output", has_text="NameError").count() == 0
    assert page.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0
    page.screenshot(path=str(tmp_path / "blank.png"))

    # Part 1 answered: its test cell says so in one line.
    answer_cell = page.locator(".jp-CodeCell", has_text="def batch_memory").first
    answer_cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(ANSWER)
    _run_all(page)
    passed = page.locator(".jp-OutputArea-output", has_text="✓ part 1 (batch_memory) passes all 3 of its checks")
    passed.wait_for()
    page.locator(".jp-OutputArea-output", has_text="Part 2 (nchw_to_nhwc) is not answered yet").first.wait_for()
    assert page.locator(".jp-OutputArea-output", has_text="Part 1 (batch_memory) is not").count() == 0
    page.screenshot(path=str(tmp_path / "part1.png"))

    # Validate (nbgrader's button): the unanswered parts' messages, not tracebacks.
    page.keyboard.press("Control+S")
    # Validate saves again: wait for this save to finish, or the two race ("File Changed")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    try:  # nbgrader validates by running the whole notebook on the server: slow on a busy machine
        dialog.wait_for(timeout=420_000)
    except Exception:
        page.screenshot(path=str(tmp_path / "validate-failed.png"), full_page=True)
        shown = page.locator(".jp-Dialog").all_inner_texts()
        pytest.fail(f"no Validation Results dialog; dialogs shown: {shown}; screenshot in {tmp_path}")
    text = dialog.inner_text()
    page.screenshot(path=str(tmp_path / "validate.png"))
    for number, name in ((2, "nchw_to_nhwc"), (3, "channels_last_strides"), (4, "to_tensor")):
        assert f"Part {number} ({name}) is not answered yet" in text, text
    assert "Part 1 (batch_memory)" not in text and "Traceback" not in text, text
    # each message comes before its cell's code (cvbook.grading.jupyter_extension)
    message = text.index("Part 2 (nchw_to_nhwc) is not answered yet")
    assert message < text.index("check_nchw_to_nhwc(nchw_to_nhwc"), text
    assert page.get_by_text("get notified about official Jupyter news").count() == 0  # no news prompt
