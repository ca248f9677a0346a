"""Student feedback that teaches and never shows hidden tests.

nbgrader's generate_feedback renders the autograded notebook, whose test cells hold the
hidden tests (restored from the gradebook) and whose tracebacks quote the failing test
line. cvbook writes its own page instead, per notebook, to the place nbgrader uses
(feedback/<student>/<assignment>/<notebook>.html, so `nbgrader release_feedback`
distributes it): each graded check with its points, the public test code, and for a
failure the check's own message (what was compared, on which input, what differed),
never a traceback. Any output line that repeats a line of hidden test code is redacted,
in case a submission managed to print it.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from cvbook.files import atomic_write_text
from cvbook.grading import course

HIDDEN_RE = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
REDACTED = "[redacted: this line repeats hidden test code]"

STYLE = """body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}
.pass{color:#1a7f37;font-weight:600}.fail{color:#b42318;font-weight:600}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}.msg{background:#fff4f2}"""


def split_hidden(source: str) -> tuple[str, list[str]]:
    """(public code, the hidden code's non-trivial lines)."""
    hidden = "".join(HIDDEN_RE.findall(source))
    lines = [l.strip() for l in hidden.splitlines() if len(l.strip()) >= 8 and "HIDDEN TESTS" not in l]
    return HIDDEN_RE.sub("", source).rstrip(), lines


def redact(text: str, hidden_lines: list[str]) -> str:
    out = []
    for line in text.splitlines():
        out.append(REDACTED if any(h in line for h in hidden_lines) else line)
    return "\n".join(out)


class StripHiddenTests(NbGraderPreprocessor):
    """For nbgrader's own generate_feedback (the formgrader's "Generate Feedback" button;
    nbgrader_config.py puts it in the list): hidden test code leaves the cells, and output
    lines that repeat it are redacted, as on cvbook's own pages."""

    def preprocess(self, nb, resources):
        hidden = [line for cell in nb.cells for line in split_hidden(cell.source)[1]]
        for cell in nb.cells:
            cell.source = split_hidden(cell.source)[0]
            for out in cell.get("outputs", []):
                if "text" in out:
                    out.text = redact(out.text, hidden)
                if out.output_type == "error":
                    out.evalue = redact(out.evalue, hidden)
                    out.traceback = [redact(line, hidden) for line in out.traceback]
                for key, value in out.get("data", {}).items():
                    if key.startswith("text/") and isinstance(value, str):
                        out.data[key] = redact(value, hidden)
        return nb, resources


def _failure_message(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            return f"{out.ename}: {ANSI_RE.sub('', out.evalue)}".strip()
        if out.output_type == "stream" and out.name == "stderr":
            return ANSI_RE.sub("", out.text).strip()[-1000:]
    return None


def notebook_feedback(nb, grades: dict[str, tuple[float, float]], title: str, notice: str = "") -> str:
    """HTML for one autograded notebook; grades: grade_id -> (score, max_score)."""
    all_hidden = []
    for cell in nb.cells:
        all_hidden += split_hidden(cell.source)[1]
    rows, total, total_max = [], 0.0, 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = meta["grade_id"]
        score, max_score = grades.get(grade_id, (0.0, float(meta.get("points", 0))))
        score = score or 0.0
        total, total_max = total + score, total_max + max_score
        public, hidden = split_hidden(cell.source)
        message = _failure_message(cell)
        ok = score >= max_score and message is None
        detail = f"<pre>{html.escape(public)}</pre>"
        if hidden:
            detail += f"<p>…and {len(hidden)} hidden line(s) of checks, not shown.</p>"
        if message and not ok:
            detail += f'<pre class="msg">{html.escape(redact(message, all_hidden))}</pre>'
        rows.append(f'<tr><td>{html.escape(grade_id)}</td><td class="{"pass" if ok else "fail"}">'
                    f'{"passed" if ok else "failed"}</td><td>{score:g} / {max_score:g}</td><td>{detail}</td></tr>')
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            f"<p><b>Score: {total:g} / {total_max:g}</b></p>"
            + (f'<p class="fail">{html.escape(notice)}</p>' if notice else "")
            + "<table><tr><th>check</th><th>result</th><th>points</th><th>test and message</th></tr>"
            + "".join(rows) + "</table></body></html>")


def write_feedback(root: Path | str, assignment: str, students: list[str] | None = None) -> list[Path]:
    """feedback/<student>/<assignment>/<notebook>.html for every autograded student."""
    root = Path(root)
    graded = course.scores(root, assignment)
    report = root / "reports" / "grade" / f"{assignment}.json"
    isolation = {e["student"]: e.get("isolation", "") for e in
                 (json.loads(report.read_text()).get("students", []) if report.is_file() else [])}
    written = []
    for student in students if students is not None else sorted(graded):
        folder = root / "autograded" / student / assignment
        for nb_path in sorted(folder.glob("*.ipynb")):
            nb = nbformat.read(nb_path, as_version=4)
            notice = ("Graded without the sandbox: this grade is provisional."
                      if isolation.get(student, "").startswith("none") else "")
            page = notebook_feedback(nb, graded.get(student, {}).get("cells", {}),
                                     f"{assignment} / {nb_path.stem}: feedback for {student}", notice)
            dest = root / "feedback" / student / assignment / f"{nb_path.stem}.html"
            written.append(atomic_write_text(dest, page))
    return written
