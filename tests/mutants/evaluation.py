"""Plausible wrong answers for exercise 08_evaluation (solutions/08_evaluation/evaluation.ipynb):
grade_id of the solution cell -> {label: the student's whole cell}. Each must lose the
points of that part's test cell."""

MUTANTS = {
    "most_confused_pairs": {
        "keeps_the_diagonal": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(int(confusion[i, j]), i, j) for i in range(n) for j in range(n)]
    cells = sorted((c for c in cells if c[0] > 0), key=lambda cell: -cell[0])
    return [(class_names[i], class_names[j], count) for count, i, j in cells[:k]]
""",
        "zeroes_the_diagonal_in_place": """
def most_confused_pairs(confusion, class_names, k=10):
    confusion.fill_diagonal_(0)
    counts, flat = confusion.flatten().sort(descending=True, stable=True)
    n = len(class_names)
    return [(class_names[i // n], class_names[i % n], int(c))
            for c, i in zip(counts[:k].tolist(), flat[:k].tolist()) if c > 0]
""",
        "keeps_zero_cells": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(int(confusion[i, j]), i, j) for i in range(n) for j in range(n) if i != j]
    cells = sorted(cells, key=lambda cell: -cell[0])
    return [(class_names[i], class_names[j], count) for count, i, j in cells[:k]]
""",
        "predicted_first": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(int(confusion[i, j]), i, j) for i in range(n) for j in range(n) if i != j]
    cells = sorted((c for c in cells if c[0] > 0), key=lambda cell: -cell[0])
    return [(class_names[j], class_names[i], count) for count, i, j in cells[:k]]
""",
        "ties_by_column_first": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(int(confusion[i, j]), i, j) for j in range(n) for i in range(n) if i != j]
    cells = sorted((c for c in cells if c[0] > 0), key=lambda cell: -cell[0])
    return [(class_names[i], class_names[j], count) for count, i, j in cells[:k]]
""",
        "ties_reversed_by_sorting_tuples": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(int(confusion[i, j]), i, j) for i in range(n) for j in range(n) if i != j and confusion[i, j] > 0]
    cells = sorted(cells, reverse=True)
    return [(class_names[i], class_names[j], count) for count, i, j in cells[:k]]
""",
        "topk_unstable_ties": """
def most_confused_pairs(confusion, class_names, k=10):
    cm = confusion.clone()
    cm.fill_diagonal_(-1)
    n = len(class_names)
    counts, flat = cm.flatten().topk(min(k, n * n))
    return [(class_names[i // n], class_names[i % n], int(c)) for c, i in zip(counts.tolist(), flat.tolist()) if c > 0]
""",
        "row_shares_not_counts": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    share = confusion.double() / confusion.sum(1, keepdim=True).clamp_min(1)
    cells = [(float(share[i, j]), i, j) for i in range(n) for j in range(n) if i != j and confusion[i, j] > 0]
    cells = sorted(cells, key=lambda cell: -cell[0])
    return [(class_names[i], class_names[j], int(confusion[i, j])) for _, i, j in cells[:k]]
""",
        "ignores_k": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(int(confusion[i, j]), i, j) for i in range(n) for j in range(n) if i != j]
    cells = sorted((c for c in cells if c[0] > 0), key=lambda cell: -cell[0])
    return [(class_names[i], class_names[j], count) for count, i, j in cells[:10]]
""",
        "count_as_tensor_float": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(confusion[i, j].float(), i, j) for i in range(n) for j in range(n) if i != j]
    cells = sorted((c for c in cells if c[0] > 0), key=lambda cell: -cell[0])
    return [(class_names[i], class_names[j], count) for count, i, j in cells[:k]]
""",
    },
    "reliability_table": {
        "floor_bins_drop_confidence_one": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    right = (predicted == labels).double()
    bins = (confidence * n_bins).long()
    count = torch.zeros(n_bins, dtype=torch.int64)
    conf = torch.zeros(n_bins, dtype=torch.float64)
    acc = torch.zeros(n_bins, dtype=torch.float64)
    for m in range(n_bins):
        inside = bins == m
        count[m] = inside.sum()
        if count[m] > 0:
            conf[m], acc[m] = confidence[inside].mean(), right[inside].mean()
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
        "closed_on_the_left": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    right = (predicted == labels).double()
    bins = (confidence * n_bins).long().clamp(max=n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, confidence) / count.clamp_min(1)
    acc = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, right) / count.clamp_min(1)
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
        "nan_in_empty_bins": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    right = (predicted == labels).double()
    bins = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, confidence) / count
    acc = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, right) / count
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
        "true_class_probability": """
def reliability_table(logits, labels, n_bins=15):
    probs = logits.double().softmax(dim=1)
    confidence = probs[torch.arange(len(labels)), labels]
    right = (probs.argmax(dim=1) == labels).double()
    bins = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, confidence) / count.clamp_min(1)
    acc = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, right) / count.clamp_min(1)
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
        "linspace_off_by_one": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    right = (predicted == labels).double()
    edges = torch.linspace(0, 1, n_bins, dtype=torch.float64)
    bins = torch.bucketize(confidence, edges).clamp(0, n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, confidence) / count.clamp_min(1)
    acc = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, right) / count.clamp_min(1)
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
        "softmax_over_the_batch": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=0).max(dim=1)
    right = (predicted == labels).double()
    bins = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, confidence) / count.clamp_min(1)
    acc = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, right) / count.clamp_min(1)
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
        "shares_instead_of_counts": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    right = (predicted == labels).double()
    bins = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, confidence) / count.clamp_min(1)
    acc = torch.zeros(n_bins, dtype=torch.float64).index_add(0, bins, right) / count.clamp_min(1)
    return {"count": count / len(labels), "confidence": conf, "accuracy": acc}
""",
        "ignores_n_bins": """
def reliability_table(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    right = (predicted == labels).double()
    bins = (torch.ceil(confidence * 15).long() - 1).clamp(0, 14)
    count = torch.bincount(bins, minlength=15)
    conf = torch.zeros(15, dtype=torch.float64).index_add(0, bins, confidence) / count.clamp_min(1)
    acc = torch.zeros(15, dtype=torch.float64).index_add(0, bins, right) / count.clamp_min(1)
    return {"count": count, "confidence": conf, "accuracy": acc}
""",
    },
    "expected_calibration_error": {
        "unweighted_mean_over_bins": """
def expected_calibration_error(logits, labels, n_bins=15):
    table = reliability_table(logits, labels, n_bins)
    full = table["count"] > 0
    return float((table["accuracy"] - table["confidence"])[full].abs().mean())
""",
        "signed_gap": """
def expected_calibration_error(logits, labels, n_bins=15):
    table = reliability_table(logits, labels, n_bins)
    weights = table["count"].double() / len(labels)
    return abs(float((weights * (table["accuracy"] - table["confidence"])).sum()))
""",
        "maximum_calibration_error": """
def expected_calibration_error(logits, labels, n_bins=15):
    table = reliability_table(logits, labels, n_bins)
    return float((table["accuracy"] - table["confidence"]).abs().max())
""",
        "divides_by_n_bins": """
def expected_calibration_error(logits, labels, n_bins=15):
    table = reliability_table(logits, labels, n_bins)
    return float((table["count"] * (table["accuracy"] - table["confidence"]).abs()).sum() / n_bins)
""",
        "ignores_n_bins": """
def expected_calibration_error(logits, labels, n_bins=15):
    table = reliability_table(logits, labels)
    weights = table["count"].double() / len(labels)
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())
""",
        "returns_a_tensor": """
def expected_calibration_error(logits, labels, n_bins=15):
    table = reliability_table(logits, labels, n_bins)
    weights = table["count"].double() / len(labels)
    return (weights * (table["accuracy"] - table["confidence"]).abs()).sum()
""",
        "no_binning_at_all": """
def expected_calibration_error(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    return float(((predicted == labels).double() - confidence).abs().mean())
""",
        "global_gap": """
def expected_calibration_error(logits, labels, n_bins=15):
    confidence, predicted = logits.double().softmax(dim=1).max(dim=1)
    return abs(float((predicted == labels).double().mean() - confidence.mean()))
""",
    },
}

CORRECT = {
    "most_confused_pairs": {
        "stable_torch_sort": """
def most_confused_pairs(confusion, class_names, k=10):
    cm = confusion.clone()
    cm.fill_diagonal_(0)
    n = cm.shape[0]
    counts, flat = cm.flatten().sort(descending=True, stable=True)
    return [(class_names[i // n], class_names[i % n], c) for c, i in zip(counts.tolist(), flat.tolist()) if c > 0][:k]
""",
        "tuple_key_and_lists": """
def most_confused_pairs(confusion, class_names, k=10):
    cells = []
    for i, row in enumerate(confusion.tolist()):
        for j, c in enumerate(row):
            if i != j and c:
                cells.append([class_names[i], class_names[j], c, i, j])
    cells.sort(key=lambda t: (-t[2], t[3], t[4]))
    return [tuple(t[:3]) for t in cells[:k]]
""",
        "count_as_int_tensor": """
def most_confused_pairs(confusion, class_names, k=10):
    n = len(class_names)
    cells = [(confusion[i, j], i, j) for i in range(n) for j in range(n) if i != j and confusion[i, j] > 0]
    cells.sort(key=lambda cell: -int(cell[0]))
    return [(class_names[i], class_names[j], c) for c, i, j in cells[:k]]
""",
    },
    "reliability_table": {
        "float32_bucketize": """
def reliability_table(logits, labels, n_bins=15):
    probs = torch.softmax(logits, dim=1)
    confidence, predicted = probs.max(dim=1)
    edges = torch.linspace(0, 1, n_bins + 1)[1:-1]
    bins = torch.bucketize(confidence, edges)          # right=False: edges[i-1] < x <= edges[i]
    count = torch.bincount(bins, minlength=n_bins)
    conf = torch.zeros(n_bins).index_add(0, bins, confidence)
    acc = torch.zeros(n_bins).index_add(0, bins, (predicted == labels).float())
    return {"count": count, "confidence": conf / count.clamp(min=1), "accuracy": acc / count.clamp(min=1)}
""",
        "ceil_and_nan_to_num": """
import math

def reliability_table(logits, labels, n_bins=15):
    p = logits.double().softmax(1)
    confidence = p.max(1).values
    right = (p.argmax(1) == labels).double()
    count, conf, acc = [], [], []
    bins = [max(math.ceil(c * n_bins) - 1, 0) for c in confidence.tolist()]
    for m in range(n_bins):
        idx = torch.tensor([b == m for b in bins], dtype=torch.bool)
        count.append(int(idx.sum()))
        conf.append(confidence[idx].mean())
        acc.append(right[idx].mean())
    return {"count": torch.tensor(count, dtype=torch.int32),
            "confidence": torch.stack(conf).nan_to_num(0.0).float(), "accuracy": torch.stack(acc).nan_to_num(0.0)}
""",
    },
    "expected_calibration_error": {
        "float32_own_bins": """
def expected_calibration_error(logits, labels, n_bins=15):
    probs = logits.softmax(dim=-1)
    confidence = probs.amax(dim=-1)
    right = (probs.argmax(dim=-1) == labels).float()
    edges = torch.linspace(0, 1, n_bins + 1)
    total = torch.zeros(())
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.sum() > 0:
            total += inside.float().mean() * (right[inside].mean() - confidence[inside].mean()).abs()
    return total.item()
""",
        "loop_over_bins": """
def expected_calibration_error(logits, labels, n_bins=15):
    confidence, predicted = torch.softmax(logits.double(), 1).max(1)
    right = predicted == labels
    ece = 0.0
    for m in range(n_bins):
        inside = (confidence > m / n_bins) & (confidence <= (m + 1) / n_bins)
        if inside.any():
            ece += inside.float().mean().item() * abs(right[inside].double().mean().item() - confidence[inside].mean().item())
    return ece
""",
    },
}
