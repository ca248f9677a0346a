"""A quiz in JupyterLab, as a student meets it: a real JupyterLab server on this machine, a
notebook whose cell shows a chapter's quiz, run in headless Chromium with every request off
this machine blocked; every question answers a wrong and a right answer with its explanation."""

from __future__ import annotations


import nbformat
import pytest
from conftest import jupyterlab_server
from test_book import answer_quizzes

pytestmark = pytest.mark.slow


@pytest.fixture
def jupyterlab(repo, tmp_path):
    """JupyterLab serving a folder with one notebook that shows the compression quiz."""
    nb = nbformat.v4.new_notebook()
    quiz = repo / "book" / "quizzes" / "10_compression.py"
    nb.cells = [nbformat.v4.new_code_cell(f"from cvbook.quiz import show_quiz\nshow_quiz({str(quiz)!r})")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "quiz.ipynb")
    with jupyterlab_server(tmp_path, tmp_path / "home") as url:
        yield url, quiz


def test_a_quiz_answers_in_jupyterlab_offline(jupyterlab, browser):
    from cvbook.quiz import LEVELS, load_questions

    base, quiz = jupyterlab
    local = (base, base.replace("http:", "ws:"), "data:", "blob:")
    blocked = []
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(local)
                   else (blocked.append(route.request.url), route.abort()))
        page.goto(f"{base}/lab/tree/quiz.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=120_000)
        page.wait_for_selector("#jp-main-statusbar :text('Idle')", timeout=120_000)   # the kernel is up
        page.click(".jp-Notebook .jp-Cell .jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".jp-OutputArea .Quiz", timeout=120_000)
        levels, problems = answer_quizzes(page)
    finally:
        page.close()
    assert len(levels) == len(load_questions(quiz)), levels
    assert set(levels) == set(LEVELS)
    assert not problems, "\n".join(problems)
    assert not blocked, f"JupyterLab's quiz reached off this machine: {blocked}"
