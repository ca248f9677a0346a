"""`cvbook dashboard`: one self-contained HTML page from nbgrader's gradebook.

Score distribution per assignment, failure rate per graded cell (the check most students
fail shows where the book needs work; answers in words still to be graded by hand are
counted apart, not as failures), each student's progress, missing submissions,
grading problems from `cvbook grade` reports, and a CSV download. Charts are inline
SVG and the CSV is a data: URI: the page loads nothing from anywhere.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import urllib.parse
from pathlib import Path

from cvbook.cli import add_option, require_course_tools
from cvbook.files import atomic_write_text

BINS = 10  # score histogram: 0-10 %, ..., 90-100 %


def dashboard_data(root: Path | str, db_path: Path | str | None = None) -> dict:
    """Everything the page shows, read from the gradebook (and grade reports, if any): the
    released assignments only (cvbook.grading.export.released_assignments), final scores
    (late penalties subtracted, manual scores included), as every export has them."""
    from nbgrader.api import Gradebook

    from cvbook.grading import export
    from cvbook.grading.course import awaits_grade_by_hand

    root = Path(root)
    db = Path(db_path or root / "gradebook.db")
    if not db.is_file():
        raise FileNotFoundError(f"{db} does not exist: no gradebook to report on (release and grade first)")
    data = {"assignments": [], "students": [], "scores": {}, "cells": {}, "missing": {}, "problems": {},
            "late": {}}
    released = {a["name"] for a in export.released_assignments(root)} if db_path is None else None
    if released is not None:
        from cvbook.grading import late

        late.refresh_penalties(root)
    with Gradebook(f"sqlite:///{db.resolve()}") as gb:
        data["students"] = sorted(s.id for s in gb.students)
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            name = assignment.name
            if released is not None and name not in released:
                continue
            data["assignments"].append({"name": name, "max_score": assignment.max_score})
            by_student, cells, late_by = {}, {}, {}
            for sub in gb.assignment_submissions(name):
                penalty = float(sub.late_submission_penalty or 0.0)
                by_student[sub.student.id] = max(0.0, sub.score - penalty)
                if penalty:
                    late_by[sub.student.id] = penalty
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        if not grade.cell.max_score:
                            continue
                        key = f"{nb.name}/{grade.cell.name}"
                        stat = cells.setdefault(key, {"cell": key, "max_score": grade.max_score, "graded": 0,
                                                      "failed": 0, "to_grade": 0,
                                                      "in_words": grade.cell.cell_type == "markdown"})
                        if awaits_grade_by_hand(grade):  # neither passed nor failed yet
                            stat["to_grade"] += 1
                            continue
                        stat["graded"] += 1
                        stat["failed"] += int((grade.score or 0) < grade.max_score)
            data["scores"][name] = by_student
            data["late"][name] = late_by
            data["cells"][name] = sorted(cells.values(), key=lambda c: (-c["failed"], c["cell"]))
            data["missing"][name] = [s for s in data["students"] if s not in by_student]
            report = root / "reports" / "grade" / f"{name}.json"
            if report.is_file():
                entries = json.loads(report.read_text()).get("students", [])
                data["problems"][name] = {e["student"]: _flags(e) for e in entries if _flags(e)}
    return data


def _flags(entry: dict) -> list[str]:
    """What the instructor should look at for one student: problems (which name any part that
    used a reference and grades made without the sandbox) and copies of the references."""
    flags = list(entry.get("problems", [])) + [f"possible copy: {c}" for c in entry.get("copies", [])]
    if entry.get("isolation", "").startswith("none"):
        flags.append("graded without the sandbox")
    return list(dict.fromkeys(flags))


def grades_csv(data: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    names = [a["name"] for a in data["assignments"]]
    writer.writerow(["student"] + names + ["total", "max_total"])
    max_total = sum(a["max_score"] for a in data["assignments"])
    for student in data["students"]:
        row = [data["scores"][n].get(student) for n in names]
        writer.writerow([student] + ["missing" if v is None else f"{v:g}" for v in row]
                        + [f"{sum(v or 0 for v in row):g}", f"{max_total:g}"])
    return buf.getvalue()


def _histogram_svg(scores: list[float], max_score: float) -> str:
    counts = [0] * BINS
    for s in scores:
        counts[min(BINS - 1, int(BINS * s / max_score)) if max_score else 0] += 1
    w, h, pad = 360, 140, 22
    top = max(counts + [1])
    bar_w = (w - 2 * pad) / BINS
    bars = []
    for i, c in enumerate(counts):
        bh = (h - 2 * pad) * c / top
        x, y = pad + i * bar_w, h - pad - bh
        bars.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{bh:.1f}" '
                    f'data-count="{c}"><title>{i * 10}-{(i + 1) * 10} %: {c} student(s)</title></rect>')
        if c:
            bars.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{y - 3:.1f}" text-anchor="middle">{c}</text>')
    axis = (f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#888"/>'
            f'<text x="{pad}" y="{h - 6}">0 %</text><text x="{w - pad}" y="{h - 6}" text-anchor="end">100 %</text>')
    return f'<svg class="hist" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{"".join(bars)}{axis}</svg>'


def _failure_rows(cells: list[dict]) -> str:
    rows = []
    for c in cells:
        rate = c["failed"] / c["graded"] if c["graded"] else 0.0
        label = html.escape(c["cell"]) + (" <i>(answer in words)</i>" if c.get("in_words") else "")
        waiting = f'<br><span class="to-grade">{c["to_grade"]} to grade by hand</span>' if c.get("to_grade") else ""
        rows.append(f'<tr class="cell-row" data-cell="{html.escape(c["cell"])}" data-failed="{c["failed"]}" '
                    f'data-graded="{c["graded"]}" data-to-grade="{c.get("to_grade", 0)}"><td>{label}</td>'
                    f'<td>{c["max_score"]:g}</td><td>{c["failed"]} / {c["graded"]}{waiting}</td><td><svg width="160" height="12">'
                    f'<rect width="160" height="12" fill="#eee"/><rect width="{160 * rate:.1f}" height="12" '
                    f'fill="#d9534f"/></svg> {100 * rate:.0f} %</td></tr>')
    return "".join(rows)


STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h2{border-bottom:2px solid #ddd;padding-bottom:.2em}section.assignment{display:flex;gap:2em;flex-wrap:wrap}
table{border-collapse:collapse}td,th{padding:.3em .6em;border-bottom:1px solid #e3e3e3;text-align:left}
.bar{fill:#4a7bd0}svg text{font-size:11px;fill:#444}.missing{color:#b42318}.to-grade{color:#8a5a00;font-size:.9em}.problem{color:#8a5a00;font-size:.9em}
a.csv{display:inline-block;background:#4a7bd0;color:#fff;padding:.4em .9em;border-radius:4px;text-decoration:none}"""


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def render(data: dict) -> str:
    names = [a["name"] for a in data["assignments"]]
    parts = [f"<h1>cvbook course dashboard</h1><p>{_count(len(data['students']), 'student')}, "
             f"{_count(len(names), 'assignment')}. "
             f'<a class="csv" download="grades.csv" href="data:text/csv;charset=utf-8,'
             f'{urllib.parse.quote(grades_csv(data))}">Download grades (CSV)</a></p>']
    for a in data["assignments"]:
        name, scores = a["name"], data["scores"][a["name"]]
        missing = data["missing"][name]
        mean = sum(scores.values()) / len(scores) if scores else 0.0
        parts.append(
            f'<h2 id="a-{html.escape(name)}">{html.escape(name)}</h2><section class="assignment" '
            f'data-assignment="{html.escape(name)}" data-submissions="{len(scores)}" data-max="{a["max_score"]:g}">'
            f'<div><h3>Score distribution</h3>{_histogram_svg(list(scores.values()), a["max_score"])}'
            f'<p>{len(scores)} submitted, mean <span class="mean">{mean:.2f}</span> / {a["max_score"]:g}</p>'
            f'<p class="missing">Missing: <span class="missing-list">{html.escape(", ".join(missing)) or "none"}'
            f"</span></p></div><div><h3>Failure rate per graded cell</h3><table><tr><th>graded cell</th><th>points</th>"
            f"<th>below full marks</th><th>rate</th></tr>{_failure_rows(data['cells'][name])}</table></div></section>")
        for student, problems in sorted(data["problems"].get(name, {}).items()):
            parts.append(f'<p class="problem"><b>{html.escape(student)}</b>: '
                         f'{html.escape("; ".join(p.splitlines()[0] for p in problems if p))}</p>')
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for student in data["students"]:
        cells = []
        for a in data["assignments"]:
            score = data["scores"][a["name"]].get(student)
            penalty = data["late"].get(a["name"], {}).get(student)
            note = f' <span class="late">(late: -{penalty:g})</span>' if penalty else ""
            cells.append('<td class="missing">missing</td>' if score is None else
                         f'<td data-score="{score:g}">{score:g} / {a["max_score"]:g}{note}</td>')
        rows.append(f'<tr class="student" data-student="{html.escape(student)}"><td>{html.escape(student)}</td>'
                    + "".join(cells) + "</tr>")
    parts.append(f'<h2>Student progress</h2><table id="progress"><tr><th>student</th>{head}</tr>{"".join(rows)}</table>')
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>cvbook dashboard</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def write_dashboard(root: Path | str | None = None, out: Path | str | None = None) -> Path:
    from cvbook.grading import course

    root = course.course_root(root)
    out = Path(out or root / "reports" / "dashboard.html")
    page = render(dashboard_data(root))
    return atomic_write_text(out, page)


def register(subparsers) -> None:
    p = subparsers.add_parser("dashboard", help="write the instructor dashboard (one offline HTML page)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=None, help="course root (default: the current folder)")
    add_option(p, "--output", "--out", dest="out", type=Path, default=None,
               help="HTML file to write (default: ROOT/reports/dashboard.html)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    require_course_tools("dashboard")
    print(f"wrote {write_dashboard(args.root, args.out)}")
    return 0
