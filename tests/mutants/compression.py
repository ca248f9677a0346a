"""Plausible wrong answers for exercise 10_compression (solutions/10_compression/compression.ipynb):
grade_id of the solution cell -> {label: the student's whole cell}. Each must lose the
points of that part's test cell."""

MUTANTS = {
    "choose_qparams": {
        "zero_point_wrong_sign": """
def choose_qparams(x):
    lo = torch.clamp(x.min(), max=0.0)
    hi = torch.clamp(x.max(), min=0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = QMIN + int(torch.round(lo / scale))
    return float(scale), int(min(max(zero_point, QMIN), QMAX))
""",
        "range_not_widened_to_zero": """
def choose_qparams(x):
    lo, hi = x.min(), x.max()
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = QMIN - int(torch.round(lo / scale))
    return float(scale), int(min(max(zero_point, QMIN), QMAX))
""",
        "divides_by_256_values": """
def choose_qparams(x):
    lo = torch.clamp(x.min(), max=0.0)
    hi = torch.clamp(x.max(), min=0.0)
    scale = (hi - lo) / 256
    zero_point = QMIN - int(torch.round(lo / scale))
    return float(scale), int(min(max(zero_point, QMIN), QMAX))
""",
        "zero_point_truncated": """
def choose_qparams(x):
    lo = torch.clamp(x.min(), max=0.0)
    hi = torch.clamp(x.max(), min=0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = QMIN - int(lo / scale)
    return float(scale), int(min(max(zero_point, QMIN), QMAX))
""",
        "scale_as_tensor": """
def choose_qparams(x):
    lo = torch.clamp(x.min(), max=0.0)
    hi = torch.clamp(x.max(), min=0.0)
    scale = (hi - lo) / (QMAX - QMIN)
    zero_point = QMIN - int(torch.round(lo / scale))
    return scale, int(min(max(zero_point, QMIN), QMAX))
""",
        "symmetric_instead": """
def choose_qparams(x):
    scale = torch.max(x.abs()) / 127
    return float(scale), 0
""",
    },
    "quantize": {
        "truncates": """
def quantize(x, scale, zero_point):
    q = (x / scale).to(torch.int64) + zero_point
    return torch.clamp(q, QMIN, QMAX).to(torch.int8)
""",
        "floors": """
def quantize(x, scale, zero_point):
    q = torch.floor(x / scale) + zero_point
    return torch.clamp(q, QMIN, QMAX).to(torch.int8)
""",
        "no_clamp_wraps": """
def quantize(x, scale, zero_point):
    return (torch.round(x / scale) + zero_point).to(torch.int8)
""",
        "subtracts_zero_point": """
def quantize(x, scale, zero_point):
    q = torch.round(x / scale) - zero_point
    return torch.clamp(q, QMIN, QMAX).to(torch.int8)
""",
        "multiplies_by_scale": """
def quantize(x, scale, zero_point):
    q = torch.round(x * scale) + zero_point
    return torch.clamp(q, QMIN, QMAX).to(torch.int8)
""",
        "round_half_up": """
def quantize(x, scale, zero_point):
    q = torch.floor(x / scale + 0.5) + zero_point
    return torch.clamp(q, QMIN, QMAX).to(torch.int8)
""",
        "divides_input_in_place": """
def quantize(x, scale, zero_point):
    q = torch.round(x.div_(scale)) + zero_point
    return torch.clamp(q, QMIN, QMAX).to(torch.int8)
""",
        "returns_float": """
def quantize(x, scale, zero_point):
    return torch.clamp(torch.round(x / scale) + zero_point, QMIN, QMAX)
""",
    },
    "dequantize": {
        "adds_zero_point": """
def dequantize(q, scale, zero_point):
    return (q.to(torch.float32) + zero_point) * scale
""",
        "int8_overflow": """
def dequantize(q, scale, zero_point):
    return (q - zero_point).to(torch.float32) * scale
""",
        "divides_by_scale": """
def dequantize(q, scale, zero_point):
    return (q.to(torch.float32) - zero_point) / scale
""",
        "returns_float64": """
def dequantize(q, scale, zero_point):
    return (q.to(torch.float64) - zero_point) * scale
""",
        "zero_point_after_scaling": """
def dequantize(q, scale, zero_point):
    return q.to(torch.float32) * scale - zero_point
""",
    },
    "magnitude_mask": {
        "prunes_largest": """
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    mask = torch.ones(weight.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(weight.abs().flatten(), k, largest=True).indices] = False
    return mask.reshape(weight.shape)
""",
        "signed_value_not_magnitude": """
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    mask = torch.ones(weight.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(weight.flatten(), k, largest=False).indices] = False
    return mask.reshape(weight.shape)
""",
        "k_truncated": """
def magnitude_mask(weight, sparsity):
    k = int(sparsity * weight.numel())
    mask = torch.ones(weight.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = False
    return mask.reshape(weight.shape)
""",
        "threshold_off_by_one": """
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    if k == 0:
        return torch.ones_like(weight, dtype=torch.bool)
    threshold = weight.abs().flatten().kthvalue(k).values
    return weight.abs() >= threshold
""",
        "abs_in_place": """
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    w = weight.detach()
    w.abs_()
    mask = torch.ones(weight.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(w.flatten(), k, largest=False).indices] = False
    return mask.reshape(weight.shape)
""",
        "k_rounds_halves_up": """
def magnitude_mask(weight, sparsity):
    k = math.floor(sparsity * weight.numel() + 0.5)
    mask = torch.ones(weight.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(weight.detach().abs().flatten(), k, largest=False).indices] = False
    return mask.reshape(weight.shape)
""",
        "keeps_instead_of_removes": """
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    mask = torch.zeros(weight.numel(), dtype=torch.bool)
    if k > 0:
        mask[torch.topk(weight.abs().flatten(), k, largest=False).indices] = True
    return mask.reshape(weight.shape)
""",
        "kthvalue_threshold": """
def magnitude_mask(weight, sparsity):
    k = round(sparsity * weight.numel())
    threshold = weight.detach().abs().flatten().kthvalue(k).values
    return weight.detach().abs() > threshold
""",
    },
    "model_sparsity": {
        "all_parameters": """
def model_sparsity(model):
    zeros = sum(int((p == 0).sum()) for p in model.parameters())
    return zeros / sum(p.numel() for p in model.parameters())
""",
        "mean_of_layer_sparsities": """
def model_sparsity(model):
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return sum(float((m.weight == 0).float().mean()) for m in layers) / len(layers)
""",
        "counts_nonzeros": """
def model_sparsity(model):
    kept = total = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            kept += int((m.weight != 0).sum())
            total += m.weight.numel()
    return kept / total
""",
        "returns_tensor": """
def model_sparsity(model):
    ws = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return sum((w == 0).sum() for w in ws) / sum(w.numel() for w in ws)
""",
        "every_weight_attribute": """
def model_sparsity(model):
    ws = [m.weight for m in model.modules() if getattr(m, "weight", None) is not None]
    return sum(int((w == 0).sum()) for w in ws) / sum(w.numel() for w in ws)
""",
        "weights_and_biases": """
def model_sparsity(model):
    zeros = total = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            for p in m.parameters():
                zeros += int((p == 0).sum())
                total += p.numel()
    return zeros / total
""",
        "switches_the_model_to_eval": """
def model_sparsity(model):
    model.eval()  # only counting: no BatchNorm updates
    zeros = total = 0
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            zeros += int((module.weight == 0).sum())
            total += module.weight.numel()
    return zeros / total
""",
        "top_level_layers_only": """
def model_sparsity(model):
    zeros = total = 0
    for module in model.children():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            zeros += int((module.weight == 0).sum())
            total += module.weight.numel()
    return zeros / total
""",
    },
    "int8_size_bytes": {
        "bits_not_bytes": """
def int8_size_bytes(model, bits=8):
    quantized = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    return sum(p.numel() * bits + 4 * p.shape[0] if id(p) in quantized else 4 * p.numel()
               for p in model.parameters())
""",
        "forgets_scales": """
def int8_size_bytes(model, bits=8):
    quantized = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    return sum(p.numel() * bits / 8 if id(p) in quantized else 4 * p.numel() for p in model.parameters())
""",
        "quantizes_everything": """
def int8_size_bytes(model, bits=8):
    return sum(p.numel() * bits / 8 for p in model.parameters())
""",
        "one_scale_per_tensor": """
def int8_size_bytes(model, bits=8):
    quantized = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    return sum(p.numel() * bits / 8 + 4 if id(p) in quantized else 4 * p.numel() for p in model.parameters())
""",
        "whole_bytes_per_weight": """
def int8_size_bytes(model, bits=8):
    quantized = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    return sum(p.numel() * bits // 8 + 4 * p.shape[0] if id(p) in quantized else 4 * p.numel()
               for p in model.parameters())
""",
        "assumes_8_bits": """
def int8_size_bytes(model, bits=8):
    quantized = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    return sum(p.numel() + 4 * p.shape[0] if id(p) in quantized else 4 * p.numel() for p in model.parameters())
""",
        "fake_quantizes_the_weights_in_place": """
def int8_size_bytes(model, bits=8):
    total = 0.0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():  # store the weights as they will be: on 2**bits levels
                scale = m.weight.abs().amax() / (2 ** (bits - 1) - 1)
                m.weight.copy_(torch.round(m.weight / scale) * scale)
            total += m.weight.numel() * bits / 8 + 4 * m.weight.shape[0]
    quantized = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    return total + sum(4 * p.numel() for p in model.parameters() if id(p) not in quantized)
""",
        "top_level_layers_only": """
def int8_size_bytes(model, bits=8):
    quantized = {id(m.weight) for m in model.children() if isinstance(m, (nn.Conv2d, nn.Linear))}
    total = 0.0
    for p in model.parameters():
        if id(p) in quantized:
            total += p.numel() * bits / 8 + 4 * p.shape[0]
        else:
            total += 4 * p.numel()
    return total
""",
    },
}

# Right answers written differently from the solution: each must keep every point.
CORRECT = {
    "model_sparsity": {
        "named_modules_and_float_division": """
def model_sparsity(model):
    layers = [m for _, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    zeros = sum((m.weight.detach() == 0).sum().item() for m in layers)
    return float(zeros) / sum(m.weight.numel() for m in layers)
""",
    },
    "int8_size_bytes": {
        "each_module_its_own_parameters": """
def int8_size_bytes(model, bits=8):
    total = 0
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if isinstance(m, (nn.Conv2d, nn.Linear)) and name == "weight":
                total += p.numel() * bits / 8 + 4 * p.shape[0]
            else:
                total += 4 * p.numel()
    return total
""",
    },
}
