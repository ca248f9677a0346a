# nbgrader course configuration: the repository root is the course root.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import GetGrades

from cvbook.grading.feedback import StripHiddenTests

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "cvbook"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Exercises run their reference checks against cvbook; a notebook gets at most this long.
c.ExecutePreprocessor.timeout = 300
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
# nbgrader's own feedback (also the formgrader's "Generate Feedback" button) renders the
# autograded notebook, which holds the hidden tests: strip them as cvbook's pages do.
c.GenerateFeedback.preprocessors = [GetGrades, StripHiddenTests, CSSHTMLHeaderPreprocessor]
