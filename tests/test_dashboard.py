"""`cvbook dashboard`: one offline HTML page whose numbers are the gradebook's, checked
in real headless Chromium (and a screenshot kept for a person to look at)."""

from __future__ import annotations

import csv
import io
import json
import os
import urllib.parse
from pathlib import Path

import pytest

from cvbook import cli
from cvbook.grading import course
import toy_course as toy

# student -> fraction of each toy test cell's points earned (None: no submission)
PATTERN = {"ada": (1, 1, 1), "ben": (0, 1, 1), "cy": (0, 0, 1), "dee": (0, 0, 0), "eve": (1, 0, 1),
           "fay": None}


@pytest.fixture(scope="module")
def course_root(tmp_path_factory):
    """A released toy course with a gradebook filled in directly (no grading needed)."""
    from nbgrader.api import Gradebook

    root = toy.make_course(tmp_path_factory.mktemp("dash"))
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student, earned in PATTERN.items():
            gb.add_student(student)
            if earned is None:
                continue
            gb.add_submission(toy.ASSIGNMENT, student)
            for name, fraction in zip(("test_double", "test_square", "test_total"), earned):
                g = gb.find_grade(name, "functions", toy.ASSIGNMENT, student)
                g.auto_score = fraction * g.max_score
            gb.db.commit()
    report = root / "reports" / "grade" / f"{toy.ASSIGNMENT}.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"students": [{"student": "dee", "problems": ["the kernel died in cell 4"],
                                                "tampering": []}]}))
    return root


@pytest.fixture(scope="module")
def page_file(course_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("dash-out") / "dashboard.html"
    assert cli.main(["dashboard", "--root", str(course_root), "--out", str(out)]) == 0
    return out


def test_page_is_self_contained(page_file):
    text = page_file.read_text()
    for needle in ("http://", "https://", "<link", "src=", "@import"):
        assert needle not in text, f"the dashboard refers to something outside itself: {needle}"


def test_missing_gradebook_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["dashboard", "--root", str(tmp_path)]) == 2
    assert "gradebook.db" in capsys.readouterr().err


def test_dashboard_in_chromium_matches_the_gradebook(course_root, page_file, browser):
    truth = course.scores(course_root, toy.ASSIGNMENT)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    section = page.locator(f'section[data-assignment="{toy.ASSIGNMENT}"]')
    assert int(section.get_attribute("data-submissions")) == len(truth)
    bars = [int(c) for c in page.eval_on_selector_all("section .bar", "bs => bs.map(b => b.dataset.count)")]
    assert sum(bars) == len(truth)
    top_bin = sum(1 for s in truth.values() if s["score"] == s["max_score"])
    assert bars[-1] == top_bin
    mean = sum(s["score"] for s in truth.values()) / len(truth)
    assert float(section.locator(".mean").inner_text()) == pytest.approx(mean, abs=0.005)
    assert section.locator(".missing-list").inner_text() == "fay"
    rows = page.eval_on_selector_all(".cell-row", "rs => rs.map(r => [r.dataset.cell, +r.dataset.failed, +r.dataset.graded])")
    for cell, failed, graded in rows:
        name = cell.split("/")[1]
        assert graded == len(truth)
        assert failed == sum(1 for s in truth.values() if s["cells"][name][0] < s["cells"][name][1])
    assert rows[0][0].endswith("test_double")  # the most failed check comes first
    shown = dict(page.eval_on_selector_all(
        "tr.student", "rs => rs.map(r => [r.dataset.student, r.cells[1].dataset.score ?? null])"))
    assert shown == {s: (f"{truth[s]['score']:g}" if s in truth else None) for s in PATTERN}
    assert "the kernel died" in page.inner_text("body")
    href = page.get_attribute("a.csv", "href")
    assert href.startswith("data:text/csv")
    table = list(csv.DictReader(io.StringIO(urllib.parse.unquote(href.split(",", 1)[1]))))
    assert {r["student"]: r[toy.ASSIGNMENT] for r in table} == {
        s: (f"{truth[s]['score']:g}" if s in truth else "missing") for s in PATTERN}
    shots = Path(os.environ.get("CVBOOK_SCREENSHOTS", page_file.parent))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    page.close()
    outside = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not outside, f"the dashboard made network requests: {outside}"
