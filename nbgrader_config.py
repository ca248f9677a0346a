# nbgrader course configuration: the repository root is the course root. The settings
# themselves live in the course library, so that every course root gets the same ones.
from pathlib import Path

from cvbook.grading.course import apply_course_settings

c = get_config()  # noqa: F821 (injected by traitlets)
# The exchange (release, submit, collect, feedback) is exchange/ in the course root, for a
# course on one machine; on JupyterHub set a folder every user can reach, after this line.
apply_course_settings(c, exchange=Path(__file__).resolve().parent / "exchange")

# Late work (see "Running this course"): the defaults, spelled out.
c.LatePolicy.grace_minutes = 0
c.LatePolicy.percent_per_day = 10
c.LatePolicy.zero_after_days = 7
