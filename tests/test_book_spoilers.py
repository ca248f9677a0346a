"""No graded answer is printed in the book. For a function or class that a graded part asks
the student to write, the chapter teaches the idea and links the library's file; it never
shows the code (`literalinclude` of the object or of its whole file, `inspect.getsource`).
Fast: reads book/*.md and the solutions' metadata, builds nothing. test_book checks the
built pages as well, with `reference_shown_in`, which is tested here."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LITERALINCLUDE = re.compile(r"```\{literalinclude\}\s+(\S+)\s*\n((?::[^\n]*\n)*)")
GETSOURCE = re.compile(r"(?:getsource|getsourcelines|psource|pinfo2)\(\s*([\w.]+)\s*\)|([\w.]+)\?\?")
# A shown copy: this many consecutive code lines of a reference, in the page's text.
WINDOW = 3


def graded_references() -> list[str]:
    """Every "cvbook.module:Name" a graded part asks for (from the source notebooks' metadata)."""
    refs = []
    for nb in sorted((REPO / "solutions").glob("*/*.ipynb")):
        refs += json.loads(nb.read_text()).get("metadata", {}).get("cvbook", {}).get("graded_references", [])
    return refs


def module_of(include: str, page: Path) -> str | None:
    """cvbook.x.y for a literalinclude of lib/cvbook/x/y.py, else None."""
    path = (page.parent / include).resolve()
    try:
        rel = path.relative_to(REPO / "lib")
    except ValueError:
        return None
    return ".".join(rel.with_suffix("").parts) if path.suffix == ".py" else None


def shown_references(text: str, page: Path, refs: list[str]) -> list[str]:
    """The graded references that the page `page` with markdown `text` shows by
    literalinclude or getsource."""
    by_module: dict[str, set[str]] = {}
    for ref in refs:
        module, _, name = ref.partition(":")
        by_module.setdefault(module, set()).add(name)
    shown = []
    for m in LITERALINCLUDE.finditer(text):
        module = module_of(m.group(1), page)
        if module not in by_module:
            continue
        options = dict(re.findall(r":(\w+):\s*(.*)", m.group(2)))
        obj = options.get("pyobject", "").strip()
        if not obj:   # the whole file, or lines of it: it holds graded answers
            shown.append(f"{m.group(1)} (whole file or lines), holds {sorted(by_module[module])}")
        elif obj.split(".")[0] in by_module[module]:
            shown.append(f"{module}:{obj}")
    names = {ref.partition(":")[2] for ref in refs}
    for m in GETSOURCE.finditer(text):
        target = (m.group(1) or m.group(2)).split(".")[-1]
        if target in names:
            shown.append(f"getsource of {target}")
    return shown


def page_text(page_html: str) -> str:
    """The text of a built page, tags dropped (highlighted code is split into spans), one space
    for every run of whitespace."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S | re.I)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split())


def code_windows(source: str) -> list[str]:
    """Runs of WINDOW (or all, if fewer) consecutive code lines of `source` (docstrings, comments and blank lines
    left out), each line stripped, joined by one space."""
    import ast

    tree = ast.parse(source)
    doc_lines = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            doc_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = [" ".join(line.split()) for i, line in enumerate(source.splitlines(), 1)
             if i not in doc_lines and line.strip() and not line.strip().startswith("#")]
    size = min(WINDOW, len(lines))   # a two-line function is one window
    return [" ".join(lines[i:i + size]) for i in range(len(lines) - size + 1)] if lines else []


def reference_shown_in(text: str, windows: list[str]) -> str | None:
    """The first window of a reference's code that appears in the page text, else None."""
    return next((w for w in windows if w in text), None)


def test_every_graded_reference_is_found():
    from cvbook.grading.references import reference_source

    refs = graded_references()
    assert len(refs) >= 20, refs
    for ref in refs:
        assert code_windows(reference_source(ref)), f"{ref}: no code to look for"


def test_no_page_shows_a_graded_reference():
    refs = graded_references()
    shown = {page.name: shown_references(page.read_text(), page, refs)
             for page in sorted((REPO / "book").glob("*.md"))}
    shown = {k: v for k, v in shown.items() if v}
    assert not shown, ("pages that print a graded part's answer (link the library's file "
                       f"instead, and teach the idea): {shown}")


def included_source(page: Path, include: str, obj: str) -> str:
    """The text a `literalinclude` with `:pyobject: obj` shows."""
    import ast

    source = (page.parent / include).read_text()
    nodes = ast.parse(source).body
    for part in obj.split("."):
        node = next(n for n in nodes if getattr(n, "name", None) == part)
        nodes = getattr(node, "body", [])
    lines = source.splitlines()[node.lineno - 1 - len(node.decorator_list):node.end_lineno]
    return "\n".join(lines)


def test_no_shown_object_repeats_a_graded_reference():
    """Objects the pages may show (not graded themselves) must not contain a graded answer
    (three consecutive code lines of one)."""
    from cvbook.grading.references import reference_source

    windows = {ref: code_windows(reference_source(ref)) for ref in graded_references()}
    found = []
    for page in sorted((REPO / "book").glob("*.md")):
        for m in LITERALINCLUDE.finditer(page.read_text()):
            obj = dict(re.findall(r":(\w+):\s*(.*)", m.group(2))).get("pyobject", "").strip()
            if not obj or not m.group(1).endswith(".py"):
                continue
            shown = " ".join(included_source(page, m.group(1), obj).split())
            found += [f"{page.name}: {obj} repeats {ref}: {hit!r}" for ref, w in windows.items()
                      if (hit := reference_shown_in(shown, w))]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("snippet, expected", [
    ("```{literalinclude} ../lib/cvbook/compress/quant_math.py\n:language: python\n:pyobject: choose_qparams\n```\n",
     ["cvbook.compress.quant_math:choose_qparams"]),
    ("```{literalinclude} ../lib/cvbook/models/resnet.py\n:pyobject: BasicBlock.forward\n```\n",
     ["cvbook.models.resnet:BasicBlock.forward"]),
    ("```{literalinclude} ../lib/cvbook/compress/quant_math.py\n:lines: 1-40\n```\n", ["whole file"]),
    ("```{code-cell} ipython3\nprint(inspect.getsource(quant_math.quantize))\n```\n", ["getsource of quantize"]),
    ("```{literalinclude} ../lib/cvbook/compress/quantize.py\n:pyobject: quantize_static\n```\n", []),
    ("See [quant_math.py](../lib/cvbook/compress/quant_math.py) after the exercise.\n", []),
])
def test_the_page_check_finds_what_it_should(snippet, expected):
    shown = shown_references(snippet, REPO / "book" / "example.md", graded_references())
    assert len(shown) == len(expected) and all(e in s for e, s in zip(expected, shown)), shown


def test_the_built_page_check_finds_a_highlighted_copy():
    """The check on built pages sees through syntax highlighting (one span per token) and
    ignores the same function's name in prose."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    from cvbook.grading.references import reference_source

    source = reference_source("cvbook.compress.quant_math:choose_qparams")
    shown = highlight(source, PythonLexer(), HtmlFormatter())
    page = f"<html><body><p>Write <code>choose_qparams</code> yourself.</p>{shown}</body></html>"
    assert reference_shown_in(page_text(page), code_windows(source))
    prose = "<p>choose_qparams(x_min, x_max) returns a scale and a zero point.</p>"
    assert reference_shown_in(page_text(prose), code_windows(source)) is None
