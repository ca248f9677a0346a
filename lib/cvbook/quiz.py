"""Self-check quizzes: questions written once in Python, checked, and shown with jupyterquiz.

A chapter's questions live in one module that defines `questions()`, a list built with
`choice(...)` and `numeric(...)`. Numeric answers are computed there with cvbook's own
functions, so the answer key moves with the library. `show_quiz(path)` checks the list
and displays it with jupyterquiz, whose JavaScript is embedded in the cell's output: the
quiz answers in JupyterLab and in the static book, with no network.

Every option carries an explanation of why it is right or wrong; every question carries
a level (easy, medium, hard), a hint and the common mistakes, shown as folded notes.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
from dataclasses import dataclass, field

LEVELS = ("easy", "medium", "hard")


@dataclass
class Option:
    text: str
    correct: bool
    why: str


@dataclass
class Question:
    key: str
    level: str
    kind: str                      # "choice" or "numeric"
    text: str
    hint: str
    mistakes: list[str]
    options: list[Option] = field(default_factory=list)      # choice
    answer: float | None = None                              # numeric
    tolerance: float = 0.0                                   # numeric: |typed - answer| <= tolerance
    why: str = ""                                            # numeric: explanation of the answer
    wrong: dict[float, str] = field(default_factory=dict)    # numeric: likely wrong values, explained
    code: str = ""


def choice(key: str, level: str, text: str, options: list[tuple[str, bool, str]], *, hint: str,
           mistakes: list[str], code: str = "") -> Question:
    """A multiple-choice question; `options` are (text, is_correct, why) triples."""
    return Question(key, level, "choice", text, hint, list(mistakes),
                    options=[Option(*o) for o in options], code=code)


def numeric(key: str, level: str, text: str, answer: float, why: str, *, hint: str,
            mistakes: list[str], wrong: dict[float, str] | None = None, tolerance: float = 0.0,
            code: str = "") -> Question:
    """A question answered with a number; `wrong` maps likely wrong values to why they are wrong."""
    return Question(key, level, "numeric", text, hint, list(mistakes), answer=answer,
                    tolerance=tolerance, why=why, wrong=dict(wrong or {}), code=code)


def check(questions: list[Question]) -> list[Question]:
    """Raise ValueError naming the question unless every question is complete and consistent."""
    keys = set()
    for q in questions:
        where = f"question {q.key!r}"
        if q.key in keys:
            raise ValueError(f"{where}: the key is used twice")
        keys.add(q.key)
        if q.level not in LEVELS:
            raise ValueError(f"{where}: level must be one of {LEVELS}, got {q.level!r}")
        if not q.text.strip() or not q.hint.strip() or not q.mistakes:
            raise ValueError(f"{where}: needs a question text, a hint and at least one common mistake")
        texts = [q.text, q.hint, q.why, *q.mistakes, *q.wrong.values(),
                 *(t for o in q.options for t in (o.text, o.why))]
        if any("$" in t for t in texts):
            raise ValueError(f"{where}: '$' would be read as mathematics by the quiz; write it out")
        if q.kind == "choice":
            if len(q.options) < 2 or sum(o.correct for o in q.options) != 1:
                raise ValueError(f"{where}: needs at least two options and exactly one right answer")
            if any(not o.why.strip() for o in q.options):
                raise ValueError(f"{where}: every option needs an explanation")
        elif q.kind == "numeric":
            if q.answer is None or not q.why.strip():
                raise ValueError(f"{where}: a numeric question needs an answer and its explanation")
            for value, why in q.wrong.items():
                if abs(value - q.answer) <= q.tolerance or not why.strip():
                    raise ValueError(f"{where}: the wrong value {value} is accepted or unexplained")
        else:
            raise ValueError(f"{where}: kind must be 'choice' or 'numeric', got {q.kind!r}")
    return questions


def _inline(text: str) -> str:
    """HTML for plain text with `code` spans (everything else escaped)."""
    parts = re.split(r"`([^`]*)`", text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                   for i, p in enumerate(parts))


def _number(x: float) -> str:
    return f"{x:,}" if float(x).is_integer() else f"{x:,.4g}"


def _question_html(q: Question) -> str:
    mistakes = "".join(f"<li>{_inline(m)}</li>" for m in q.mistakes)
    how = ("<p class='cvbook-quiz-how'>Type a number (no thousands separators) "
           "and press Enter.</p>" if q.kind == "numeric" else "")
    return (f"<span class='cvbook-quiz-level' data-level='{q.level}' style='font-size:0.75em;"
            f"text-transform:uppercase;border:1px solid;border-radius:4px;padding:0 4px;"
            f"margin-right:6px'>{q.level}</span>"
            f"{_inline(q.text)}{how}"
            f"<details class='cvbook-quiz-hint'><summary>Hint</summary>{_inline(q.hint)}</details>"
            f"<details class='cvbook-quiz-mistakes'><summary>Common mistakes</summary>"
            f"<ul>{mistakes}</ul></details>")


def to_jupyterquiz(questions: list[Question]) -> list[dict]:
    """The questions in jupyterquiz's JSON format."""
    out = []
    for q in check(questions):
        item = {"question": _question_html(q), "cvbook_key": q.key, "cvbook_level": q.level}
        if q.code:
            item["code"] = html.escape(q.code)
        if q.kind == "choice":
            item["type"] = "multiple_choice"
            item["answers"] = [{"answer": _inline(o.text), "correct": o.correct,
                                "feedback": ("Right. " if o.correct else "Not quite. ") + _inline(o.why)}
                               for o in q.options]
        else:
            item["type"] = "numeric"
            right = {"correct": True, "feedback": f"Right: {_number(q.answer)}. {_inline(q.why)}"}
            if q.tolerance:
                right["range"] = [q.answer - q.tolerance, q.answer + q.tolerance + 1e-12]
            else:
                right["type"], right["value"] = "value", q.answer
            answers = [right]
            for value, why in q.wrong.items():
                answers.append({"type": "value", "value": value, "correct": False,
                                "feedback": f"Not quite: {_number(value)} is a common slip. {_inline(why)}"})
            answers.append({"type": "default",
                            "feedback": "Not quite. Open the hint, redo the arithmetic and try again."})
            item["answers"] = answers
        out.append(item)
    return out


def load_questions(path: str | os.PathLike) -> list[Question]:
    """Run the quiz module at `path` and return its checked `questions()`."""
    spec = importlib.util.spec_from_file_location(f"cvbook_quiz_{abs(hash(str(path)))}", path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: not a Python quiz module (expected a .py file defining questions())")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "questions"):
        raise ValueError(f"{path}: defines no questions() function")
    return check(module.questions())


# jupyterquiz's only network access: if a page has MathJax 3 without `MathJax.typeset`, it
# loads MathJax from a CDN. The quizzes use no mathematics, so that fallback is switched off.
_CDN_FALLBACK = "script.src = 'https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js';"


def quiz_outputs(path: str | os.PathLike) -> list:
    """The display objects (an HTML container, then a Javascript that fills it) that
    `show_quiz` displays for the quiz module at `path`."""
    from unittest import mock

    import jupyterquiz.dynamic.display as jq
    from IPython.display import Javascript

    shown = []
    with mock.patch.object(jq, "display", side_effect=shown.append):
        jq.display_quiz(to_jupyterquiz(load_questions(path)), shuffle_answers=False, max_width=820,
                        border_radius=8)
    outputs = []
    for obj in shown:
        if isinstance(obj, Javascript):
            if _CDN_FALLBACK not in obj.data:
                raise RuntimeError("this jupyterquiz version loads MathJax differently: check what it "
                                   "fetches from the network before using it")
            obj = Javascript(obj.data.replace(_CDN_FALLBACK, "return;"))
        outputs.append(obj)
    return outputs


def show_quiz(path: str | os.PathLike) -> None:
    """Display the quiz defined at `path` (a module with `questions()`), with jupyterquiz.
    Everything it needs travels in the cell's output: it runs offline, in JupyterLab and in
    the built book."""
    from IPython.display import display

    for obj in quiz_outputs(path):
        display(obj)
