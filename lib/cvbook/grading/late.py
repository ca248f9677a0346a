"""The course's late-work policy, applied once: as nbgrader's late-submission plugin.

nbgrader stores a late penalty per submitted notebook in the gradebook, next to the raw
scores, and `nbgrader export` subtracts it. cvbook's pages (feedback, dashboard, its CSV,
the LMS exports) read the same stored penalty, so every place shows the same final score.
A stored penalty is computed from the score at the time it was stored; after a score
changes by hand (formgrader, gradebook), `refresh_penalties` recomputes it from the current
score (`cvbook feedback`, `cvbook export` and `cvbook dashboard` do this first).

The policy (set in nbgrader_config.py, `c.LatePolicy.<setting> = ...`): after `grace_minutes`,
each started day late costs `percent_per_day` % of the points earned; work more than
`zero_after_days` days late earns nothing (0 turns that rule off).
"""

from __future__ import annotations

import math
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, validate

DAY_S = 86400.0


class LatePolicy(LateSubmissionPlugin):
    """Late work loses a share of its points per started day late, and everything past a limit."""

    grace_minutes = Float(0.0, help="minutes after the due date that still count as on time").tag(config=True)
    percent_per_day = Float(10.0, help="percent of the points earned lost per started day late").tag(config=True)
    zero_after_days = Float(7.0, help="work more than this many days late earns nothing (0: never)").tag(config=True)

    def days_late(self, total_seconds_late: float) -> int:
        """Started days late, after the grace period (0: on time)."""
        late = max(0.0, float(total_seconds_late or 0) - 60.0 * self.grace_minutes)
        return math.ceil(late / DAY_S) if late > 0 else 0

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        score = float(score or 0)
        days = self.days_late(total_seconds_late)
        if days == 0:
            return 0.0
        if self.zero_after_days and total_seconds_late - 60.0 * self.grace_minutes > self.zero_after_days * DAY_S:
            return score
        return min(score, score * days * self.percent_per_day / 100.0)

    def describe(self) -> str:
        """The policy in one sentence, for feedback pages and the chapter."""
        grace = f" after {self.grace_minutes:g} minutes' grace" if self.grace_minutes else ""
        limit = (f"; work more than {self.zero_after_days:g} days late earns nothing"
                 if self.zero_after_days else "")
        return f"late work loses {self.percent_per_day:g} % of its points per started day late{grace}{limit}"

    @validate("grace_minutes", "percent_per_day", "zero_after_days")
    def _not_negative(self, proposal):
        if proposal["value"] < 0:
            raise ValueError(f"LatePolicy.{proposal['trait'].name} must be 0 or more (nbgrader_config.py), "
                             f"got {proposal['value']}")
        return proposal["value"]


def policy(root: Path | str | None = None):
    """The course's configured policy (nbgrader's plugin for AssignLatePenalties)."""
    from nbgrader.preprocessors import AssignLatePenalties

    from cvbook.grading import course

    config = course.course_config(root)
    return AssignLatePenalties(config=config).plugin_class(config=config)


def refresh_penalties(root: Path | str | None = None, assignment: str | None = None,
                      students: list[str] | None = None) -> int:
    """Recompute every stored late penalty from the current scores (manual ones included).
    Returns how many penalties changed."""
    from nbgrader.api import Gradebook

    from cvbook.grading import course

    root = course.course_root(root)
    plugin = policy(root)
    changed = 0
    with Gradebook(f"sqlite:///{(root / 'gradebook.db').resolve()}") as gb:
        names = [assignment] if assignment else [a.name for a in gb.assignments]
        for name in names:
            for sub in gb.assignment_submissions(name):
                if students is not None and sub.student.id not in students:
                    continue
                late = sub.total_seconds_late
                for nb in sub.notebooks:
                    penalty = None
                    if late > 0:
                        penalty = plugin.late_submission_penalty(sub.student.id, nb.score, late)
                        penalty = None if penalty is None else max(0.0, min(float(penalty), float(nb.score or 0)))
                    if (nb.late_submission_penalty or 0.0) != (penalty or 0.0):
                        nb.late_submission_penalty = penalty
                        changed += 1
        gb.db.commit()
    return changed
