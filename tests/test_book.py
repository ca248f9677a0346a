"""The book: every page executes and builds without a warning (`jupyter-book build -W`),
and the built pages open in a real headless Chromium with their figures visible, and read
as a reader needs them to: tables render as tables, code fits the page, no makers' jargon,
every citation has its references."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_book_spoilers import code_windows, graded_references, page_text, reference_shown_in
from wording import MAKERS_JARGON

pytestmark = pytest.mark.slow
# Prose-only pages; every other chapter must show at least one figure.
PAGES_WITHOUT_FIGURES = {"book/intro", "book/running_the_course", "book/glossary"}
CITE_ROLE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")


def toc_pages(repo: Path) -> list[str]:
    toc = yaml.safe_load((repo / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [ch["file"] for ch in part["chapters"]]
    return pages


@pytest.fixture(scope="session")
def built_book(repo, tmp_path_factory) -> Path:
    """Build the whole book once, executing every page, into a temporary folder."""
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("MPLBACKEND", None)  # a non-inline backend in the kernels would drop every figure
    # A safety net, not a speed check: on a shared 2-core machine a build has taken 30 minutes.
    proc = subprocess.run([Path(sys.executable).parent / "jupyter-book", "build", str(repo),
                           "--path-output", str(out), "-W", "--keep-going"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=3600)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    # The book keeps executed pages in a cache inside its build folder; this build's folder is
    # new, so every page was executed now, none taken from an earlier build.
    assert "Using cached notebook" not in log, "a page came from an execution cache, not executed"
    return out / "_build" / "html"


def test_book_builds_without_warnings_and_every_page_is_there(built_book, repo):
    for page in toc_pages(repo):
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} was not built"
        assert "Traceback (most recent call last)" not in html.read_text(), f"{page} shows a traceback"


def test_no_built_page_prints_a_graded_answer(built_book, repo):
    """No page shows the code of a function or class a graded part asks for (the pages link
    the library's file instead): no three consecutive code lines of it in any page's text."""
    from cvbook.grading.references import reference_source

    windows = {ref: code_windows(reference_source(ref)) for ref in graded_references()}
    found = []
    for page_name in toc_pages(repo):
        text = page_text((built_book / f"{page_name}.html").read_text())
        found += [f"{page_name}: {ref}: {hit!r}" for ref, w in windows.items()
                  if (hit := reference_shown_in(text, w))]
    assert not found, "pages that print a graded part's answer:\n" + "\n".join(found)



def test_pages_render_in_chromium_with_their_figures(built_book, repo, browser, tmp_path_factory):
    shots = Path(os.environ.get("CVBOOK_SCREENSHOTS", tmp_path_factory.mktemp("screenshots")))
    shots.mkdir(parents=True, exist_ok=True)
    for page_name in toc_pages(repo):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        failed, remote = [], []
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None)
        html_file = built_book / f"{page_name}.html"
        page.goto(html_file.as_uri())
        page.wait_for_load_state("load")
        assert not remote, f"{page_name}: the page reaches the network (offline readers can't): {remote}"
        if "application/vnd.jupyter.widget-view+json" in html_file.read_text():
            page.wait_for_selector(".jupyter-widgets", timeout=10_000)
        images = page.eval_on_selector_all(
            "main img", "imgs => imgs.map(i => [i.src, i.complete && i.naturalWidth > 0])")
        broken = [src for src, ok in images if not ok]
        if page_name not in PAGES_WITHOUT_FIGURES:
            assert images, f"{page_name}: a chapter page without a single figure"
        assert not broken, f"{page_name}: images that did not load: {broken}"
        local_failures = [u for u in failed if u.startswith("file:")]
        assert not local_failures, f"{page_name}: missing files: {local_failures}"
        title = page.inner_text("main h1")
        assert title.strip(), f"{page_name}: no title rendered"
        page.screenshot(path=str(shots / f"{page_name.replace('/', '_')}.png"), full_page=True)
        page.close()


# In the page, after every folded ("hide-input") cell is opened: paragraphs that are markdown
# tables printed as text (CommonMark has no tables; the typographer turns --- into a dash),
# code blocks wider than their box, the page's visible text, images that did not load, and
# the entries under the page's "References" heading.
READ_PAGE = r"""() => {
  document.querySelectorAll("details").forEach(d => { d.open = true; });
  const rawTables = [...document.querySelectorAll("main p")]
    .map(p => p.textContent.trim())
    .filter(t => t.startsWith("|") && /\|\s*:?(-{3,}|[\u2013\u2014]+)\s*:?\s*\|/.test(t))
    .map(t => t.slice(0, 100));
  const codeBlocks = [...document.querySelectorAll("div.highlight pre")];
  const wideCode = codeBlocks.filter(pre => pre.scrollWidth > pre.clientWidth)
    .map(pre => `${pre.scrollWidth} > ${pre.clientWidth} px: ` +
         pre.textContent.split("\n").reduce((a, l) => (l.length > a.length ? l : a), "").slice(0, 90));
  const brokenImages = [...document.querySelectorAll("img")]
    .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src);
  const references = [...document.querySelectorAll("main section")]
    .filter(sec => (sec.querySelector(":scope > h2") || {}).textContent?.replace(/#$/, "").trim() === "References");
  const entries = references.flatMap(sec => [...sec.querySelectorAll("aside.footnote, div.citation")]);
  return {rawTables, wideCode, codeBlocks: codeBlocks.length, brokenImages, text: document.body.innerText,
          referenceSections: references.length, referenceEntries: entries.length};
}"""


def test_pages_read_as_a_reader_needs_them(built_book, repo, browser):
    """At 1280x900, on every page: no markdown table printed as text, no code block that
    scrolls sideways, none of the makers' words, a References section that lists every work
    the page cites, every image loaded, and the page contents reachable from the header."""
    jargon = [re.compile(rx, re.I) for rx in MAKERS_JARGON]
    problems, counts = [], []
    for page_name in toc_pages(repo):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        html_file = built_book / f"{page_name}.html"
        page.goto(html_file.as_uri())
        page.wait_for_load_state("load")
        if "application/vnd.jupyter.widget-view+json" in html_file.read_text():
            page.wait_for_selector(".jupyter-widgets", timeout=10_000)
        seen = page.evaluate(READ_PAGE)
        words = sorted({m.group(0) for rx in jargon for m in rx.finditer(seen["text"])})
        hits = sum(len(rx.findall(seen["text"])) for rx in jargon)
        cited = {key.strip() for keys in CITE_ROLE.findall((repo / f"{page_name}.md").read_text())
                 for key in keys.split(",")}
        counts.append(f"{page_name:34s} raw tables {len(seen['rawTables']):2d} | wide code blocks "
                      f"{len(seen['wideCode']):3d} of {seen['codeBlocks']:3d} | jargon {hits:2d} | "
                      f"works cited {len(cited):2d}, listed {seen['referenceEntries']:2d}")
        problems += [f"{page_name}: table printed as text: {t!r}" for t in seen["rawTables"]]
        problems += [f"{page_name}: code block scrolls sideways ({w})" for w in seen["wideCode"]]
        problems += [f"{page_name}: makers' words {words}"] if words else []
        problems += [f"{page_name}: image did not load: {src}" for src in seen["brokenImages"]]
        if cited and (seen["referenceSections"] != 1 or seen["referenceEntries"] != len(cited)):
            problems.append(f"{page_name}: cites {len(cited)} works but its References section "
                            f"({seen['referenceSections']} found) lists {seen['referenceEntries']}")
        if page.query_selector("#pst-page-toc-nav"):   # the page's contents, from the header button
            page.click(".bd-header-article button.secondary-toggle")
            if not page.evaluate("() => !!document.querySelector('#pst-secondary-sidebar-modal[open] "
                                 "#pst-page-toc-nav')"):
                problems.append(f"{page_name}: the header's contents button does not open the contents")
        page.close()
    print("\n".join(["Per page, at 1280x900:"] + counts))
    assert not problems, "\n".join(problems + [""] + counts)


# Each quiz question, as a reader answers it: a wrong answer first, then the right one (a
# numeric question is typed and sent with Enter), reading the feedback after each.
def answer_quizzes(page) -> tuple[list[str], list[str]]:
    """Answer every question of every quiz on the open page; return (levels seen, problems)."""
    problems, levels = [], []
    for i, q in enumerate(page.query_selector_all(".Quiz"), start=1):
        where = f"question {i}"
        level = q.query_selector(".cvbook-quiz-level")
        levels.append(level.inner_text().strip().lower() if level else "")
        if not (q.query_selector("details.cvbook-quiz-hint") and q.query_selector("details.cvbook-quiz-mistakes")):
            problems.append(f"{where}: no hint or common mistakes")
        box = q.query_selector("input.Input-text")
        if box is None:
            wrong, right = (q.query_selector(f"label.MCButton[data-correct='{v}']") for v in ("false", "true"))
            if wrong is None or right is None:
                problems.append(f"{where}: no right or no wrong option to click")
                continue
            wrong.click()
        else:
            answer = next(a for a in json.loads(box.get_attribute("data-answers")) if a.get("correct"))
            value = answer["value"] if "value" in answer else sum(answer["range"]) / 2
            box.fill("-987654321")
            box.press("Enter")
        fb = q.query_selector(".Feedback")
        seen_wrong = (fb.get_attribute("class"), fb.inner_text()) if fb else ("", "")
        if box is None:
            right.click()
        else:
            box.fill(repr(value))
            box.press("Enter")
        seen_right = (fb.get_attribute("class"), fb.inner_text()) if fb else ("", "")
        if "incorrect" not in seen_wrong[0] or not seen_wrong[1].startswith("Not quite"):
            problems.append(f"{where}: a wrong answer did not show why it is wrong: {seen_wrong}")
        if "incorrect" in seen_right[0] or not seen_right[1].startswith("Right"):
            problems.append(f"{where}: the right answer did not show why it is right: {seen_right}")
    return levels, problems


def test_every_quiz_renders_and_answers_offline(built_book, repo, browser):
    """Every chapter's self-check quiz renders in Chromium with every request off this
    machine blocked, shows all its questions at three levels, and explains a wrong and a
    right answer to each."""
    from cvbook.quiz import LEVELS, load_questions

    problems, counts = [], []
    for page_name in toc_pages(repo):
        quiz = repo / "book" / "quizzes" / f"{page_name.split('/', 1)[1]}.py"
        if not quiz.exists():
            continue
        expected = len(load_questions(quiz))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked, errors = [], []
        page.route("**/*", lambda route: route.continue_()
                   if route.request.url.startswith(("file:", "data:", "blob:"))
                   else (blocked.append(route.request.url), route.abort()))
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto((built_book / f"{page_name}.html").as_uri())
        page.wait_for_load_state("load")
        try:
            page.wait_for_selector(".Quiz", timeout=10_000)
        except Exception:
            problems.append(f"{page_name}: the quiz did not render (page errors: {errors})")
            page.close()
            continue
        levels, found = answer_quizzes(page)
        counts.append(f"{page_name:34s} {len(levels):2d} questions answered")
        problems += [f"{page_name}: {p}" for p in found]
        if len(levels) != expected:
            problems.append(f"{page_name}: {len(levels)} questions rendered, the quiz has {expected}")
        if set(levels) != set(LEVELS):
            problems.append(f"{page_name}: levels shown {sorted(set(levels))}")
        if blocked:
            problems.append(f"{page_name}: requests off this machine (blocked): {blocked}")
        page.close()
    print("\n".join(["Quizzes in Chromium, offline:"] + counts))
    chapters = [p for p in toc_pages(repo) if re.match(r"book/\d\d_", p)]
    assert len(counts) == len(chapters), (counts, chapters)  # one quiz closes every chapter
    assert not problems, "\n".join(problems)
