"""The checks of each assignment's graded parts, one module per assignment.

A graded test cell in a notebook is a few calls, one per case: `check_quantize(quantize,
x, 0.02, 10)`. The checker takes the student's function or class as its first argument,
computes the expected answer with the course library, calls the student's code on a
fresh input, and raises `cvbook.grading.checks.CheckFailed` with a message that names the
case, what was expected and what came back. Every checker also makes sure the call left
its inputs as they were.

The same checker runs in two places: in the student's own kernel (JupyterLab, nbgrader's
Validate), with the real library, and in the grader's process, where the student's
function is a stand-in that runs their code in the sandboxed kernel (see
cvbook.grading.verdict). In that kernel the graded references are stand-ins that raise;
these modules only import them there, they never call them.
"""

from cvbook.grading import student as _student

_student.install()  # in a student's kernel: one line per passing test cell, short failure messages
