"""No file a reader, student or instructor meets shows the makers' words: the book's sources,
the exercise and solution notebooks (text and saved outputs), the README and benchmark
report, every string the library can print or document (docstrings, messages), and the
quizzes' questions. The rendered pages are checked again in a browser by test_book."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from wording import MAKERS_JARGON

REPO = Path(__file__).resolve().parents[1]
JARGON = re.compile("|".join(f"(?:{rx})" for rx in MAKERS_JARGON), re.I)


def notebook_texts(path: Path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        yield f"cell {i}", "".join(cell["source"])
        for out in cell.get("outputs", []):
            text = out.get("text") or "".join(out.get("data", {}).get("text/plain", ""))
            yield f"cell {i} output", "".join(text)


def library_strings(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield f"line {node.lineno}", node.value


def reader_facing_texts():
    for folder in ("exercises", "solutions"):
        for nb in sorted((REPO / folder).rglob("*.ipynb")):
            for where, text in notebook_texts(nb):
                yield f"{nb.relative_to(REPO)} {where}", text
    for doc in ["README.md", "BENCHMARKS.md", *sorted(p.relative_to(REPO).as_posix()
                                                       for p in (REPO / "book").rglob("*.md"))]:
        yield doc, (REPO / doc).read_text()
    for py in sorted([*(REPO / "lib" / "cvbook").rglob("*.py"), *(REPO / "book").rglob("*.py")]):
        for where, text in library_strings(py):
            yield f"{py.relative_to(REPO)} {where}", text


def test_the_pattern_catches_makers_words():
    for phrase in ["Seed 001 claims", "as in seed003", "see the issue", "the probe found",
                   "this session", "shared/reference/tiniest.md", "000_969d907707790e33.txt"]:
        assert JARGON.search(phrase), phrase
    for phrase in ["torch.manual_seed(0)", "a random seed", "an ONNX Runtime InferenceSession"]:
        assert not JARGON.search(phrase), phrase


def test_no_reader_facing_text_shows_makers_words():
    hits = [f"{where}: {m.group(0)!r}" for where, text in reader_facing_texts()
            for m in JARGON.finditer(text)]
    assert not hits, "makers' words a reader would see:\n" + "\n".join(hits)
