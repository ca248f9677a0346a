"""Plausible wrong answers for exercise 05_architectures_measured
(solutions/05_architectures_measured/architectures_measured.ipynb): grade_id of the solution
cell -> {label: the student's whole cell}. Each must lose the points of that part's test cell."""

_LINEAR = '''
def linear_params(in_features, out_features, bias=True):
    return out_features * in_features + (out_features if bias else 0)
'''
_BN = '''
def batchnorm2d_params(num_features):
    return 2 * num_features
'''
_CONV = '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = pair(kernel_size)
    return out_channels * (in_channels // groups) * kh * kw + (out_channels if bias else 0)
'''

MUTANTS = {
    "layer_params": {
        "ignores_groups": '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = pair(kernel_size)
    return out_channels * in_channels * kh * kw + (out_channels if bias else 0)
''' + _LINEAR + _BN,
        "divides_both_sides_by_groups": '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = pair(kernel_size)
    return (out_channels // groups) * (in_channels // groups) * kh * kw + (out_channels if bias else 0)
''' + _LINEAR + _BN,
        "square_kernel_only": '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    k = kernel_size if isinstance(kernel_size, int) else kernel_size[0]
    return out_channels * (in_channels // groups) * k * k + (out_channels if bias else 0)
''' + _LINEAR + _BN,
        "conv_always_has_bias": '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = pair(kernel_size)
    return out_channels * (in_channels // groups) * kh * kw + out_channels
''' + _LINEAR + _BN,
        "linear_forgets_bias": _CONV + '''
def linear_params(in_features, out_features, bias=True):
    return out_features * in_features
''' + _BN,
        "batchnorm_counts_running_stats": _CONV + _LINEAR + '''
def batchnorm2d_params(num_features):
    return 4 * num_features   # weight, bias, running_mean, running_var
''',
        "batchnorm_one_per_layer": _CONV + _LINEAR + '''
def batchnorm2d_params(num_features):
    return num_features
''',
        "float_division": '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    kh, kw = pair(kernel_size)
    return out_channels * (in_channels / groups) * kh * kw + (out_channels if bias else 0)
''' + _LINEAR + _BN,
    },
    "conv2d_macs": {
        "ignores_dilation": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    out = [(n + 2 * p - k) // s + 1
           for n, k, s, p in zip(pair(input_size), pair(kernel_size), pair(stride), pair(padding))]
    kh, kw = pair(kernel_size)
    return out_channels * out[0] * out[1] * (in_channels // groups) * kh * kw
''',
        "ignores_groups": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
           zip(pair(input_size), pair(kernel_size), pair(stride), pair(padding), pair(dilation))]
    kh, kw = pair(kernel_size)
    return out_channels * out[0] * out[1] * in_channels * kh * kw
''',
        "rounds_up": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    out = [math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1 for n, k, s, p, d in
           zip(pair(input_size), pair(kernel_size), pair(stride), pair(padding), pair(dilation))]
    kh, kw = pair(kernel_size)
    return out_channels * out[0] * out[1] * (in_channels // groups) * kh * kw
''',
        "input_size_not_output_size": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    h, w = pair(input_size)
    kh, kw = pair(kernel_size)
    return out_channels * h * w * (in_channels // groups) * kh * kw
''',
        "square_only": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    n, k, s, p, d = (v if isinstance(v, int) else v[0] for v in (input_size, kernel_size, stride, padding, dilation))
    out = (n + 2 * p - d * (k - 1) - 1) // s + 1
    return out_channels * out * out * (in_channels // groups) * k * k
''',
        "padding_once": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    out = [(n + p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
           zip(pair(input_size), pair(kernel_size), pair(stride), pair(padding), pair(dilation))]
    kh, kw = pair(kernel_size)
    return out_channels * out[0] * out[1] * (in_channels // groups) * kh * kw
''',
        "counts_bias_adds": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
           zip(pair(input_size), pair(kernel_size), pair(stride), pair(padding), pair(dilation))]
    kh, kw = pair(kernel_size)
    return out_channels * out[0] * out[1] * ((in_channels // groups) * kh * kw + 1)
''',
        "float_result": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in
           zip(pair(input_size), pair(kernel_size), pair(stride), pair(padding), pair(dilation))]
    kh, kw = pair(kernel_size)
    return out_channels * out[0] * out[1] * in_channels / groups * kh * kw
''',
    },
    "median_latency_ms": {
        "mean_not_median": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    start = clock()
    for _ in range(runs):
        fn(x)
    return (clock() - start) * 1000 / runs
''',
        "minimum": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return min(times)
''',
        "times_the_warmup_too": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    times = []
    for _ in range(warmup + runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return statistics.median(times)
''',
        "no_warmup": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return statistics.median(times)
''',
        "seconds": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append(clock() - start)
    return statistics.median(times)
''',
        "torch_median": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return float(torch.tensor(times).median())
''',
        "middle_element": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return sorted(times)[len(times) // 2]
''',
        "ignores_clock": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
''',
        "one_extra_call": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup + 1):   # one more to be safe
        fn(x)
    times = []
    for _ in range(runs):
        start = clock()
        fn(x)
        times.append((clock() - start) * 1000)
    return statistics.median(times)
''',
        "off_by_one_runs": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = []
    start = clock()
    for _ in range(runs):
        fn(x)
        now = clock()
        times.append((now - start) * 1000)
        start = now
    return statistics.median(times[1:] or times)
''',
        "returns_a_tensor": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    for _ in range(warmup):
        fn(x)
    times = torch.zeros(runs, dtype=torch.float64)
    for i in range(runs):
        start = clock()
        fn(x)
        times[i] = (clock() - start) * 1000
    return times.quantile(0.5)
''',
    },
}

# Right answers written differently from the solution: each must keep every point.
CORRECT = {
    "layer_params": {
        "built_on_the_meta_device": '''
def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())


def linear_params(in_features, out_features, bias=True):
    return in_features * out_features + bias * out_features


def batchnorm2d_params(num_features):
    return num_features + num_features
''',
        "numpy_products": '''
import numpy as np


def conv2d_params(in_channels, out_channels, kernel_size, groups=1, bias=True):
    weights = int(np.prod([out_channels, in_channels // groups, *pair(kernel_size)]))
    return weights + int(bias) * out_channels


def linear_params(in_features, out_features, bias=True):
    return int(np.int64(out_features) * (in_features + (1 if bias else 0)))


def batchnorm2d_params(num_features):
    return int(np.int64(2) * num_features)
''',
    },
    "conv2d_macs": {
        "torch_output_shape_on_meta": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                      dilation=dilation, groups=groups, device="meta")
    out = layer(torch.empty(1, in_channels, *pair(input_size), device="meta"))
    return out.numel() * layer.weight[0].numel()
''',
        "math_floor": '''
def conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride=1, padding=0, dilation=1, groups=1):
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(pair, (input_size, kernel_size, stride, padding, dilation))
    oh = math.floor((h + 2 * ph - dh * (kh - 1) - 1) / sh + 1)
    ow = math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw + 1)
    per_output = in_channels // groups * kh * kw
    return int(oh * ow * out_channels * per_output)
''',
    },
    "median_latency_ms": {
        "numpy_median_and_inference_mode": '''
import numpy as np


def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        stamps = []
        for _ in range(runs):
            t0 = clock()
            fn(x)
            t1 = clock()
            stamps.append(t1 - t0)
    return float(np.median(np.array(stamps)) * 1e3)
''',
        "sorted_middle_pair": '''
def median_latency_ms(fn, x, warmup=3, runs=20, clock=time.perf_counter):
    _ = [fn(x) for _ in range(warmup)]
    ms = []
    while len(ms) < runs:
        begin = clock()
        fn(x)
        ms.append(1000.0 * (clock() - begin))
    ms.sort()
    mid = len(ms) // 2
    return ms[mid] if len(ms) % 2 else (ms[mid - 1] + ms[mid]) / 2
''',
    },
}
