"""The book: every page executes and builds without a warning (`jupyter-book build -W`),
and the built pages open in a real headless Chromium with their figures visible, and read
as a reader needs them to: tables render as tables, code fits the page, no makers' jargon,
every citation has its references."""

from __future__ import annotations

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
PAGES_WITHOUT_FIGURES = {"book/intro", "book/running_the_course"}
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
