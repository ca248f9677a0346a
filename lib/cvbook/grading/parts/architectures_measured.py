"""Checks of the "architectures, measured" assignment: parameters of a layer from its
hyper-parameters, multiply-adds of a convolution, and a latency measurement that warms up
and takes the median.

The expected counts come from PyTorch's own layers, built on the "meta" device (shapes
only, no memory), counted by cvbook: parameters by summing `numel`, multiply-adds by
cvbook.evaluate.count_macs (torch's FlopCounterMode). The latency check gives the
student's function a stand-in model and a clock of its own: the model's forward pass takes
a known time on that clock, so the expected median is known exactly and no real time is
measured."""

from __future__ import annotations

import math
import statistics

import torch
from torch import nn

from cvbook.evaluate import efficiency
from cvbook.grading.checks import CheckFailed, call_reported, check_number, check_unchanged, snapshot


# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"conv2d_params": 1, "linear_params": 1, "batchnorm2d_params": 1, "conv2d_macs": 2,
         "median_latency_ms": 3}


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _params(layer: nn.Module) -> int:
    return sum(p.numel() for p in layer.parameters())


# --------------------------------------------------------------------------- parameters


def check_conv2d_params(conv2d_params, in_channels: int, out_channels: int, kernel_size, groups: int = 1,
                        bias: bool = True) -> None:
    """An int: the parameters of nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias)."""
    what = (f"conv2d_params({in_channels}, {out_channels}, kernel_size={kernel_size!r}, groups={groups}, "
            f"bias={bias})")
    expected = _params(nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias, device="meta"))
    got = call_reported(conv2d_params, "conv2d_params", (in_channels, out_channels, kernel_size),
                {"groups": groups, "bias": bias}, what)
    kh, kw = _pair(kernel_size)
    weights = out_channels * (in_channels // groups) * kh * kw
    if isinstance(got, int) and got != expected:
        hints = {out_channels * in_channels * kh * kw + (out_channels if bias else 0):
                 "each filter sees only in_channels / groups input channels",
                 weights + (0 if bias else out_channels): "one bias per output channel when bias=True, none "
                                                          "when bias=False",
                 out_channels * (in_channels // groups) * kh * kh + (out_channels if bias else 0):
                 "the kernel is kh x kw; a pair (kh, kw) need not be square",
                 weights // groups + (out_channels if bias else 0):
                 "the out_channels filters each have in_channels / groups x kh x kw weights; only the input "
                 "side is divided by groups"}
        hint = hints.get(got)
        if hint:
            raise CheckFailed(f"{what}: expected {expected}, got {got}: {hint}")
    check_number(got, expected, what, kind="int", rel=0, abs_=0)


def check_linear_params(linear_params, in_features: int, out_features: int, bias: bool = True) -> None:
    """An int: the parameters of nn.Linear(in_features, out_features, bias=bias)."""
    what = f"linear_params({in_features}, {out_features}, bias={bias})"
    expected = _params(nn.Linear(in_features, out_features, bias=bias, device="meta"))
    got = call_reported(linear_params, "linear_params", (in_features, out_features), {"bias": bias}, what)
    if isinstance(got, int) and got != expected and got == in_features * out_features + (0 if bias else out_features):
        raise CheckFailed(f"{what}: expected {expected}, got {got}: one bias per output when bias=True, none "
                          f"when bias=False")
    check_number(got, expected, what, kind="int", rel=0, abs_=0)


def check_batchnorm2d_params(batchnorm2d_params, num_features: int) -> None:
    """An int: the parameters of nn.BatchNorm2d(num_features)."""
    what = f"batchnorm2d_params({num_features})"
    expected = _params(nn.BatchNorm2d(num_features, device="meta"))
    got = call_reported(batchnorm2d_params, "batchnorm2d_params", (num_features,), {}, what)
    if isinstance(got, int) and got in (4 * num_features, 4 * num_features + 1):
        raise CheckFailed(f"{what}: expected {expected}, got {got}: the running mean and variance are buffers "
                          f"(statistics, not learned): only the scale and the shift are parameters")
    check_number(got, expected, what, kind="int", rel=0, abs_=0)


def check_random_layer_params(conv2d_params, linear_params, batchnorm2d_params, seed: int, count: int = 10) -> None:
    """`count` random layers of each kind: odd and even sizes, square and rectangular kernels,
    groups from 1 to depthwise, with and without bias."""
    g = torch.Generator().manual_seed(seed)

    def r(lo, hi):
        return int(torch.randint(lo, hi + 1, (), generator=g))

    for _ in range(count):
        groups = (1, r(2, 4), 0)[r(0, 2)]
        per_group_in, per_group_out = r(1, 9), r(1, 9)
        if groups == 0:   # depthwise: one input channel per group
            groups = c = r(2, 64)
            in_channels, out_channels = c, c * r(1, 2)
        else:
            in_channels, out_channels = groups * per_group_in, groups * per_group_out
        kernel = r(1, 7) if r(0, 1) else (r(1, 7), r(1, 7))
        check_conv2d_params(conv2d_params, in_channels, out_channels, kernel, groups=groups, bias=bool(r(0, 1)))
        check_linear_params(linear_params, r(1, 4096), r(1, 1000), bias=bool(r(0, 1)))
        check_batchnorm2d_params(batchnorm2d_params, r(1, 2048))


# --------------------------------------------------------------------------- multiply-adds


def expected_conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1,
                         groups=1) -> int:
    """The library's count: count_macs of the layer (built on the meta device) on one image."""
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                      groups=groups, device="meta")
    return efficiency.count_macs(layer, (1, in_channels, *_pair(input_size)))


def _out(size, k, s, p, d, rounding=math.floor):
    return rounding((size + 2 * p - d * (k - 1) - 1) / s) + 1


def _mistakes(c_in, c_out, k, size, s, p, d, groups) -> list[tuple[str, int]]:
    (kh, kw), (h, w), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (k, size, s, p, d))

    def macs(oh, ow, per_in=c_in // groups, kh=kh, kw=kw):
        return c_out * oh * ow * per_in * kh * kw

    oh, ow = _out(h, kh, sh, ph, dh), _out(w, kw, sw, pw, dw)
    return [
        ("the output size ignores the dilation: a dilated kernel spans dilation * (k - 1) + 1 pixels",
         macs(_out(h, kh, sh, ph, 1), _out(w, kw, sw, pw, 1))),
        ("each output value needs in_channels / groups x kh x kw multiply-adds, not in_channels x kh x kw",
         macs(oh, ow, per_in=c_in)),
        ("the output size is rounded up; it is floor((H + 2p - d(k - 1) - 1) / s) + 1",
         macs(_out(h, kh, sh, ph, dh, math.ceil), _out(w, kw, sw, pw, dw, math.ceil))),
        ("the count uses the input's size; the kernel is applied once per position of the output",
         macs(h, w)),
        ("the padding is counted once; it is added on both sides (2p)",
         macs(_out(h - ph, kh, sh, ph, dh), _out(w - pw, kw, sw, pw, dw))),
        ("the width of the output is computed with the height's numbers (height and width may differ)",
         macs(oh, oh, kw=kh)),
        ("the bias adds were counted; the count is multiply-adds of the weights only",
         macs(oh, ow) + c_out * oh * ow),
    ]


def check_conv2d_macs(conv2d_macs, in_channels, out_channels, kernel_size, input_size, stride=1, padding=0,
                      dilation=1, groups=1) -> None:
    """An int: the multiply-adds of nn.Conv2d(...) on one image of input_size (H, W)."""
    kwargs = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    what = (f"conv2d_macs({in_channels}, {out_channels}, kernel_size={kernel_size!r}, "
            f"input_size={input_size!r}, " + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")")
    expected = expected_conv2d_macs(in_channels, out_channels, kernel_size, input_size, **kwargs)
    got = call_reported(conv2d_macs, "conv2d_macs", (in_channels, out_channels, kernel_size, input_size), kwargs, what)
    if isinstance(got, int) and not isinstance(got, bool) and got != expected:
        for description, value in _mistakes(in_channels, out_channels, kernel_size, input_size, stride, padding,
                                            dilation, groups):
            if got == value:
                raise CheckFailed(f"{what}: expected {expected}, got {got}: {description}")
    check_number(got, expected, what, kind="int", rel=0, abs_=0)


def check_random_conv2d_macs(conv2d_macs, seed: int, count: int = 10) -> None:
    """`count` random convolutions: every option away from its default, sizes odd and even,
    rectangular inputs and kernels."""
    g = torch.Generator().manual_seed(seed)

    def r(lo, hi):
        return int(torch.randint(lo, hi + 1, (), generator=g))

    def maybe_pair(lo, hi):
        return r(lo, hi) if r(0, 1) else (r(lo, hi), r(lo, hi))

    done = 0
    while done < count:
        groups = (1, r(2, 4))[r(0, 1)]
        c_in, c_out = groups * r(1, 6), groups * r(1, 6)
        kernel, stride, padding, dilation = maybe_pair(1, 5), maybe_pair(1, 3), maybe_pair(0, 3), maybe_pair(1, 3)
        size = (r(5, 40), r(5, 40))
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_pair, (kernel, stride, padding, dilation))
        if _out(size[0], kh, sh, ph, dh) < 1 or _out(size[1], kw, sw, pw, dw) < 1:
            continue
        check_conv2d_macs(conv2d_macs, c_in, c_out, kernel, size, stride=stride, padding=padding,
                          dilation=dilation, groups=groups)
        done += 1


# --------------------------------------------------------------------------- latency


class FakeModel(nn.Module):
    """Stands in for a model: its n-th forward pass takes durations[n] seconds on its own
    clock (`now`), which stands still otherwise. Buffers record the calls, so what a
    measurement did can be read back from the model."""

    def __init__(self, durations_s: list[float], x: torch.Tensor):
        super().__init__()
        self.register_buffer("durations", torch.tensor(durations_s, dtype=torch.float64))
        self.register_buffer("time_s", torch.zeros((), dtype=torch.float64))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.register_buffer("wrong_inputs", torch.zeros((), dtype=torch.int64))
        self.register_buffer("expected_input", x.detach().clone())

    def forward(self, x):
        with torch.inference_mode(False), torch.no_grad():
            i = int(self.calls)
            self.calls.add_(1)
            if not (isinstance(x, torch.Tensor) and x.shape == self.expected_input.shape
                    and torch.equal(x, self.expected_input)):
                self.wrong_inputs.add_(1)
            self.time_s.add_(self.durations[min(i, len(self.durations) - 1)])
        return torch.zeros(x.shape[0] if isinstance(x, torch.Tensor) and x.dim() else 1, 10)

    def now(self) -> float:
        """The time in seconds, as time.perf_counter gives it."""
        return float(self.time_s)


def check_median_latency_ms(median_latency_ms, warmup: int, timed_ms: list[float], warmup_ms: float = 800.0,
                            shape=(1, 1, 28, 28)) -> None:
    """median_latency_ms(model, x, warmup=warmup, runs=len(timed_ms), clock=model.now) on a
    FakeModel whose warm-up calls take `warmup_ms` each and whose timed calls take `timed_ms`:
    a float, statistics.median(timed_ms), after exactly warmup + runs calls on x."""
    runs = len(timed_ms)
    extra = [50_000.0] * 3   # what a call beyond warmup + runs would take
    durations = [warmup_ms / 1000] * warmup + [t / 1000 for t in timed_ms] + [e / 1000 for e in extra]
    torch.manual_seed(runs + warmup)
    x = torch.randn(shape)
    model = FakeModel(durations, x)
    timed = ", ".join(f"{t:g}" for t in timed_ms)
    what = (f"median_latency_ms(model, x, warmup={warmup}, runs={runs}, clock=model.now) with a model whose "
            f"warm-up calls take {warmup_ms:g} ms each and whose timed calls take {timed} ms")
    before = snapshot({"x": x})
    got = call_reported(median_latency_ms, "median_latency_ms", (model, x), {"warmup": warmup, "runs": runs,
                                                                      "clock": model.now}, what)
    check_unchanged("median_latency_ms", before, {"x": x}, what)
    calls = int(model.calls)
    if calls != warmup + runs:
        raise CheckFailed(f"{what}: fn was called {calls} times; expected warmup + runs = {warmup + runs} "
                          f"({warmup} untimed, then {runs} timed)")
    if int(model.wrong_inputs):
        raise CheckFailed(f"{what}: {int(model.wrong_inputs)} of the calls did not get x itself; call fn(x)")
    expected = statistics.median(timed_ms)
    if isinstance(got, (int, float)) and not isinstance(got, bool) and not math.isclose(got, expected, rel_tol=1e-6):
        everything = [warmup_ms] * warmup + list(timed_ms)
        s = sorted(timed_ms)
        known = [(statistics.mean(timed_ms), "the mean; return the median (statistics.median)"),
                 (min(timed_ms), "the fastest run; return the median"),
                 (max(timed_ms), "the slowest run; return the median"),
                 (statistics.median(everything), "the median includes the warm-up calls; time only the runs after them"),
                 (statistics.mean(everything), "the mean over all calls, warm-up included"),
                 (expected / 1000, "seconds; return milliseconds (x 1000)"),
                 (s[len(s) // 2], "the upper of the two middle values; for an even number of runs the median is "
                                  "their mean (statistics.median)"),
                 (s[(len(s) - 1) // 2], "the lower of the two middle values (torch.median does that); for an even "
                                        "number of runs the median is their mean (statistics.median)")]
        if runs > 1:
            known += [(statistics.median(timed_ms[1:]), "the first timed run is missing"),
                      (statistics.median(timed_ms[:-1]), "the last timed run is missing")]
        matches = list(dict.fromkeys(d for value, d in known if math.isclose(got, value, rel_tol=1e-6)))
        if len(matches) == 1:
            raise CheckFailed(f"{what}: expected {expected:g}, got {got:g}: {matches[0]}")
        if matches:
            raise CheckFailed(f"{what}: expected {expected:g}, got {got:g}, which is what each of these mistakes "
                              f"would give here: " + "; or ".join(matches))
        if 0 <= got < expected / 5:
            raise CheckFailed(f"{what}: expected {expected:g}, got {got:g}: read the time with clock(), the "
                              f"function you are given, not with time.perf_counter directly")
    check_number(got, expected, what, kind="float", rel=1e-6, abs_=1e-9)


def check_random_latency(median_latency_ms, seed: int, count: int = 8) -> None:
    """`count` random measurements: 0 to 5 warm-up calls, 1 to 12 runs, odd and even, with
    outliers (a shared machine's spikes) among the timed calls."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        warmup = int(torch.randint(0, 6, (), generator=g))
        runs = int(torch.randint(1, 13, (), generator=g))
        timed = [round(float(v), 3) for v in torch.rand(runs, generator=g) * 20 + 1]
        for i in torch.randperm(runs, generator=g)[: max(1, runs // 4)].tolist():
            timed[i] = round(timed[i] * 25, 3)   # a spike
        check_median_latency_ms(median_latency_ms, warmup, timed,
                                warmup_ms=round(float(torch.rand((), generator=g)) * 900 + 600, 1))
