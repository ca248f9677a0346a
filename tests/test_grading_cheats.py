"""Cheats that use the course library, on the real 10_compression assignment (six parts
of 2 points): each submission must score exactly what its honest parts earn, and the
instructor's report and dashboard must say which parts used the library's answer or
repeat its source."""

from __future__ import annotations

import inspect

import pytest

from cvbook.compress import quant_math
from cvbook.grading import course, dashboard, grade, references

pytestmark = pytest.mark.slow
ASSIGNMENT = "10_compression"
PARTS = {"choose_qparams": "test_choose_qparams", "quantize": "test_quantize", "dequantize": "test_dequantize",
         "magnitude_mask": "test_magnitude_mask", "model_sparsity": "test_model_sparsity",
         "int8_size_bytes": "test_int8_size_bytes"}

CALLS = {
    "choose_qparams": "def choose_qparams(x):\n    s, z = quant_math.choose_qparams(x, bits=8, signed=True)\n"
                      "    return float(s), int(z)",
    "quantize": "def quantize(x, scale, zero_point):\n"
                "    return quant_math.quantize(x, scale, zero_point, bits=8, signed=True)",
    "dequantize": "def dequantize(q, scale, zero_point):\n    return quant_math.dequantize(q, scale, zero_point)",
    "magnitude_mask": "def magnitude_mask(weight, sparsity):\n    layer = nn.Linear(1, 1, bias=False)\n"
                      "    layer.weight = nn.Parameter(weight.detach().clone().reshape(weight.shape[0], -1))\n"
                      "    pruning.prune_per_layer(layer, sparsity, permanent=False)\n"
                      "    return layer.weight_mask.bool().reshape(weight.shape)",
    "model_sparsity": "def model_sparsity(model):\n    return pruning.sparsity_report(model)['total']['sparsity']",
}
WRONG_QUANTIZE = "def quantize(x, scale, zero_point):\n    return (x / scale + zero_point).to(torch.int8)"  # no round, no clamp
WRONG_DEQUANTIZE = "def dequantize(q, scale, zero_point):\n    return (q - zero_point).float() * scale"  # int8 overflow
WRONG_QPARAMS = "def choose_qparams(x):\n    scale = (x.max() - x.min()) / 256\n    return float(scale), 0"
WRONG_SPARSITY = ("def model_sparsity(model):\n    ws = [m.weight for m in model.modules() if hasattr(m, 'weight')]\n"
                  "    return sum(float((w == 0).float().mean()) for w in ws) / len(ws)")
COPIED_QPARAMS = ("QMIN_, QMAX_ = -128, 127\n\n"
                  + inspect.getsource(quant_math.choose_qparams).replace("def choose_qparams(", "def _library_version(")
                  .replace("qmin, qmax = qrange(bits, signed)", "qmin, qmax = QMIN_, QMAX_")
                  .replace("_min_max(x, axis)", "(x.min(), x.max())").replace("_EPS", "1e-12")
                  + "\n\ndef choose_qparams(x):\n    s, z = _library_version(x)\n    return float(s), int(z)")

# student -> (answers, points earned)
STUDENTS = {
    "honest": ({}, 12),
    "calls_reference": (CALLS, 2),
    "computed_import": ({
        "choose_qparams": "import sys\ndef choose_qparams(x):\n"
                          "    s, z = sys.modules['cvbook.compress.quant_math'].choose_qparams(x)\n"
                          "    return float(s), int(z)",
        "quantize": "import importlib\ndef quantize(x, scale, zero_point):\n"
                    "    return importlib.import_module('cvbook.compress.' + 'quant_' + 'math').quantize(x, scale, zero_point)",
        "dequantize": "def dequantize(q, scale, zero_point):\n"
                      "    return __import__('cvbook.compress.quant_math', fromlist=['x']).dequantize(q, scale, zero_point)",
    }, 6),
    "exec_source": ({"quantize": "import cvbook.compress.quant_math as qm\nnamespace = {}\n"
                                 "exec(open(qm.__file__).read(), namespace)\n"
                                 "def quantize(x, scale, zero_point):\n"
                                 "    return namespace['quantize'](x, scale, zero_point)"}, 10),
    "rebinds_references": ({
        "quantize": WRONG_QUANTIZE + "\nquant_math.quantize = lambda x, s, z, **k: quantize(x, s, z)",
        "dequantize": WRONG_DEQUANTIZE + "\nquant_math.dequantize = lambda q, s, z, **k: dequantize(q, s, z)",
        "model_sparsity": WRONG_SPARSITY + "\npruning.sparsity_report = lambda m, *a: "
                                           "{'total': {'sparsity': model_sparsity(m)}}",
    }, 6),
    "rebinds_checks": ({"choose_qparams": WRONG_QPARAMS + "\nimport cvbook.grading.checks as c\n"
                                                          "c.check_close = c.check_equal = lambda *a, **k: None\n"
                                                          "check_close = check_equal = lambda *a, **k: None"}, 10),
    "copies_source": ({"choose_qparams": COPIED_QPARAMS}, 12),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, repo):
    root = course.copy_course(tmp_path_factory.mktemp("cheats"), repo)
    course.release(root, [ASSIGNMENT])
    for student, (answers, _) in STUDENTS.items():
        for nb_path in sorted((root / "solutions" / ASSIGNMENT).glob("*.ipynb")):
            import nbformat

            source = nbformat.read(nb_path, as_version=4)
            released = nbformat.read(root / "exercises" / ASSIGNMENT / nb_path.name, as_version=4)
            course.write_submission(root, student, ASSIGNMENT, nb_path.name,
                                    course.make_submission(released, source, answers))
    results = grade.grade_assignment(ASSIGNMENT, root, jobs=2, timeout=240, cell_timeout=60)
    return root, {r.student: r for r in results}


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_each_cheat_scores_exactly_its_honest_parts(graded, student):
    _, results = graded
    r = results[student]
    assert (r.score, r.max_score) == (STUDENTS[student][1], 12), f"{student}: {r.score} ({r.problems})"


def test_the_report_names_each_part_that_used_the_library(graded):
    root, results = graded
    used = results["calls_reference"].references
    assert sorted(used) == sorted(PARTS[p] for p in CALLS), used
    assert "cvbook.compress.quant_math.quantize" in used["test_quantize"]
    assert "cvbook.compress.prune.sparsity_report" in used["test_model_sparsity"]
    assert sorted(results["computed_import"].references) == ["test_choose_qparams", "test_dequantize", "test_quantize"]
    assert list(results["exec_source"].references) == ["test_quantize"]
    assert not results["honest"].references and not results["rebinds_references"].references
    shown = dashboard.dashboard_data(root)["problems"][ASSIGNMENT]["calls_reference"]
    assert any("test_quantize: used the library's answer cvbook.compress.quant_math.quantize" in p for p in shown)


def test_copied_library_source_is_flagged_not_scored(graded):
    root, results = graded
    assert results["copies_source"].copies and "cvbook.compress.quant_math:choose_qparams" in \
        results["copies_source"].copies[0]
    assert not results["honest"].copies  # the course's own solution is not a copy
    shown = dashboard.dashboard_data(root)["problems"][ASSIGNMENT]["copies_source"]
    assert any(p.startswith("possible copy:") for p in shown)


def test_the_kernel_imports_stand_ins_not_the_references(tmp_path):
    """The library copy the kernel gets: graded references raise, the rest is intact, and the
    real source is not in it."""
    refs = ["cvbook.compress.quant_math:quantize", "cvbook.models.resnet:BasicBlock"]
    out = references.library_without(refs, tmp_path)
    text = (out / "compress" / "quant_math.py").read_text()
    assert "reference_called('cvbook.compress.quant_math.quantize')" in text
    assert "torch.round(x.float() * (1.0 / s))" not in text  # the answer's line is gone
    assert "def dequantize(" in text and "(q.to(torch.int64) - zp)" in text  # the rest is intact
    assert "reference_called('cvbook.models.resnet.BasicBlock')" in (out / "models" / "resnet.py").read_text()
    with pytest.raises(ValueError, match="not found"):
        references.library_without(["cvbook.compress.quant_math:no_such_function"], tmp_path / "x")


def test_copy_similarity_ignores_names_and_layout():
    source = inspect.getsource(quant_math.choose_qparams)
    renamed = source.replace("lo", "low").replace("hi", "high").replace("qmin", "a").replace('"""', "'''")
    assert references.copy_similarity(renamed, source) > 0.95
    own = "def choose_qparams(x):\n    lo = min(x.min(), 0)\n    return (max(x.max(), 0) - lo) / 255, -128"
    assert references.copy_similarity(own, source) < references.COPY_THRESHOLD
