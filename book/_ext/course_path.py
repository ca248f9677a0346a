"""The `chapter-times` directive: a table of the chapters in reading order, how long each
one's code took to run in this very build, and the graded exercise that goes with it.

The times are the build's own measurements (myst-nb records how long it executed each
page), so the table is true of the machine that built the book, whatever that was. The
table is filled in after every page has executed, the way myst-nb's own `nb-exec-table`
is, and reads the exercise notebooks for their graded parts and points.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from myst_nb.sphinx_ import NbMetadataCollector

MARK = "has_chapter_times"


class ChapterTimesNode(nodes.General, nodes.Element):
    """Placeholder, replaced by the table once every page has executed."""


class ChapterTimes(SphinxDirective):
    """Content: one line per chapter, `docname` or `docname -> exercises/<folder>/<name>.ipynb`."""

    has_content = True

    def run(self):
        rows = []
        for line in self.content:
            doc, _, exercise = (part.strip() for part in line.partition("->"))
            if doc:
                rows.append((doc, exercise or None))
        NbMetadataCollector.set_doc_data(self.env, self.env.docname, MARK, rows)
        return [ChapterTimesNode()]


def graded_parts(notebook: Path) -> tuple[int, float]:
    """(number of graded parts, points) of an nbgrader notebook: its cells marked `grade`."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    marks = [c.get("metadata", {}).get("nbgrader", {}) for c in cells]
    points = [m.get("points", 0) for m in marks if m.get("grade")]
    return len(points), sum(points)


def reading_minutes(source: Path, words_per_minute: int = 200) -> int:
    """Minutes to read a page's prose at a steady pace: its words outside code cells."""
    text = re.sub(r"^(```|~~~).*?^\1", "", source.read_text(encoding="utf-8"), flags=re.S | re.M)
    return max(1, round(len(text.split()) / words_per_minute))


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "not executed"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def _cell(content: nodes.Node | str) -> nodes.entry:
    para = nodes.paragraph()
    para += nodes.Text(content) if isinstance(content, str) else content
    return nodes.entry("", para)


def _table(env, docname: str, rows) -> nodes.table:
    headers = ["Chapter", "Reading", "Its code ran in", "Graded exercise"]
    table = nodes.table(classes=["colwidths-auto"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    group.extend(nodes.colspec(colwidth=1) for _ in headers)
    head = nodes.thead()
    head += nodes.row("", *(_cell(h) for h in headers))
    body = nodes.tbody()
    group += [head, body]
    data = NbMetadataCollector.get_doc_data(env)
    for doc, exercise in rows:
        link = pending_xref(refdoc=docname, reftarget="/" + doc, reftype="doc", refdomain="std",
                            refexplicit=False, refwarn=True)
        link += nodes.inline(text=doc)
        run = data.get(doc, {}).get("exec_data")
        graded = "none yet"
        if exercise:
            parts, points = graded_parts(Path(env.srcdir) / exercise)
            graded = f"{exercise} ({parts} parts, {points:g} points)"
        reading = f"{reading_minutes(Path(env.doc2path(doc))):d} min"
        body += nodes.row("", _cell(link), _cell(reading), _cell(_minutes(run and run.get("runtime"))),
                          _cell(nodes.literal(text=graded) if exercise else graded))
    return table


class FillChapterTimes(SphinxPostTransform):
    default_priority = 8  # before the references (the chapter links) are resolved

    def run(self, **kwargs) -> None:
        rows = NbMetadataCollector.get_doc_data(self.env)[self.env.docname].get(MARK, [])
        for node in list(self.document.findall(ChapterTimesNode)):
            node.replace_self(_table(self.env, self.env.docname, rows))


def _pages_with_table(app: Sphinx, env):
    """Write the pages with the table again once any page has executed anew."""
    if not NbMetadataCollector.new_exec_data(env):
        return None
    return [doc for doc, d in NbMetadataCollector.get_doc_data(env).items() if d.get(MARK)]


def setup(app: Sphinx) -> dict:
    app.add_node(ChapterTimesNode)
    app.add_directive("chapter-times", ChapterTimes)
    app.connect("env-updated", _pages_with_table)
    app.add_post_transform(FillChapterTimes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
