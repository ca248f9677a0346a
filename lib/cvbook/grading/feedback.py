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
from datetime import datetime, timezone
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
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap}.msg{background:#fff4f2}
.pending{color:#8a5a00}.comment{background:#eef4ff;padding:.4em}.late{color:#8a5a00}"""


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


def _duration(seconds: float) -> str:
    days, rest = divmod(int(round(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{rest // 60} min"] * bool(rest // 60)
    return " ".join(parts[:2]) or f"{rest} s"


def notebook_feedback(nb, grades: dict[str, tuple[float, float]], title: str, notice: str = "",
                      comments: dict[str, str] | None = None, late: dict | None = None) -> str:
    """HTML for one autograded notebook; grades: grade_id -> (score, max_score) as the gradebook
    holds them (a manual score overrides the automatic one); comments: grade_id -> the grader's
    comment; late: the submission's late penalty ({"seconds_late", "penalty", "policy"}), shown under the total."""
    comments = comments or {}
    all_hidden = []
    for cell in nb.cells:
        all_hidden += split_hidden(cell.source)[1]
    rows, total, total_max = [], 0.0, 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        grade_id = meta.get("grade_id")
        comment = comments.get(grade_id) if grade_id else None
        comment_html = (f'<p class="comment"><b>Comment:</b> {html.escape(comment)}</p>'
                        if comment and comment != "No response." else "")
        if meta.get("grade") and meta.get("solution"):  # an answer graded by hand
            score, max_score = grades.get(grade_id, (None, float(meta.get("points", 0))))
            waiting = score is None  # no manual score yet (a manual cell has no automatic one)
            total, total_max = total + (score or 0.0), total_max + max_score
            result = ('<td class="pending">not graded yet</td><td>- / ' f"{max_score:g}</td>" if waiting else
                      f'<td class="{"pass" if score >= max_score else "fail"}">graded by hand</td>'
                      f"<td>{score:g} / {max_score:g}</td>")
            rows.append(f"<tr><td>{html.escape(grade_id)}</td>{result}<td><p>Your answer:</p>"
                        f"<pre>{html.escape(cell.source)}</pre>{comment_html}</td></tr>")
            continue
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            if comment_html and meta.get("solution"):
                rows.append(f"<tr><td>{html.escape(grade_id)}</td><td>your code</td><td></td>"
                            f"<td>{comment_html}</td></tr>")
            continue
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
        detail += comment_html
        rows.append(f'<tr><td>{html.escape(grade_id)}</td><td class="{"pass" if ok else "fail"}">'
                    f'{"passed" if ok else "failed"}</td><td>{score:g} / {max_score:g}</td><td>{detail}</td></tr>')
    summary = f"<p><b>Score: {total:g} / {total_max:g}</b></p>"
    if late and late.get("seconds_late"):
        penalty = float(late.get("penalty") or 0.0)
        summary = (f"<p>Points earned: {total:g} / {total_max:g}</p>"
                   f'<p class="late">Submitted {_duration(late["seconds_late"])} after the due date: '
                   f"late penalty <span class=\"penalty\">{penalty:g}</span> point(s) "
                   f"({html.escape(late.get('policy', ''))}).</p>"
                   f"<p><b>Score: {max(0.0, total - penalty):g} / {total_max:g}</b></p>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            + summary
            + (f'<p class="fail">{html.escape(notice)}</p>' if notice else "")
            + "<table><tr><th>check</th><th>result</th><th>points</th><th>test and message</th></tr>"
            + "".join(rows) + "</table></body></html>")


# What nbgrader's release_feedback needs next to each page: when the student submitted, and
# the secret that names the released page (nbgrader's submit writes both).
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")


def _exchange_files(autograded: Path, dest: Path, timestamp: str | None) -> None:
    """Copy timestamp.txt and submission_secret.txt from the graded submission. A submission
    that did not come through the exchange has neither: it gets its gradebook timestamp and a
    fresh secret, so that `nbgrader release_feedback` works for the whole class (such a page
    is handed out by other means: no student's exchange cache knows its secret)."""
    import secrets

    for name in EXCHANGE_FILES:
        src = autograded / name
        if src.is_file():
            atomic_write_text(dest / name, src.read_text())
        elif name == "timestamp.txt":
            atomic_write_text(dest / name, timestamp or datetime.now(timezone.utc).isoformat(sep=" "))
        elif not (dest / name).is_file():
            atomic_write_text(dest / name, secrets.token_hex(64))


def write_feedback(root: Path | str, assignment: str, students: list[str] | None = None) -> list[Path]:
    """feedback/<student>/<assignment>/<notebook>.html for every autograded student, with the
    files nbgrader's release_feedback needs. Late penalties are first recomputed from the
    current scores, so a score changed by hand reaches the page and the penalty alike."""
    from cvbook.grading import late as late_work

    root = Path(root)
    late_work.refresh_penalties(root, assignment, students)
    policy = late_work.policy(root)
    describe = policy.describe() if hasattr(policy, "describe") else f"nbgrader's {type(policy).__name__}"
    graded = course.scores(root, assignment)
    report = root / "reports" / "grade" / f"{assignment}.json"
    isolation = {e["student"]: e.get("isolation", "") for e in
                 (json.loads(report.read_text()).get("students", []) if report.is_file() else [])}
    written = []
    for student in students if students is not None else sorted(graded):
        folder = root / "autograded" / student / assignment
        record = graded.get(student, {})
        late = {"seconds_late": record.get("seconds_late", 0), "penalty": record.get("late_penalty", 0),
                "policy": describe}
        pages = sorted(folder.glob("*.ipynb"))
        for nb_path in pages:
            nb = nbformat.read(nb_path, as_version=4)
            notice = ("Graded without the sandbox: this grade is provisional."
                      if isolation.get(student, "").startswith("none") else "")
            page = notebook_feedback(nb, record.get("cells", {}),
                                     f"{assignment} / {nb_path.stem}: feedback for {student}", notice,
                                     comments=record.get("comments"), late=late)
            dest = root / "feedback" / student / assignment / f"{nb_path.stem}.html"
            written.append(atomic_write_text(dest, page))
        if pages:
            _exchange_files(folder, root / "feedback" / student / assignment, record.get("timestamp"))
    return written


def register(subparsers) -> None:
    p = subparsers.add_parser("feedback", help="rewrite the feedback pages from the gradebook (after manual grading)",
                              description="Rewrite feedback/<student>/ASSIGNMENT/ from the gradebook: manual "
                                          "scores and comments, and late penalties recomputed from the current "
                                          "scores. Then hand the pages out with `nbgrader release_feedback`.")
    p.add_argument("assignment", help="assignment name, e.g. 01_tensors")
    p.add_argument("--root", type=Path, default=None, help="course root (default: the current folder)")
    p.add_argument("--student", action="append", dest="students", help="only this student (repeatable)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    root = course.course_root(args.root)
    if not (root / "gradebook.db").is_file():
        raise FileNotFoundError(f"{root / 'gradebook.db'} does not exist: release and grade first")
    graded = course.scores(root, args.assignment)
    unknown = sorted(set(args.students or ()) - set(graded))
    if unknown:
        raise ValueError(f"no graded submission of {args.assignment!r} for: {', '.join(unknown)}")
    written = write_feedback(root, args.assignment, args.students)
    print(f"wrote {len(written)} feedback page(s) in {root / 'feedback'}")
    return 0
