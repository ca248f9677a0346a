"""Checks of the results assignment (time to accuracy held, Pareto front, speed-ups)."""

from __future__ import annotations

import copy
import numbers

from cvbook.evaluate import compare, tables
from cvbook.grading.checks import CheckFailed, call_unchanged, check_number
from cvbook.train import headline


# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"minutes_to_accuracy": 1, "pareto_front": 2, "speedups": 3}


def _history(minutes: list, accuracies: list) -> str:
    if len(accuracies) <= 8:
        return f"minutes={list(minutes)}, accuracies={list(accuracies)}"
    return (f"a run of {len(accuracies)} epochs (minutes {minutes[0]:.4g} ... {minutes[-1]:.4g}, accuracies "
            f"{list(accuracies[:4])} ... {list(accuracies[-2:])})")


def expected_minutes(minutes: list, accuracies: list, threshold: float) -> float | None:
    """The library's time to accuracy (cvbook.train.headline.time_to_accuracy), read in the
    cumulative minutes of the epoch it names."""
    seconds = [60 * (m - (minutes[i - 1] if i else 0)) for i, m in enumerate(minutes)]
    reached = headline.time_to_accuracy({"test_acc": list(accuracies), "epoch_time_s": seconds}, (threshold,))
    held = reached[threshold]
    return None if held is None else minutes[held[0] - 1]


def check_minutes_to_accuracy(minutes_to_accuracy, minutes: list, accuracies: list, threshold: float) -> None:
    """None, or the cumulative minutes of the first epoch from which the accuracy stays >= threshold."""
    what = f"minutes_to_accuracy({_history(minutes, accuracies)}, threshold={threshold})"
    expected = expected_minutes(minutes, accuracies, threshold)
    got = call_unchanged(minutes_to_accuracy, "minutes_to_accuracy",
                         {"minutes": minutes, "accuracies": accuracies, "threshold": threshold}, what=what)
    if expected is None:
        if got is not None:
            last = accuracies[-1] if accuracies else None
            why = ("the run has no epochs" if last is None else
                   f"the last epoch ({last}) is below {threshold}, so the run never stays at or above it")
            raise CheckFailed(f"{what}: expected None ({why}), got {got!r}"[:500])
        return
    if got is None:
        raise CheckFailed(f"{what}: expected {expected} minutes, got None: the run stays at or above {threshold} "
                          f"from the epoch ending at {expected} minutes")
    first = next(i for i, a in enumerate(accuracies) if a >= threshold)
    if isinstance(got, numbers.Real) and got != expected:
        if got == minutes[first]:
            raise CheckFailed(f"{what}: expected {expected}, got {got}, the minutes of the first epoch that "
                              f"touched {threshold}; the accuracy fell below it later, so that epoch does not count")
        epoch = minutes.index(expected) + 1
        if isinstance(got, numbers.Integral) and got in (epoch, epoch - 1):
            raise CheckFailed(f"{what}: expected {expected} minutes (the end of epoch {epoch}), got {got}: return "
                              f"the minutes, not the epoch number")
    check_number(got, expected, what, kind="number", rel=1e-12, abs_=1e-12)


def _results(results: dict) -> str:
    return "{" + ", ".join(f"{n!r}: ({r['accuracy']}, {r['latency_ms']} ms)" for n, r in results.items()) + "}"


def check_pareto_front(pareto_front, results: dict) -> None:
    """A list of model names, as the library's, in its order."""
    what = f"pareto_front({_results(results) if len(results) <= 6 else f'{len(results)} models'})"
    expected = compare.pareto_front(copy.deepcopy(results))
    got = call_unchanged(pareto_front, "pareto_front", {"results": results}, what=what)
    if not (isinstance(got, (list, tuple)) and all(isinstance(n, str) for n in got)):
        raise CheckFailed(f"{what}: expected a list of model names, got {got!r}"[:400])
    got = [str(n) for n in got]
    if got == expected:
        return
    for name in got:
        if name not in results:
            raise CheckFailed(f"{what}: {name!r} is not one of the models")
        if name not in expected:
            a = results[name]
            by = next(o for o in expected if results[o]["accuracy"] >= a["accuracy"]
                      and results[o]["latency_ms"] <= a["latency_ms"])
            raise CheckFailed(f"{what}: {name!r} ({a['accuracy']}, {a['latency_ms']} ms) is not on the front: "
                              f"{by!r} ({results[by]['accuracy']}, {results[by]['latency_ms']} ms) is at least as "
                              f"accurate and at least as fast, and better on one of the two")
    for name in expected:
        if name not in got:
            raise CheckFailed(f"{what}: {name!r} is missing: no other model is at least as accurate and at least "
                              f"as fast and better on one of the two (a model with the very same numbers does "
                              f"not beat it)")
    if len(got) != len(expected):
        raise CheckFailed(f"{what}: each model once: expected {expected}, got {got}"[:500])
    raise CheckFailed(f"{what}: the right models in the wrong order: expected {expected}, got {got}; sort by "
                      f"latency (fastest first), then by accuracy (best first), then by name"[:600])


def _rows(rows: list) -> str:
    def one(r):
        return f"({r['model']!r}, {r['variant']!r}, {r.get('latency_b1_ms')}, {r.get('latency_b64_ms')})"
    return "[" + ", ".join(one(r) for r in rows) + "]" if len(rows) <= 4 else f"{len(rows)} rows"


def check_speedups(speedups, rows: list) -> None:
    """One (x float at batch 1, x float at batch 64) pair per row, each None or within 6e-4 of the
    library's (which rounds to 3 decimals)."""
    what = f"speedups({_rows(rows)})"
    reference = tables.set_speedups(copy.deepcopy(rows))
    expected = [(r["speedup_b1"], r["speedup_b64"]) for r in reference]
    got = call_unchanged(speedups, "speedups", {"rows": rows}, what=what)
    if not isinstance(got, (list, tuple)) or len(got) != len(rows):
        shown = f"{len(got)} entries" if isinstance(got, (list, tuple)) else type(got).__name__
        raise CheckFailed(f"{what}: expected a list of {len(rows)} (batch 1, batch 64) pairs, one per row, "
                          f"got {shown}")
    for i, (pair, want, row) in enumerate(zip(got, expected, rows)):
        where = f"{what}, row {i} ({row['model']!r}, {row['variant']!r})"
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise CheckFailed(f"{where}: expected a pair (batch 1, batch 64), got {pair!r}"[:400])
        for batch, value, w in zip(("batch 1", "batch 64"), pair, want):
            if w is None:
                if value is not None:
                    raise CheckFailed(f"{where}, {batch}: expected None (a time is missing or 0, or the model has "
                                      f"no float32 row), got {value!r}"[:400])
                continue
            if value is None:
                raise CheckFailed(f"{where}, {batch}: expected {w}, got None")
            if isinstance(value, numbers.Real) and value and abs(1 / value - w) < 6e-4 < abs(value - w):
                raise CheckFailed(f"{where}, {batch}: expected {w}, got {value}, upside down: x float is the "
                                  f"float32 row's ms over this row's ms (faster than float32 gives more than 1)")
            check_number(value, w, f"{where}, {batch}", kind="number", rel=0, abs_=6e-4)
