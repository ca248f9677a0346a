"""What a student sees in their own JupyterLab kernel when a test cell runs.

Importing a checker module (`cvbook.grading.parts.<assignment>`) in an IPython kernel
installs two small hooks:

* a test cell whose checks all pass prints one line saying so;
* an error raised while a check runs shows a short message instead of a traceback
  through the library: a failed check shows its message, an unanswered part (the
  `raise NotImplementedError()` left in the answer cell) says "part N is not answered
  yet", and an error in the student's own code shows only the student's lines.

Outside IPython (the grader's process, scripts, pytest) nothing is installed. The error
is still raised, so the cell still fails for nbgrader's Validate and autograde; only
what is displayed changes.
"""

from __future__ import annotations

import ast
import importlib
import sys
import traceback
from types import TracebackType

_CHECKERS = "cvbook.grading.parts."
_RED, _GREEN, _RESET = "\x1b[31m", "\x1b[32m", "\x1b[0m"


def parts(module: str) -> dict[str, int]:
    """The graded parts of one exercise, as its checker module `cvbook.grading.parts.<module>`
    declares them in PARTS: the name of the function or class the student writes -> the number
    of its part in the notebook."""
    return dict(importlib.import_module(_CHECKERS + module).PARTS)


def _part_number(name: str) -> int | None:
    """The part number of `name` in whichever exercise's checkers this kernel has imported."""
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith(_CHECKERS) and name in getattr(module, "PARTS", {}):
            return module.PARTS[name]
    return None


def part_label(name: str) -> str:
    """"part 2 (nchw_to_nhwc)", or the bare name for something that is not a graded part."""
    number = _part_number(name)
    return f"part {number} ({name})" if number is not None else name


def _frames(tb: TracebackType | None):
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def _is_student(frame, user_ns: dict) -> bool:
    return frame.f_globals is user_ns


def _owner(frame) -> str:
    """The function or class a frame of the student's code belongs to."""
    this = frame.f_locals.get("self")
    return type(this).__name__ if this is not None else frame.f_code.co_name


def _checked(tb) -> str | None:
    """The name of what the innermost checker of the traceback was checking."""
    name = None
    for frame, _ in _frames(tb):
        if frame.f_globals.get("__name__", "").startswith(_CHECKERS) and frame.f_code.co_name.startswith("check_"):
            code = frame.f_code
            if code.co_argcount:
                name = getattr(frame.f_locals.get(code.co_varnames[0]), "__name__", None) or name
    return name


def message(etype, value, tb, user_ns: dict) -> list[str] | None:
    """The lines to show for an error in a cell, or None to show Python's usual traceback."""
    from cvbook.grading.checks import CheckFailed

    student = [(f, line) for f, line in _frames(tb) if _is_student(f, user_ns)]
    inner = [(f, line) for f, line in student if f.f_code.co_name != "<module>"]
    if issubclass(etype, NotImplementedError) and inner:
        name = _owner(inner[-1][0])
        if _part_number(name) is not None:
            return [f"{_RED}{part_label(name)[0].upper() + part_label(name)[1:]} is not answered yet:{_RESET} "
                    f"replace `raise NotImplementedError()` in its answer cell with your code, run that "
                    f"cell, then run this one again."]
    checked = _checked(tb)
    if issubclass(etype, CheckFailed):
        where = part_label(checked) if checked else "a check"
        return [f"{_RED}{where[0].upper() + where[1:]} failed:{_RESET} {value}"]
    if checked is None:
        return None
    # An error in the student's code while a check called it: their lines only.
    lines = [f"{_RED}{part_label(checked)[0].upper() + part_label(checked)[1:]}: your code raised "
             f"{etype.__name__}: {value}{_RESET}"]
    summary = traceback.StackSummary.extract(
        ((f, line) for f, line in student if f.f_code.co_name != "<module>"), lookup_lines=True)
    lines += [entry.rstrip("\n") for entry in summary.format()]
    return lines


def _passed_line(raw_cell: str, user_ns: dict) -> str | None:
    """One line for a cell whose every statement is a call of a checker (or setup code)."""
    try:
        tree = ast.parse(raw_cell)
    except SyntaxError:
        return None
    checks, names = 0, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            function = user_ns.get(node.func.id)
            if getattr(function, "__module__", "").startswith(_CHECKERS) and \
                    str(getattr(function, "__name__", "")).startswith("check_"):   # not a model or helper
                checks += 1
                if node.args and isinstance(node.args[0], ast.Name) and node.args[0].id not in names:
                    names.append(node.args[0].id)
    if not checks:
        return None
    what = ", ".join(part_label(n) for n in names) or "this cell"
    counted = "its check" if checks == 1 else f"all {checks} of its checks"
    return f"{_GREEN}✓ {what} passes {counted} (grading runs more cases).{_RESET}"


def install(shell=None) -> bool:
    """Install the hooks in `shell` (the running IPython kernel); False where there is none."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None or getattr(shell, "_cvbook_messages", False):
        return shell is not None

    def show(shell, etype, value, tb, tb_offset=None):
        lines = message(etype, value, tb, shell.user_ns)
        if lines is None:
            lines = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
        shell._showtraceback(etype, value, lines)
        return lines

    def after(result):
        if result.success and result.info is not None:
            line = _passed_line(result.info.raw_cell or "", shell.user_ns)
            if line:
                print(line)

    shell.set_custom_exc((Exception,), show)
    shell.events.register("post_run_cell", after)
    shell._cvbook_messages = True
    return True
