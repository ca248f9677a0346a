"""`cvbook grade ASSIGNMENT`: autograde every submission in parallel, in the sandbox,
then write each student's feedback page and print a per-student report."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cvbook.cli import require_course_tools


def register(subparsers) -> None:
    p = subparsers.add_parser("grade", help="autograde every submitted/<student>/ASSIGNMENT, in parallel",
                              description=__doc__)
    p.add_argument("assignment", help="assignment name, e.g. 01_tensors")
    p.add_argument("--root", type=Path, default=None, help="course root (default: the current folder)")
    p.add_argument("--jobs", type=int, default=2, help="students graded at once (processes)")
    p.add_argument("--timeout", type=float, default=300, help="seconds allowed per notebook")
    p.add_argument("--cell-timeout", type=float, default=None,
                   help="seconds per cell before it is interrupted (default: 60, or the notebook's limit if lower)")
    p.add_argument("--memory", type=int, default=2048, help="memory limit of a notebook's kernel, in MB")
    p.add_argument("--student", action="append", dest="students", help="grade only this student (repeatable)")
    p.add_argument("--no-feedback", action="store_true", help="do not write feedback/ pages")
    p.add_argument("--unsandboxed", action="store_true",
                   help="grade even where the sandbox (bubblewrap) cannot run: kernels are NOT isolated, "
                        "and every grade is marked so")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    require_course_tools("grade")
    from cvbook.grading import course, feedback, grade
    from cvbook.grading.sandbox import SandboxUnavailable

    args.root = course.course_root(args.root)
    start = time.perf_counter()
    try:
        results = grade.grade_assignment(args.assignment, args.root, jobs=args.jobs, timeout=args.timeout,
                                         cell_timeout=args.cell_timeout, memory_mb=args.memory,
                                         students=args.students, unsandboxed=args.unsandboxed)
    except SandboxUnavailable as err:
        print(f"cvbook grade: no notebook was run: {err}")
        return 2
    elapsed = time.perf_counter() - start
    if not args.no_feedback:
        feedback.write_feedback(args.root, args.assignment,
                                [r.student for r in results if r.status != grade.NEEDS_REGRADE])
    width = max([len(r.student) for r in results] + [7])
    print(f"{'student':<{width}}  {'score':>9}  status")
    for r in results:
        score = "-" if r.score is None else f"{r.score:g}/{r.max_score:g}"
        print(f"{r.student:<{width}}  {score:>9}  {r.status}")
        for line in r.problems + [f"possible copy: {c}" for c in r.copies]:
            print(f"{'':<{width}}  {'':>9}  - {line.splitlines()[0][:160] if line else ''}")
    by_hand = [r for r in results if r.by_hand]
    if by_hand:
        answers = sorted({cell for r in by_hand for cell in r.by_hand})
        print(f"{len(by_hand)} submission(s) have answers in words to grade by hand ({', '.join(answers)}): "
              f"the formgrader's Manual Grading page, then `cvbook feedback {args.assignment}`")
    per = elapsed / len(results) if results else 0.0
    limits = json.loads(grade.report_path(args.root, args.assignment).read_text())["limits"]
    print(f"limits: {limits['cell_s']:g} s per cell, {limits['notebook_s']:g} s per notebook, "
          f"{limits['memory_mb'] or 'unlimited'} MB per kernel; sandbox: {limits['sandbox']}")
    print(f"{len(results)} submissions in {elapsed:.1f} s ({per:.1f} s per submission, --jobs {args.jobs}); "
          f"report: {grade.report_path(args.root, args.assignment)}")
    return 1 if any(r.status == grade.NEEDS_REGRADE for r in results) else 0
