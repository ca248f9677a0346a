"""The student-facing checks cannot be fooled and say what differed."""

import numpy as np
import pytest
import torch

from cvbook.grading.checks import CheckFailed, call_unchanged, check_close, check_equal, check_number, check_tensor


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def test_check_equal_is_not_fooled_by_an_object_that_equals_everything():
    with pytest.raises(CheckFailed, match="expected 4"):
        check_equal(AlwaysEqual(), 4, "answer")
    with pytest.raises(CheckFailed):
        check_equal((AlwaysEqual(), 2), (1, 2), "shape")


@pytest.mark.parametrize("got, expected", [(4, 4), (np.int64(4), 4), ([1, 2], (1, 2)),
                                           (torch.Size([1, 2]), (1, 2)), ({"a": 1}, {"a": 1})])
def test_check_equal_accepts_equal_plain_values(got, expected):
    check_equal(got, expected, "value")


@pytest.mark.parametrize("got, expected", [(5, 4), (4.0, 4), (True, 1), ((1, 2, 3), (1, 2)), ("4", 4)])
def test_check_equal_rejects_different_values_or_types(got, expected):
    with pytest.raises(CheckFailed):
        check_equal(got, expected, "value")


def test_check_tensor_names_the_first_difference():
    expected = torch.zeros(2, 3)
    got = expected.clone()
    got[1, 2] = 0.5
    with pytest.raises(CheckFailed, match=r"index \(1, 2\)"):
        check_tensor(got, expected, "output")
    with pytest.raises(CheckFailed, match="shape"):
        check_tensor(torch.zeros(3, 2), expected, "output")
    with pytest.raises(CheckFailed, match="dtype"):
        check_tensor(expected.double(), expected, "output")
    check_tensor(expected + 1e-9, expected, "output")


def test_check_close_rejects_non_numbers_and_far_values():
    check_close(1.0 + 1e-9, 1.0, "x")
    with pytest.raises(CheckFailed):
        check_close("1.0", 2.0, "x")
    with pytest.raises(CheckFailed):
        check_close(1.1, 1.0, "x")


def test_check_close_shows_enough_digits_to_see_the_difference():
    with pytest.raises(CheckFailed, match=r"expected 123456\.5, got 123457\.5|expected 123456\.5\d*, got 123457\.5"):
        check_close(123457.5, 123456.5, "bytes", rel=1e-9)
    with pytest.raises(CheckFailed, match=r"got 1\.00000\d+, expected 1\b|got 1\.0000\d+"):
        check_tensor(torch.tensor([1.0 + 1e-5]), torch.tensor([1.0]), "output", atol=0, rtol=0)


def test_check_number_wants_the_kind_of_number_the_instructions_name():
    check_number(0.5, 0.5, "sparsity")
    check_number(np.float64(0.5), 0.5, "sparsity")
    check_number(3, 3.0, "bytes", kind="number")
    check_number(3, 3, "zero_point", kind="int")
    for got, kind in [(torch.tensor(0.5), "float"), (1, "float"), (True, "int"), (2.0, "int"), ("3", "number")]:
        with pytest.raises(CheckFailed, match="expected (a|an) "):
            check_number(got, float(got) if not isinstance(got, str) else 3.0, "value", kind=kind)
    with pytest.raises(CheckFailed, match=r"\.item\(\)"):
        check_number(torch.tensor(0.5), 0.5, "sparsity")


def test_call_unchanged_reports_an_input_changed_in_place():
    x = torch.tensor([1.0, -2.0])
    assert torch.equal(call_unchanged(lambda t, s: t * s, "scale", {"x": x, "s": 2.0}), torch.tensor([2.0, -4.0]))
    with pytest.raises(CheckFailed, match="quantize changed its input x in place"):
        call_unchanged(lambda t: t.abs_(), "quantize", {"x": x})
    model = torch.nn.Linear(2, 2)
    with pytest.raises(CheckFailed, match="changed its input model in place"):
        call_unchanged(lambda m: torch.nn.init.zeros_(m.weight), "sparsity", {"model": model})
    with pytest.raises(CheckFailed, match="changed its input batch in place"):
        call_unchanged(lambda b: b[0].add_(1), "mean", {"batch": [torch.zeros(2), torch.ones(2)]})
    nan = torch.tensor([float("nan"), 1.0])
    call_unchanged(lambda t: t.clone(), "copy", {"x": nan})  # NaN is unchanged NaN
    g = torch.Generator().manual_seed(0)
    call_unchanged(lambda gen: torch.rand(2, generator=gen), "draw", {"generator": g})  # a generator may advance


@pytest.mark.parametrize("assignment", ["01_tensors", "02_data_loading", "03_fundamentals", "04_architectures",
                                        "07_training", "10_compression"])
def test_each_assignment_has_one_checker_module_that_imports_where_references_are_stand_ins(
        assignment, repo, tmp_path):
    """The setup cell imports the assignment's checkers from cvbook.grading.parts; in the grading
    kernel the graded references are stand-ins, and the module must still import there."""
    import json
    import os
    import subprocess
    import sys

    from cvbook.grading import references

    nb_path = next((repo / "solutions" / assignment).glob("*.ipynb"))
    module = f"cvbook.grading.parts.{assignment.lstrip('0123456789_')}"
    setup = next("".join(c["source"]) for c in json.loads(nb_path.read_text())["cells"]
                 if c["metadata"].get("nbgrader", {}).get("grade_id") == "setup")
    assert f"from {module} import" in setup
    references.library_without(references.graded_references(nb_path), tmp_path)
    code = f"import {module} as m, cvbook; print(cvbook.__file__, len([n for n in dir(m) if n.startswith('check_')]))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    path, count = out.stdout.split()
    assert path.startswith(str(tmp_path)) and int(count) >= 3


_KERNEL_CODE = '''
import torch
import torch.nn.utils.prune as prune

def switches_to_eval(model):
    model.eval()
    return 0.0

def zeroes_a_weight(model):
    with torch.no_grad():
        model[0].weight.zero_()
    return 0.0

def prunes(model):
    prune.l1_unstructured(model[0], "weight", 0.5)
    return 0.0

def freezes(model):
    model.requires_grad_(False)
    return 0.0

def reads(model):
    return float(sum(p.sum() for p in model.parameters()))

def make():
    return torch.nn.Linear(2, 2)

def touches(layer, x):
    x.add_(1)
    return layer(x).detach()
'''


def test_a_model_changed_by_the_students_code_is_seen_while_grading():
    """While grading, a model argument travels to the student's kernel as a copy: what the
    student's code does to that copy (weights, train/eval mode, pruning, requires_grad) comes
    back and is reported as an in-place change, as it is in the student's own kernel."""
    import json
    import socket
    import threading

    from cvbook.grading import codec, harness, remote

    user_ns: dict = {}
    exec(_KERNEL_CODE, user_ns)
    grader_side, kernel_side = socket.socketpair()

    def serve():
        while True:
            header = json.loads(harness.recv_frame(kernel_side))
            if header.get("op") == "done":
                return
            payload = harness.recv_frame(kernel_side) if header.get("payload") else None
            harness.send_frame(kernel_side, codec.dumps(harness._answer(header, payload, user_ns)))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    conn = remote.Connection()
    conn.attach(grader_side, 30)
    student = remote.student_names(conn, ["switches_to_eval", "zeroes_a_weight", "prunes", "freezes", "reads",
                                          "make", "touches"])

    def model():
        return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))

    try:
        for name, change in [("switches_to_eval", r"switched the model to eval\(\) mode"),
                             ("zeroes_a_weight", "changed the values of '0.weight'"),
                             ("prunes", "added: .*weight_orig"), ("freezes", "requires_grad=False")]:
            with pytest.raises(CheckFailed, match=f"{name} changed its input model in place \\(.*{change}"):
                call_unchanged(student[name], name, {"model": model()})
        m = model()
        assert call_unchanged(student["reads"], "reads", {"model": m}) == pytest.approx(
            float(sum(p.sum() for p in m.parameters())), rel=1e-6)
        # the notebook's own objects, passed back by handle, are not the grader's copies
        layer, x = student["make"](), torch.zeros(3, 2)
        student["touches"](layer, x)
        assert torch.equal(x, torch.ones(3, 2))
    finally:
        conn.detach()
        thread.join(10)


def test_a_block_that_changes_its_input_in_place_only_when_training_is_named():
    """Eval mode leaves x alone, train mode scales it in place: the training step names it."""
    from cvbook.grading.parts.architectures import check_basic_block
    from cvbook.models.resnet import BasicBlock

    class Honest(BasicBlock):  # a subclass: the check refuses cvbook's own class
        pass

    class ChangesItsInputWhenTraining(BasicBlock):
        def forward(self, x):
            if self.training:
                x.mul_(1.0)
            return super().forward(x)

    check_basic_block(Honest, 4, 4, 1, 6, seed=1)
    with pytest.raises(CheckFailed, match=r"train\(\) mode: forward changed its input .* in place"):
        check_basic_block(ChangesItsInputWhenTraining, 4, 4, 1, 6, seed=1)
