# nbgrader course configuration: the repository root is the course root. The settings
# themselves live in the course library, so that every course root gets the same ones.
from cvbook.grading.course import apply_course_settings

apply_course_settings(get_config())  # noqa: F821 (injected by traitlets)
