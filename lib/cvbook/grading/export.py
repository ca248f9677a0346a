"""`cvbook export`: the class's grades as a file a learning platform imports.

Every score is the gradebook's final score (manual scores override automatic ones, the
late penalty is subtracted: the numbers of `nbgrader export`, the feedback pages and the
dashboard). Only released assignments appear: one released to the exchange, or one with a
submission. A student with no submission for a released assignment is marked missing.

Formats:

* `canvas`: Canvas's gradebook import CSV: `Student, ID, SIS User ID, SIS Login ID,
  Section`, one column per assignment, a `Points Possible` row. Students are matched by
  SIS User ID (the nbgrader student id). Missing work is left blank, which Canvas's import
  leaves ungraded, for Canvas's own missing-submission status; the summary lists it.
* `moodle`: a CSV for Moodle's grade import (Grades > Import > CSV file): `Email address`,
  `ID number`, `First name`, `Last name`, one column per assignment and one `<assignment>
  feedback` column to map to that item's feedback. Missing work has no grade and the
  feedback "missing"; late work says its penalty there.
* `csv`: one row per student, one column per assignment, "missing" where nothing came.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from cvbook.files import atomic_write_text
from cvbook.cli import add_option
from cvbook.grading import course

FORMATS = ("canvas", "moodle", "csv")
MISSING = "missing"


def released_assignments(root: Path | str | None = None) -> list[dict]:
    """The gradebook's assignments that students have received: released to the exchange
    (its outbound folder exists) or with at least one submission; by due date, then name."""
    from nbgrader.api import Gradebook

    root = course.course_root(root)
    db = root / "gradebook.db"
    if not db.is_file():
        raise FileNotFoundError(f"{db} does not exist: no gradebook to export (release and grade first)")
    from nbgrader.exchange.default import Exchange

    config = course.course_config(root)
    outbound = Path(Exchange(config=config).root) / config.CourseDirectory.course_id / "outbound"
    out = []
    with Gradebook(f"sqlite:///{db.resolve()}") as gb:
        for a in gb.assignments:
            released = (outbound / a.name).is_dir() or bool(a.submissions)
            if released:
                out.append({"name": a.name, "max_score": a.max_score, "duedate": a.duedate})
    return sorted(out, key=lambda a: (a["duedate"] is None, a["duedate"] or 0, a["name"]))


def class_grades(root: Path | str | None = None) -> dict:
    """{"assignments": released ones, "students": the roster (id, first_name, last_name, email),
    "grades": {assignment: {student: course.scores record}}} with late penalties refreshed."""
    from nbgrader.api import Gradebook

    from cvbook.grading import late

    root = course.course_root(root)
    assignments = released_assignments(root)
    late.refresh_penalties(root)
    with Gradebook(f"sqlite:///{(root / 'gradebook.db').resolve()}") as gb:
        students = [{"id": s.id, "first_name": s.first_name or "", "last_name": s.last_name or "",
                     "email": s.email or ""} for s in sorted(gb.students, key=lambda s: s.id)]
    return {"assignments": assignments, "students": students,
            "grades": {a["name"]: course.scores(root, a["name"]) for a in assignments}}


def _score(record: dict | None) -> str:
    return "" if record is None else f"{record['score']:g}"


def _rows_to_csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def canvas_csv(data: dict) -> str:
    names = [a["name"] for a in data["assignments"]]
    rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + names,
            ["Points Possible", "", "", "", ""] + [f"{a['max_score']:g}" for a in data["assignments"]]]
    for s in data["students"]:
        name = ", ".join(p for p in (s["last_name"], s["first_name"]) if p) or s["id"]
        rows.append([name, "", s["id"], "", ""] + [_score(data["grades"][n].get(s["id"])) for n in names])
    return _rows_to_csv(rows)


def moodle_csv(data: dict) -> str:
    names = [a["name"] for a in data["assignments"]]
    header = ["Email address", "ID number", "First name", "Last name"]
    for n in names:
        header += [n, f"{n} feedback"]
    rows = [header]
    for s in data["students"]:
        row = [s["email"], s["id"], s["first_name"], s["last_name"]]
        for n in names:
            record = data["grades"][n].get(s["id"])
            if record is None:
                row += ["", f"{MISSING}: nothing was submitted"]
            elif record["late_penalty"]:
                row += [_score(record), f"late: {record['late_penalty']:g} point(s) deducted "
                                        f"from {record['raw_score']:g}"]
            else:
                row += [_score(record), ""]
        rows.append(row)
    return _rows_to_csv(rows)


def plain_csv(data: dict) -> str:
    names = [a["name"] for a in data["assignments"]]
    max_total = sum(a["max_score"] for a in data["assignments"])
    rows = [["student"] + names + ["total", "max_total"]]
    for s in data["students"]:
        records = [data["grades"][n].get(s["id"]) for n in names]
        rows.append([s["id"]] + [MISSING if r is None else _score(r) for r in records]
                    + [f"{sum(r['score'] for r in records if r):g}", f"{max_total:g}"])
    return _rows_to_csv(rows)


WRITERS = {"canvas": canvas_csv, "moodle": moodle_csv, "csv": plain_csv}


def export(root: Path | str | None, fmt: str, out: Path | str | None = None) -> tuple[Path, dict]:
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    root = course.course_root(root)
    data = class_grades(root)
    out = Path(out) if out is not None else root / "exports" / f"grades-{fmt}.csv"
    return atomic_write_text(out, WRITERS[fmt](data)), data


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="grades as a CSV file Canvas or Moodle imports",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--to", choices=FORMATS, default="csv", dest="fmt",
                   help="canvas (gradebook import), moodle (grade import) or csv (one row per student)")
    add_option(p, "--output", "--out", dest="out", type=Path, default=None,
               help="file to write (default: ROOT/exports/grades-FORMAT.csv)")
    p.add_argument("--root", type=Path, default=None, help="course root (default: the current folder)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path, data = export(args.root, args.fmt, args.out)
    missing = [f"{s['id']} ({a['name']})" for a in data["assignments"] for s in data["students"]
               if s["id"] not in data["grades"][a["name"]]]
    print(f"wrote {path}: {len(data['students'])} students, {len(data['assignments'])} released assignment(s)"
          + (f"; missing: {', '.join(missing)}" if missing else ""))
    return 0
