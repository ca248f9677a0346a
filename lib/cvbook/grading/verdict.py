"""Verdicts computed where no student code runs.

A graded test cell is not executed in the student's kernel. The grader runs the cell's
code (the instructor's, from nbgrader's gradebook, hidden tests included) here, in its
own process, with the course library's real references at hand. The names the student
defines are `Remote` stand-ins (cvbook.grading.remote): calling one runs the student's
code in the sandboxed kernel on inputs made here and brings the result back as data.
So the kernel sees neither the hidden tests nor the references, and nothing it does
(rebinding checks, torch or the references; replacing IPython's hooks; printing
"passed") changes what is compared here.

The locked cells a test relies on (imports, helpers, data) run here too, once, in order;
a locked cell that uses the student's names (an example) runs only in the kernel.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import traceback

import nbformat

from cvbook.grading import remote


def defined_names(source: str) -> set[str]:
    """Top-level names a solution cell defines (functions, classes, assignments)."""
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def used_names(source: str) -> set[str]:
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _python_only(source: str) -> str:
    """The cell without IPython's magics and shell escapes (they have no meaning here)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


class SourceCell:
    def __init__(self, name: str, kind: str, source: str, locked: bool, test: bool, solution: bool):
        self.name, self.kind, self.source = name, kind, source
        self.locked, self.test, self.solution = locked, test, solution


def source_cells(db_url: str, notebook: str, assignment: str) -> list[SourceCell]:
    """The instructor's cells of one notebook, in order, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook, assignment)
        tests = {c.name for c in nb.grade_cells}
        solutions = {c.name for c in nb.solution_cells}
        return [SourceCell(c.name, c.cell_type, c.source, bool(c.locked), c.name in tests and c.name not in solutions,
                           c.name in solutions) for c in nb.source_cells]


class Grader:
    """Runs one notebook's test cells, in order, against its kernel."""

    def __init__(self, cells: list[SourceCell]):
        self.cells = cells
        self.student = set()
        for cell in cells:
            if cell.solution and cell.kind == "code":
                self.student |= defined_names(cell.source)
        self.conn = remote.Connection()
        self.namespace: dict = {"__name__": "__grader__", "__builtins__": builtins}
        self._ran: set[str] = set()
        self.tests = {c.name for c in cells if c.test and c.kind == "code"}

    def is_test(self, grade_id: str | None) -> bool:
        return grade_id in self.tests

    def setup_until(self, grade_id: str) -> list[str]:
        """Run the locked helper cells that come before this test (once each)."""
        problems = []
        for cell in self.cells:
            if cell.name == grade_id:
                break
            if cell.kind != "code" or cell.name in self._ran or not cell.locked or cell.solution or cell.test:
                continue
            self._ran.add(cell.name)
            if used_names(cell.source) & self.student:
                continue  # an example: it runs in the kernel only
            self._bind_student_names()
            try:
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    exec(compile(_python_only(cell.source), f"<cell {cell.name}>", "exec"), self.namespace)
            except Exception as err:  # noqa: BLE001 - reported; the tests that need it fail
                problems.append(f"cell {cell.name} failed in the grader: {type(err).__name__}: {err}")
        return problems

    def _bind_student_names(self) -> None:
        self.namespace.update(remote.student_names(self.conn, self.student))

    def check(self, grade_id: str, sock, timeout: float) -> tuple[list, dict]:
        """Run test cell `grade_id` with the kernel on `sock`; its outputs and what happened."""
        cell = next(c for c in self.cells if c.name == grade_id)
        setup_problems = self.setup_until(grade_id)  # normally done already, off the kernel's clock
        self._bind_student_names()
        self.conn.attach(sock, timeout)
        out = io.StringIO()
        error = None
        remote.CURRENT = self.conn
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compile(_python_only(cell.source), f"<test {grade_id}>", "exec"), self.namespace)
        except remote.KernelUnreachable as err:
            error = ("KernelUnreachable", str(err))
        except Exception as err:  # noqa: BLE001 - a failing test: its message is the verdict
            error = (type(err).__name__, str(err) or _where(err))
        finally:
            remote.CURRENT = None
            self.conn.detach()
        references = sorted(self.conn.references)
        if references:
            error = ("ReferenceUsed", f"this part calls the course library's answer ({', '.join(references)}) "
                                      "instead of your own code: it earns no points")
        outputs = []
        if out.getvalue():
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=out.getvalue()[-20000:]))
        if error is not None:
            outputs.append(nbformat.v4.new_output("error", ename=error[0], evalue=error[1][:4000],
                                                  traceback=[f"{error[0]}: {error[1][:4000]}"]))
        return outputs, {"references": references, "problems": setup_problems, "calls": self.conn.calls}


def _where(err: BaseException) -> str:
    """For a bare `assert` without a message: the line of the test that failed (public or not,
    it is the instructor's line; hidden lines are not shown to the student)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename.startswith("<test ")]
    return f"a check failed (line {frames[-1].lineno} of the test)" if frames else "a check failed"
