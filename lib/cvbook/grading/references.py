"""The graded parts' references: out of the kernel's reach, and copies of them flagged.

An assignment names the course library's functions and classes that answer its graded
parts, in its source notebook's metadata: `{"cvbook": {"graded_references":
["cvbook.compress.quant_math:quantize", "cvbook.models.resnet:BasicBlock", ...]}}`.

While it grades, the kernel imports a copy of the library (`library_without`) in which
each of those is a stand-in with the same signature whose body only raises (and tells
the grader it was called, so the part scores zero and the report says why). Every other
function of the library is intact, so setup and example cells keep working. The real
source is not in the sandbox at all: neither importable, under any name, nor readable.

`copy_similarity` compares a student's cell with the references' source after
normalising names, docstrings and layout: the share of the reference's tokens that the
cell repeats, in order. A score of at least COPY_THRESHOLD (or COPY_MARGIN above the
course's own solution, where the exercise dictates a layout close to the library's) on a
reference of at least MIN_TOKENS tokens is flagged for the instructor, not scored: short
functions have few ways to be written.
"""

from __future__ import annotations

import ast
import compileall
import difflib
import importlib
import inspect
import io
import json
import shutil
import tokenize
from pathlib import Path

COPY_THRESHOLD = 0.85
COPY_MARGIN = 0.05
MIN_TOKENS = 40


def graded_references(source_notebook: Path | str) -> list[str]:
    """The "module:qualname" references an assignment declares (see the module docstring)."""
    meta = json.loads(Path(source_notebook).read_text()).get("metadata", {})
    refs = meta.get("cvbook", {}).get("graded_references", [])
    for ref in refs:
        module, _, name = ref.partition(":")
        if not module.startswith("cvbook.") or not name:
            raise ValueError(f"{source_notebook}: graded reference {ref!r} is not 'cvbook.module:name'")
    return list(refs)


def _stand_in_body(full_name: str) -> list[ast.stmt]:
    call = f"raise __import__('cvbook.grading.harness', fromlist=['_']).reference_called({full_name!r})"
    return ast.parse(call).body


def _strip(tree: ast.Module, module: str, names: set[str]) -> set[str]:
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            node.body = _stand_in_body(f"{module}.{node.name}")
            found.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name in names:
            kept = []
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    item.body = _stand_in_body(f"{module}.{node.name}")
                    kept.append(item)
                elif not (isinstance(item, ast.Expr) and isinstance(getattr(item, "value", None), ast.Constant)):
                    kept.append(item)
            if not any(isinstance(i, ast.FunctionDef) and i.name == "__init__" for i in kept):
                init = ast.parse("def __init__(self, *args, **kwargs):\n    pass").body[0]
                init.body = _stand_in_body(f"{module}.{node.name}")
                kept.insert(0, init)
            node.body = kept
            found.add(node.name)
    return found


def library_without(references: list[str], dest: Path | str) -> Path:
    """A copy of the installed cvbook package at dest/cvbook with `references` replaced by
    stand-ins (compiled, so the kernel imports it as fast as the original)."""
    import cvbook

    package = Path(cvbook.__file__).resolve().parent
    out = Path(dest) / "cvbook"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(package, out, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    by_module: dict[str, set[str]] = {}
    for ref in references:
        module, _, name = ref.partition(":")
        by_module.setdefault(module, set()).add(name)
    for module, names in by_module.items():
        path = out.joinpath(*module.split(".")[1:]).with_suffix(".py")
        if not path.is_file():
            raise ValueError(f"graded reference module {module} is not in the library")
        tree = ast.parse(path.read_text())
        missing = names - _strip(tree, module, names)
        if missing:
            raise ValueError(f"graded references not found in {module}: {sorted(missing)}")
        path.write_text(ast.unparse(ast.fix_missing_locations(tree)) + "\n")
    if not compileall.compile_dir(str(out), quiet=2, workers=1):
        raise RuntimeError(f"the library copy in {out} does not compile")
    for p in [out, *out.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return out


# --------------------------------------------------------------------------- copies


def reference_source(ref: str) -> str:
    module, _, name = ref.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return inspect.getsource(obj)


def normalised_tokens(source: str) -> list[str]:
    """Tokens of `source` with docstrings, comments and layout dropped and every name it
    binds (arguments, variables, functions) replaced by one placeholder: renaming changes nothing."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    local = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            local.add(node.arg)
            node.arg = "v"
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            node.name = "f"
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in local:
            node.id = "v"
    text = ast.unparse(tree)
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.COMMENT, tokenize.ENDMARKER)]


def copy_similarity(student_code: str, ref_source: str) -> float:
    """How much of the reference the student's code repeats, in [0, 1]."""
    ref = normalised_tokens(ref_source)
    mine = normalised_tokens(student_code)
    if len(ref) < MIN_TOKENS or not mine:
        return 0.0
    matcher = difflib.SequenceMatcher(None, mine, ref, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(ref)


def flag_copies(student_cells: dict[str, str], references: list[str],
                solution_cells: dict[str, str] | None = None) -> list[str]:
    """One line per solution cell that repeats a reference's source past the threshold:
    COPY_THRESHOLD, or COPY_MARGIN above the course's own solution of that cell where the
    exercise dictates a layout that already resembles the library's (a module's attributes)."""
    sources = {}
    for ref in references:
        try:
            sources[ref] = reference_source(ref)
        except (OSError, TypeError, AttributeError, ImportError):
            continue
    flags = []
    for cell, code in student_cells.items():
        for ref, source in sources.items():
            score = copy_similarity(code, source)
            baseline = copy_similarity((solution_cells or {}).get(cell, ""), source)
            threshold = max(COPY_THRESHOLD, baseline + COPY_MARGIN)
            if score >= threshold:
                flags.append(f"cell {cell} repeats {score:.0%} of the library's {ref} "
                             f"(flagged at {threshold:.0%}): check it by hand")
    return flags
