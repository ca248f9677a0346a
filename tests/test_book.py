"""The book: every page executes and builds without a warning (`jupyter-book build -W`),
and the built pages open in a real headless Chromium with their figures visible."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
# Prose-only pages; every other chapter must show at least one figure.
PAGES_WITHOUT_FIGURES = {"book/intro", "book/running_the_course"}


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
    proc = subprocess.run([Path(sys.executable).parent / "jupyter-book", "build", str(repo),
                           "--path-output", str(out), "-W", "--keep-going"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=1500)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log)
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-6000:]}"
    return out / "_build" / "html"


def test_book_builds_without_warnings_and_every_page_is_there(built_book, repo):
    for page in toc_pages(repo):
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} was not built"
        assert "Traceback (most recent call last)" not in html.read_text(), f"{page} shows a traceback"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (Debian packages chromium, chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


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
