"""The path through the course: the intro's table lists every chapter in reading order with
its exercise, each chapter opens with objectives and closes with a summary, and every
glossary link points at a defined term. Fast: reads the sources, builds nothing."""

import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "book" / "_ext"))
from course_path import graded_parts, reading_minutes  # noqa: E402

CHAPTER = re.compile(r"book/\d\d\w*$")


def toc_chapters() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f for f in files if CHAPTER.match(f)]


def intro_table() -> list[tuple[str, str | None]]:
    intro = (REPO / "book" / "intro.md").read_text()
    body = re.search(r"```\{chapter-times\}\n(.*?)```", intro, re.S).group(1)
    rows = []
    for line in body.splitlines():
        doc, _, exercise = (p.strip() for p in line.partition("->"))
        rows.append((doc, exercise or None))
    return rows


def test_intro_lists_every_chapter_in_reading_order():
    assert [doc for doc, _ in intro_table()] == toc_chapters()


def test_every_exercise_in_the_intro_exists_and_has_graded_parts():
    exercises = [ex for _, ex in intro_table() if ex]
    assert exercises, "the intro names no exercise"
    for exercise in exercises:
        parts, points = graded_parts(REPO / exercise)
        assert parts >= 3 and points > 0, f"{exercise}: {parts} graded parts, {points} points"


def test_every_exercise_folder_is_in_the_intro():
    listed = {ex for _, ex in intro_table() if ex}
    on_disk = {str(p.relative_to(REPO)) for p in (REPO / "exercises").glob("*/*.ipynb")}
    assert on_disk == listed


def test_every_chapter_links_its_exercise_before_its_quiz():
    for doc, exercise in intro_table():
        if exercise:
            text = (REPO / f"{doc}.md").read_text().split("\n## Self-check\n")[0]
            folder = str(Path(exercise).parent)
            assert f"`{exercise}`" in text or f"`{folder}`" in text, f"{doc} does not link {exercise}"


def test_exercise_folders_are_numbered_like_their_chapters():
    for doc, exercise in intro_table():
        if exercise:
            assert Path(exercise).parent.name[:2] == Path(doc).name[:2], f"{exercise} belongs to {doc}"


def test_reading_time_counts_prose_not_code(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("word " * 400 + "\n```{code-cell} ipython3\n" + "x = 1\n" * 5000 + "```\n")
    assert reading_minutes(page) == 2


@pytest.mark.parametrize("chapter", toc_chapters())
def test_chapter_opens_with_objectives_and_closes_with_a_summary(chapter):
    text = (REPO / f"{chapter}.md").read_text()
    assert "By the end of this chapter you will be able to" in text[:6000] or \
        "By the end of it you will be able to" in text[:6000], f"{chapter}: no learning objectives"
    assert re.search(r"^## Summary\b", text, re.M), f"{chapter}: no summary"


def test_every_glossary_link_names_a_defined_term():
    glossary = (REPO / "book" / "glossary.md").read_text()
    block = re.search(r"```\{glossary\}\n(.*?)```", glossary, re.S).group(1)
    terms = {line.strip().lower() for line in block.splitlines() if line and not line[0].isspace()}
    for page in (REPO / "book").glob("*.md"):
        for m in re.finditer(r"\{term\}`([^`]+)`", page.read_text()):
            target = re.sub(r".*<(.+)>$", r"\1", m.group(1)).strip().lower()
            assert target in terms, f"{page.name}: {{term}} link to undefined term {target!r}"


@pytest.mark.parametrize("chapter", toc_chapters())
def test_saving_a_chapter_in_jupyterlab_changes_nothing(chapter):
    """JupyterLab opens the chapters through jupytext and writes them back on every autosave:
    they are kept in jupytext's own form, so opening one leaves no diff."""
    import jupytext

    path = REPO / f"{chapter}.md"
    text = path.read_text()
    assert jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst") == text, \
        f"{chapter}: jupytext rewrites it (run `jupytext --to md:myst {chapter}.md` once)"
