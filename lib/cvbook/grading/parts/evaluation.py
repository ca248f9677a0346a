"""Checks of the evaluation assignment (most-confused pairs, reliability table, expected
calibration error)."""

from __future__ import annotations

import numbers

import torch

from cvbook.evaluate import analysis, calibration
from cvbook.grading.checks import CheckFailed, call_unchanged, check_number, check_tensor


# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"most_confused_pairs": 1, "reliability_table": 2, "expected_calibration_error": 3}


def _matrix(cm: torch.Tensor) -> str:
    return f"confusion matrix {cm.tolist()}" if cm.numel() <= 16 else \
        f"a {cm.shape[0]}x{cm.shape[1]} confusion matrix with {int(cm.sum())} images"


def _count(x) -> int | None:
    """x as an int when it is one (a Python int or a one-element integer tensor), else None."""
    if isinstance(x, torch.Tensor) and x.numel() == 1 and not x.is_floating_point() and x.dtype != torch.bool:
        return int(x)
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return int(x)
    return None


def check_most_confused_pairs(most_confused_pairs, confusion: torch.Tensor, class_names, k: int = 10) -> None:
    """A list of (true class, predicted class, count) tuples, as the library's."""
    what = f"most_confused_pairs({_matrix(confusion)}, {len(class_names)} class names, k={k})"
    expected = analysis.most_confused_pairs(confusion, class_names, k)
    got = call_unchanged(most_confused_pairs, "most_confused_pairs",
                         {"confusion": confusion, "class_names": class_names}, {"k": k}, what=what)
    if not isinstance(got, (list, tuple)):
        raise CheckFailed(f"{what}: expected a list of (true class, predicted class, count), got "
                          f"{type(got).__name__}")
    pairs = []
    for item in got:
        if not (isinstance(item, (list, tuple)) and len(item) == 3 and isinstance(item[0], str)
                and isinstance(item[1], str) and _count(item[2]) is not None):
            raise CheckFailed(f"{what}: every entry must be a tuple (true class name, predicted class name, "
                              f"count as an int), got {item!r}"[:400])
        pairs.append((item[0], item[1], _count(item[2])))
    if pairs == expected:
        return
    swapped = [(p, t, c) for t, p, c in pairs]
    if expected and swapped == expected:
        raise CheckFailed(f"{what}: each tuple is (predicted, true); the order is (true class = row, "
                          f"predicted class = column, count)")
    if any(t == p for t, p, _ in pairs):
        raise CheckFailed(f"{what}: {next((t, p, c) for t, p, c in pairs if t == p)} is on the diagonal: "
                          f"a correct prediction is not a confusion; leave the diagonal out")
    if any(c == 0 for _, _, c in pairs):
        raise CheckFailed(f"{what}: a cell with count 0 is not a confusion; leave zero cells out "
                          f"(expected {len(expected)} pairs, got {len(pairs)})")
    if len(pairs) != len(expected):
        raise CheckFailed(f"{what}: expected {len(expected)} pairs (the k largest off-diagonal cells, "
                          f"fewer if fewer are non-zero), got {len(pairs)}")
    if sorted(pairs) == sorted(expected) or [c for *_, c in pairs] == [c for *_, c in expected]:
        where = next(i for i, (a, b) in enumerate(zip(pairs, expected)) if a != b)
        raise CheckFailed(f"{what}: the counts are right but cells with equal counts come in the wrong order "
                          f"at position {where}: expected {expected[where]}, got {pairs[where]}; equal counts "
                          f"keep the order of the matrix read row by row (true class first, then predicted)")
    raise CheckFailed(f"{what}: expected {expected}, got {pairs}"[:600])


def _logits_case(logits: torch.Tensor, labels: torch.Tensor, n_bins: int) -> str:
    return (f"(logits of shape {tuple(logits.shape)}, labels of shape {tuple(labels.shape)}, "
            f"n_bins={n_bins})")


def check_reliability_table(reliability_table, logits: torch.Tensor, labels: torch.Tensor,
                            n_bins: int = 15) -> None:
    """A dict of three tensors of length n_bins: count (integer), confidence and accuracy (float)."""
    what = "reliability_table" + _logits_case(logits, labels, n_bins)
    expected = calibration.reliability_table(logits, labels, n_bins)
    got = call_unchanged(reliability_table, "reliability_table", {"logits": logits, "labels": labels},
                         {"n_bins": n_bins}, what=what)
    if not isinstance(got, dict) or set(got) != {"count", "confidence", "accuracy"}:
        shown = sorted(got) if isinstance(got, dict) else type(got).__name__
        raise CheckFailed(f"{what}: expected a dict with the keys 'count', 'confidence' and 'accuracy', "
                          f"got {shown}")
    count = got["count"]
    if isinstance(count, torch.Tensor) and (count.is_floating_point() or count.dtype == torch.bool):
        raise CheckFailed(f"{what}: 'count' must hold integers (a number of predictions per bin), got dtype "
                          f"{count.dtype}")
    if isinstance(count, torch.Tensor) and count.shape == expected["count"].shape \
            and int(count.sum()) < len(labels) and not torch.equal(count.long(), expected["count"]):
        raise CheckFailed(f"{what}: the bins hold {int(count.sum())} predictions, expected all {len(labels)}: "
                          f"a confidence of exactly 1.0 belongs in the last bin")
    check_tensor(count.long() if isinstance(count, torch.Tensor) else count, expected["count"],
                 f"{what}['count']", atol=0, rtol=0)
    for key in ("confidence", "accuracy"):
        value = got[key]
        if isinstance(value, torch.Tensor) and not value.is_floating_point():
            raise CheckFailed(f"{what}['{key}']: expected a floating-point tensor, got dtype {value.dtype}")
        if isinstance(value, torch.Tensor) and value.shape == expected[key].shape and bool(value.isnan().any()):
            raise CheckFailed(f"{what}['{key}']: an empty bin must give 0, not nan")
        check_tensor(value, expected[key], f"{what}['{key}']", atol=1e-6, rtol=1e-5, check_dtype=False)


def check_expected_calibration_error(expected_calibration_error, logits: torch.Tensor, labels: torch.Tensor,
                                     n_bins: int = 15) -> None:
    """A Python float, the library's ECE to 1e-6."""
    what = "expected_calibration_error" + _logits_case(logits, labels, n_bins)
    expected = calibration.expected_calibration_error(logits, labels, n_bins)
    got = call_unchanged(expected_calibration_error, "expected_calibration_error",
                         {"logits": logits, "labels": labels}, {"n_bins": n_bins}, what=what)
    check_number(got, expected, what, kind="float", rel=1e-5, abs_=1e-6)


def two_models(n: int = 2000, classes: int = 10) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The written part 4: the logits of two models, A and B, for the same `n` images, and the
    images' labels, simulated with a fixed seed so that every student reads the same tables."""
    g = torch.Generator().manual_seed(8)
    scores = torch.randn(n, classes, generator=g) * 3.0
    labels = torch.multinomial(scores.softmax(dim=1), 1, generator=g).squeeze(1)
    return scores * 2.0, scores * 0.4, labels
