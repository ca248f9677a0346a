"""Checks that exercise test cells call. Each failure tells the student what was
compared, on which input, and what differed, so the message is something to act on."""

from __future__ import annotations

import numbers
from typing import Any, Callable

import torch


class CheckFailed(AssertionError):
    """A graded check did not pass; the message is written for the student."""


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)}, dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:200]


def _pair(got: float, expected: float) -> tuple[str, str]:
    """Both numbers with enough significant digits to show how far apart they are."""
    gap = got - expected
    for digits in range(6, 18):
        a, b = f"{got:.{digits}g}", f"{expected:.{digits}g}"
        if a != b and abs(float(a) - float(b) - gap) <= 0.1 * abs(gap):
            break
    return a, b


def check_tensor(got: Any, expected: torch.Tensor, what: str, *, atol: float = 1e-6,
                 rtol: float = 1e-5, check_dtype: bool = True) -> None:
    """`got` must be a tensor like `expected`: same shape, dtype (optionally) and values."""
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{what}: expected a torch.Tensor, got {_describe(got)}")
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(f"{what}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    if check_dtype and got.dtype != expected.dtype:
        raise CheckFailed(f"{what}: expected dtype {expected.dtype}, got {got.dtype}")
    g, e = got.detach().double(), expected.detach().double()
    if not torch.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        diff = (g - e).abs()
        diff = torch.where(torch.isnan(diff), torch.full_like(diff, float("inf")), diff)
        idx = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0])
        shown_got, shown_expected = _pair(g[idx].item(), e[idx].item())
        raise CheckFailed(
            f"{what}: values differ (largest difference {diff.max().item():.3g} at index {idx}: "
            f"got {shown_got}, expected {shown_expected})")


def _plain(x: Any, what: str, expected: Any) -> Any:
    """`x` as builtin values only, so that comparing it runs no code the student wrote
    (an object whose __eq__ always says True must not pass)."""
    if isinstance(x, bool):
        return x
    if isinstance(x, numbers.Integral):
        return int(x)
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, str):
        return str(x)
    if isinstance(x, (tuple, list, torch.Size)):
        return tuple(_plain(i, what, expected) for i in x)
    if isinstance(x, dict):
        return {_plain(k, what, expected): _plain(v, what, expected) for k, v in x.items()}
    if x is None:
        return None
    raise CheckFailed(f"{what}: expected {expected!r}, got {_describe(x)}")


def check_equal(got: Any, expected: Any, what: str) -> None:
    """Exact equality for plain values (ints, floats, strings, tuples, dicts)."""
    g, e = _plain(got, what, expected), _plain(expected, what, expected)
    if type(g) is not type(e) or g != e:
        shown = repr(got) if isinstance(got, (int, str, tuple)) else _describe(got)
        raise CheckFailed(f"{what}: expected {expected!r}, got {shown}")


def check_close(got: Any, expected: float, what: str, *, rel: float = 1e-6, abs_: float = 1e-9) -> None:
    """A number within a tolerance of the reference."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: expected a number, got {_describe(got)}") from None
    if not abs(value - expected) <= max(abs_, rel * abs(expected)):
        shown_got, shown_expected = _pair(value, expected)
        raise CheckFailed(f"{what}: expected {shown_expected}, got {shown_got}")


_KINDS = {"float": "a float", "int": "an int", "number": "a number (int or float)"}


def check_number(got: Any, expected: float, what: str, *, kind: str = "float", rel: float = 1e-6,
                 abs_: float = 1e-9) -> None:
    """A plain Python number of the kind the instructions name ("float", "int" or "number":
    either), within a tolerance of the reference. A tensor, even with one element, is not a number."""
    ok = isinstance(got, numbers.Real) and not isinstance(got, bool)
    if kind == "float":
        ok = ok and not isinstance(got, numbers.Integral)
    elif kind == "int":
        ok = ok and isinstance(got, numbers.Integral)
    if not ok:
        hint = " (use float(...) or .item() to turn a one-element tensor into a number)" \
            if isinstance(got, torch.Tensor) and got.numel() == 1 else ""
        raise CheckFailed(f"{what}: expected {_KINDS[kind]}, got {_describe(got)}{hint}")
    check_close(got, expected, what, rel=rel, abs_=abs_)


def check_strides(got: Any, expected: tuple, shape: tuple, what: str) -> None:
    """Strides (in elements) as PyTorch's is_contiguous reads them: a dimension of size 1 is
    never stepped along, so its stride can be anything; every other stride must match."""
    try:
        got = tuple(_plain(got, what, expected))
    except TypeError:
        raise CheckFailed(f"{what}: expected strides {expected}, got {_describe(got)}") from None
    if len(got) != len(expected) or any(type(s) is not int for s in got):
        raise CheckFailed(f"{what}: expected {len(expected)} int strides {expected}, got {got!r}"[:400])
    wrong = [d for d, size in enumerate(shape) if size != 1 and got[d] != expected[d]]
    if wrong:
        raise CheckFailed(f"{what}: expected strides {tuple(expected)}, got {got} (they differ in "
                          f"dimension{'s' if len(wrong) > 1 else ''} {', '.join(map(str, wrong))} of shape {tuple(shape)})")


# --------------------------------------------------------------------------- inputs left alone


def _snapshot(x: Any) -> Any:
    """A copy of what a call could change in place (None: nothing to watch)."""
    import numpy as np

    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, torch.nn.Module):
        return _ModelSnapshot(x)
    if isinstance(x, (list, tuple)):
        return [_snapshot(i) for i in x]
    if isinstance(x, dict):
        return {k: _snapshot(v) for k, v in x.items()}
    return None


def _unchanged(snapshot: Any, x: Any) -> bool:
    import numpy as np

    if snapshot is None:
        return True
    if isinstance(snapshot, torch.Tensor):
        return (isinstance(x, torch.Tensor) and x.shape == snapshot.shape and x.dtype == snapshot.dtype
                and bool(torch.equal(x.detach(), snapshot) or (x.is_floating_point() and torch.allclose(
                    x.detach(), snapshot, rtol=0, atol=0, equal_nan=True))))
    if isinstance(snapshot, np.ndarray):
        return isinstance(x, np.ndarray) and x.shape == snapshot.shape and np.array_equal(x, snapshot, equal_nan=
                                                                                         x.dtype.kind in "fc")
    if isinstance(snapshot, _ModelSnapshot):
        return snapshot.change(x) is None
    if isinstance(snapshot, list):
        return isinstance(x, (list, tuple)) and len(x) == len(snapshot) and all(map(_unchanged, snapshot, x))
    if isinstance(snapshot, dict):
        return isinstance(x, dict) and x.keys() == snapshot.keys() and all(_unchanged(v, x[k]) for k, v in snapshot.items())
    return True


class _ModelSnapshot:
    """A model's weights, buffers, requires_grad flags and train/eval modes, to say what changed."""

    def __init__(self, model: torch.nn.Module):
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.training = [(name, m.training) for name, m in model.named_modules()]
        self.requires_grad = {k: p.requires_grad for k, p in model.named_parameters()}

    def change(self, model: Any) -> str | None:
        """What is different in `model` now, in words (None: nothing)."""
        if not isinstance(model, torch.nn.Module):
            return f"it is now {_describe(model)}"
        modes = dict(model.named_modules())
        switched = [name for name, mode in self.training if name in modes and modes[name].training != mode]
        if switched:
            now = "eval()" if self.training[0][1] else "train()"
            where = "the model" if "" in switched else f"layer {switched[0]!r}"
            return f"it switched {where} to {now} mode"
        state = model.state_dict()
        if state.keys() != self.state.keys():
            added, removed = sorted(state.keys() - self.state.keys()), sorted(self.state.keys() - state.keys())
            return (f"its parameters and buffers are not the same any more (added: {added or 'none'}, "
                    f"removed: {removed or 'none'})")[:400]
        for key, value in self.state.items():
            if not _unchanged(value, state[key]):
                return f"it changed the values of {key!r}"
        flags = {k: p.requires_grad for k, p in model.named_parameters()}
        for key, flag in self.requires_grad.items():
            if flags.get(key, flag) != flag:
                return f"it set requires_grad={not flag} on {key!r}"
        return None


def call_unchanged(function: Callable, name: str, inputs: dict[str, Any], kwargs: dict[str, Any] | None = None,
                   *, watch: dict[str, Any] | None = None, what: str | None = None, hint: str = "") -> Any:
    """`function(*inputs.values(), **kwargs)`, after which every tensor, array, model, list or
    dict it was given (and those in `watch`, such as the batches behind a loader) must be as
    it was: a function asked for a result must not also change its inputs (the caller still
    needs them). A torch.Generator is meant to advance: it is not watched.

    what: the case, as the student reads it (`quantize(x of shape (3,), scale=0.1, ...)`): it
    starts every message, and an exception the student's code raises becomes a failure that
    names the case, followed by `hint` (why this input is legal, what it should give)."""
    kwargs = kwargs or {}
    watched = {**inputs, **kwargs, **(watch or {})}
    before = {k: _snapshot(v) for k, v in watched.items()}
    if what is None:
        result = function(*inputs.values(), **kwargs)
    else:
        result = call_reported(function, name, tuple(inputs.values()), kwargs, what, hint)
    check_unchanged(name, before, watched, what)
    return result


def call_reported(function: Callable, name: str, args: tuple, kwargs: dict[str, Any], what: str,
                  hint: str = "") -> Any:
    """`function(*args, **kwargs)`; an exception the student's code raises becomes a failure
    that names the case `what`, followed by `hint` (for calls whose inputs are meant to change,
    such as a model the function freezes, where call_unchanged does not apply)."""
    try:
        return function(*args, **kwargs)
    except (CheckFailed, NotImplementedError):
        raise
    except Exception as error:  # noqa: BLE001 - the student's exception, reported with the case
        raise CheckFailed(raised(what, name, error, hint)) from None


def raised(what: str, name: str, error: BaseException, hint: str = "") -> str:
    """A sentence for an exception the student's code raised on the case `what`."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
    return (f"{what}: {name} raised {type(error).__name__} ({message[:300]}); this input is allowed and needs "
            f"a result{': ' + hint if hint else ''}")


def check_unchanged(name: str, before: dict[str, Any], now: dict[str, Any], what: str | None = None) -> None:
    """`before` holds `snapshot`s of the values in `now`, taken before `name` ran."""
    try:
        _check_unchanged(name, before, now)
    except CheckFailed as failure:
        if what is None:
            raise
        raise CheckFailed(f"{what}: {failure}") from None


def _check_unchanged(name: str, before: dict[str, Any], now: dict[str, Any]) -> None:
    for key, value in now.items():
        if isinstance(before[key], _ModelSnapshot) and (change := before[key].change(value)) is not None:
            raise CheckFailed(f"{name} changed its input {key} in place ({change}): read the model without "
                              f"changing it (the caller still needs it as it was)")
        if not _unchanged(before[key], value):
            raise CheckFailed(f"{name} changed its input {key} in place: compute the result in a new "
                              f"tensor and leave {key} as it was (the caller still needs it)")


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """Copies of what a call could change in place, for `check_unchanged`."""
    return {k: _snapshot(v) for k, v in values.items()}


def _same_result(a: Any, b: Any) -> bool:
    import numpy as np

    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
                and a.dtype == b.dtype and bool(torch.equal(a.detach(), b.detach())))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(map(_same_result, a, b))
    return type(a) is type(b) and isinstance(a, (int, float, str, bool, type(None))) and a == b


def check_generator_honoured(run: Callable[[torch.Generator], Any], what: str, seeds: tuple[int, int] = (7, 8)) -> None:
    """`run(generator)` must draw its random numbers from `generator`: the same seed gives the
    same result whatever the global random state, and two different seeds give different
    results (`run` must be random enough that they would: many images, 0 < p < 1)."""
    state = torch.get_rng_state()
    try:
        torch.manual_seed(1)
        first = run(torch.Generator().manual_seed(seeds[0]))
        torch.manual_seed(2)
        again = run(torch.Generator().manual_seed(seeds[0]))
        torch.manual_seed(1)
        other = run(torch.Generator().manual_seed(seeds[1]))
    finally:
        torch.set_rng_state(state)
    if not _same_result(first, again):
        raise CheckFailed(f"{what}: the same generator seed gave different results; draw every random "
                          f"number with generator=generator, not from the global random state")
    if _same_result(first, other):
        raise CheckFailed(f"{what}: generators seeded {seeds[0]} and {seeds[1]} gave the same result; "
                          f"draw the random numbers from the generator you are given")
