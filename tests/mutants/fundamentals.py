"""Plausible wrong answers for exercise 03_fundamentals (solutions/03_fundamentals/fundamentals.ipynb):
grade_id of the solution cell -> {label: the student's whole cell}. Each must lose the
points of that part's test cell. CORRECT holds right answers written differently, which
must keep every point."""

MUTANTS = {
    "conv_output_size": {
        "ceil_instead_of_floor": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    return math.ceil((size + 2 * padding - span) / stride) + 1
""",
        "dilation_as_k_times_d": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel * dilation) // stride + 1
""",
        "padding_on_one_side": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    return (size + padding - span) // stride + 1
""",
        "ignores_dilation": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - kernel) // stride + 1
""",
        "float_division": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    return (size + 2 * padding - span) / stride + 1
""",
        "stride_divides_everything": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    return (size + 2 * padding - span + 1) // stride
""",
    },
    "conv2d_loop": {
        "flips_the_kernel": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    out = torch.zeros(n, o, out_h, out_w, dtype=x.dtype)
    k = weight.flip(-1, -2)
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = (window[:, None] * k[None]).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out
""",
        "forgets_bias": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    out = torch.zeros(n, o, out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = (window[:, None] * weight[None]).sum(dim=(2, 3, 4))
    return out
""",
        "square_only": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, k, _ = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    size = (h + 2 * padding - k) // stride + 1
    out = torch.zeros(n, o, size, size, dtype=x.dtype)
    for i in range(size):
        for j in range(size):
            window = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = (window[:, None] * weight[None]).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out
""",
        "stride_not_in_the_window": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    out = torch.zeros(n, o, out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i:i + kh, j:j + kw]
            out[:, :, i, j] = (window[:, None] * weight[None]).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out
""",
        "channels_not_summed": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    out = torch.zeros(n, o, out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :1, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = (window[:, None] * weight[None, :, :1]).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out
""",
        "padding_forgotten": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    out_h = (h - kh) // stride + 1
    out_w = (w - kw) // stride + 1
    out = torch.zeros(n, o, out_h, out_w, dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = (window[:, None] * weight[None]).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out
""",
        "float32_output_always": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    out = torch.zeros(n, o, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = (window[:, None] * weight[None]).sum(dim=(2, 3, 4))
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out
""",
    },
    "cross_entropy_from_logits": {
        "naive_softmax_overflows": """
def cross_entropy_from_logits(logits, targets):
    e = torch.exp(logits)
    p = e / e.sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(len(targets)), targets]).mean()
""",
        "sum_instead_of_mean": """
def cross_entropy_from_logits(logits, targets):
    top = logits.max(dim=1, keepdim=True).values
    log_sum = torch.log(torch.exp(logits - top).sum(dim=1)) + top[:, 0]
    return (log_sum - logits[torch.arange(len(targets)), targets]).sum()
""",
        "one_maximum_for_the_whole_batch": """
def cross_entropy_from_logits(logits, targets):
    top = logits.max()
    log_sum = torch.log(torch.exp(logits - top).sum(dim=1)) + top
    return (log_sum - logits[torch.arange(len(targets)), targets]).mean()
""",
        "log_of_stable_softmax": """
def cross_entropy_from_logits(logits, targets):
    top = logits.max(dim=1, keepdim=True).values
    e = torch.exp(logits - top)
    p = e / e.sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(len(targets)), targets]).mean()
""",
        "maximum_not_added_back": """
def cross_entropy_from_logits(logits, targets):
    top = logits.max(dim=1, keepdim=True).values
    log_sum = torch.log(torch.exp(logits - top).sum(dim=1))
    return (log_sum - logits[torch.arange(len(targets)), targets]).mean()
""",
        "indexes_columns_with_targets": """
def cross_entropy_from_logits(logits, targets):
    top = logits.max(dim=1, keepdim=True).values
    log_sum = torch.log(torch.exp(logits - top).sum(dim=1)) + top[:, 0]
    return (log_sum - logits[:, targets]).mean()
""",
        "returns_a_float": """
def cross_entropy_from_logits(logits, targets):
    top = logits.max(dim=1, keepdim=True).values
    log_sum = torch.log(torch.exp(logits - top).sum(dim=1)) + top[:, 0]
    return float((log_sum - logits[torch.arange(len(targets)), targets]).mean())
""",
    },
    "sgd_momentum_step": {
        "velocity_rebound_not_in_place": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for p, g, v in zip(params, grads, velocities):
        v = momentum * v + g
        p.sub_(lr * v)
""",
        "params_rebound_not_in_place": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for i, (p, g, v) in enumerate(zip(params, grads, velocities)):
        v.mul_(momentum).add_(g)
        params[i] = p - lr * v
""",
        "learning_rate_inside_velocity": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for p, g, v in zip(params, grads, velocities):
        v.mul_(momentum).add_(lr * g)
        p.sub_(v)
""",
        "dampening": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for p, g, v in zip(params, grads, velocities):
        v.mul_(momentum).add_((1 - momentum) * g)
        p.sub_(lr * v)
""",
        "nesterov": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for p, g, v in zip(params, grads, velocities):
        v.mul_(momentum).add_(g)
        p.sub_(lr * (g + momentum * v))
""",
        "step_with_old_velocity": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for p, g, v in zip(params, grads, velocities):
        p.sub_(lr * v)
        v.mul_(momentum).add_(g)
""",
        "changes_the_gradients": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for p, g, v in zip(params, grads, velocities):
        g.add_(momentum * v)
        v.copy_(g)
        p.sub_(lr * v)
""",
        "returns_new_lists": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    new_v = [momentum * v + g for g, v in zip(grads, velocities)]
    new_p = [p - lr * v for p, v in zip(params, new_v)]
    return new_p, new_v
""",
    },
}

CORRECT = {
    "conv_output_size": {
        "math_floor": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    return int(math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride)) + 1
""",
        "by_a_real_layer": """
def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    layer = torch.nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    return layer(torch.zeros(1, 1, size)).shape[-1]
""",
    },
    "conv2d_loop": {
        "six_loops_of_scalars": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    N, C, H, W = x.shape
    O, _, KH, KW = weight.shape
    xp = torch.zeros(N, C, H + 2 * padding, W + 2 * padding, dtype=x.dtype)
    xp[:, :, padding:padding + H, padding:padding + W] = x
    OH, OW = (H + 2 * padding - KH) // stride + 1, (W + 2 * padding - KW) // stride + 1
    out = torch.empty(N, O, OH, OW, dtype=x.dtype)
    for n in range(N):
        for o in range(O):
            for i in range(OH):
                for j in range(OW):
                    acc = 0.0 if bias is None else bias[o].item()
                    for c in range(C):
                        patch = xp[n, c, i * stride:i * stride + KH, j * stride:j * stride + KW]
                        acc += (patch * weight[o, c]).sum().item()
                    out[n, o, i, j] = acc
    return out
""",
        "unfold_and_matmul": """
def conv2d_loop(x, weight, bias=None, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)      # (N, C*kh*kw, L)
    out = (weight.reshape(o, -1) @ cols).reshape(n, o, out_h, out_w)
    return out if bias is None else out + bias[:, None, None]
""",
    },
    "cross_entropy_from_logits": {
        "logsumexp": """
def cross_entropy_from_logits(logits, targets):
    picked = logits.gather(1, targets[:, None])[:, 0]
    return torch.mean(torch.logsumexp(logits, dim=1) - picked)
""",
        "loop_over_rows_in_float64": """
def cross_entropy_from_logits(logits, targets):
    losses = []
    for row, t in zip(logits.double(), targets.tolist()):
        m = row.max()
        losses.append(m + (row - m).exp().sum().log() - row[t])
    return torch.stack(losses).mean().to(logits.dtype)
""",
        "log_softmax_by_hand": """
def cross_entropy_from_logits(logits, targets):
    shifted = logits - logits.amax(dim=1, keepdim=True)
    log_p = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_p[range(len(targets)), targets].mean()
""",
    },
    "sgd_momentum_step": {
        "copy_into": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    for i in range(len(params)):
        velocities[i].copy_(momentum * velocities[i] + grads[i])
        params[i].copy_(params[i] - lr * velocities[i])
""",
        "augmented_assignment": """
def sgd_momentum_step(params, grads, velocities, lr, momentum):
    with torch.no_grad():
        for p, g, v in zip(params, grads, velocities):
            v *= momentum
            v += g
            p -= lr * v
    return None
""",
    },
}
