"""Plausible wrong answers for exercise 07_training (solutions/07_training/training.ipynb):
grade_id of the solution cell -> {label: the student's whole cell}. Each must lose the
points of that part's test cell (the first of each cell also goes through nbgrader)."""

MUTANTS = {
    "mixup": {
        "labels_mixed_with_one_minus_lam": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randperm(len(images), generator=generator)
    targets = F.one_hot(labels, num_classes).float()
    mixed = images * lam + images[perm] * (1.0 - lam)
    return mixed, targets * (1.0 - lam) + targets[perm] * lam
""",
        "different_permutation_for_labels": """
def mixup(images, labels, num_classes, lam, generator):
    targets = F.one_hot(labels, num_classes).float()
    mixed = images * lam + images[torch.randperm(len(images), generator=generator)] * (1.0 - lam)
    perm = torch.randperm(len(images), generator=generator)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)
""",
        "images_weighted_the_other_way": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randperm(len(images), generator=generator)
    targets = F.one_hot(labels, num_classes).float()
    mixed = images[perm] * lam + images * (1.0 - lam)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)
""",
        "global_random_generator": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randperm(len(images))
    targets = F.one_hot(labels, num_classes).float()
    mixed = images * lam + images[perm] * (1.0 - lam)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)
""",
        "flipped_batch_instead_of_permutation": """
def mixup(images, labels, num_classes, lam, generator):
    targets = F.one_hot(labels, num_classes).float()
    mixed = images * lam + images.flip(0) * (1.0 - lam)
    return mixed, targets * lam + targets.flip(0) * (1.0 - lam)
""",
        "modifies_input_in_place": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randperm(len(images), generator=generator)
    targets = F.one_hot(labels, num_classes).float()
    partners = images[perm]
    mixed = images.mul_(lam).add_(partners, alpha=1.0 - lam)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)
""",
        "random_partners_with_replacement": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randint(len(images), (len(images),), generator=generator)
    targets = F.one_hot(labels, num_classes).float()
    mixed = images * lam + images[perm] * (1.0 - lam)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)
""",
        "own_fixed_generator": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    targets = F.one_hot(labels, num_classes).float()
    return images * lam + images[perm] * (1.0 - lam), targets * lam + targets[perm] * (1.0 - lam)
""",
        "images_always_float32": """
def mixup(images, labels, num_classes, lam, generator):
    perm = torch.randperm(len(images), generator=generator)
    targets = F.one_hot(labels, num_classes).float()
    mixed = images.float() * lam + images[perm].float() * (1.0 - lam)
    return mixed, targets * lam + targets[perm] * (1.0 - lam)
""",
    },
    "cutmix": {
        "lam_not_corrected_for_clipping": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    return mixed, targets * lam + targets[perm] * (1.0 - lam), lam
""",
        "height_and_width_swapped": """
def cutmix(images, targets, lam, perm, cy, cx):
    width, height = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = 1.0 - (bottom - top) * (right - left) / (height * width)
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "box_sides_swapped": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(width * cut), int(height * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = 1.0 - (bottom - top) * (right - left) / (height * width)
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "lam_from_unclipped_box": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = 1.0 - h * w / (height * width)
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "not_clipped_at_top_left": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = cy - h // 2, min(cy - h // 2 + h, height)
    left, right = cx - w // 2, min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = 1.0 - max(bottom - top, 0) * max(right - left, 0) / (height * width)
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "box_starts_at_centre": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = cy, min(cy + h, height)
    left, right = cx, min(cx + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = 1.0 - (bottom - top) * (right - left) / (height * width)
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "pastes_into_input": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    partners = images[perm]
    images[..., top:bottom, left:right] = partners[..., top:bottom, left:right]
    lam_used = 1.0 - (bottom - top) * (right - left) / (height * width)
    return images, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "labels_weighted_the_other_way": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = (bottom - top) * (right - left) / (height * width)
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
        "lam_used_as_tensor": """
def cutmix(images, targets, lam, perm, cy, cx):
    height, width = images.shape[-2:]
    cut = math.sqrt(1.0 - lam)
    h, w = int(height * cut), int(width * cut)
    top, bottom = max(cy - h // 2, 0), min(cy - h // 2 + h, height)
    left, right = max(cx - w // 2, 0), min(cx - w // 2 + w, width)
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = images[perm][..., top:bottom, left:right]
    lam_used = 1.0 - torch.tensor((bottom - top) * (right - left) / (height * width))
    return mixed, targets * lam_used + targets[perm] * (1.0 - lam_used), lam_used
""",
    },
    "smooth_cross_entropy": {
        "eps_over_k_minus_one_classes": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets * (1.0 - smoothing) + (1.0 - targets) * smoothing / (num_classes - 1)
    return -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
""",
        "sum_over_batch": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets * (1.0 - smoothing) + smoothing / num_classes
    return -(q * F.log_softmax(logits, dim=-1)).sum()
""",
        "mean_over_classes_too": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets * (1.0 - smoothing) + smoothing / num_classes
    return -(q * F.log_softmax(logits, dim=-1)).mean()
""",
        "log_of_softmax": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets * (1.0 - smoothing) + smoothing / num_classes
    return -(q * torch.log(torch.softmax(logits, dim=-1))).sum(dim=-1).mean()
""",
        "argmax_of_soft_targets": """
def smooth_cross_entropy(logits, targets, smoothing):
    if targets.ndim == 2:
        targets = targets.argmax(dim=1)
    return F.cross_entropy(logits, targets, label_smoothing=smoothing)
""",
        "forgets_uniform_share": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets * (1.0 - smoothing)
    return -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
""",
        "returns_python_float": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets * (1.0 - smoothing) + smoothing / num_classes
    return -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean().item()
""",
        "smooths_soft_targets_in_place": """
def smooth_cross_entropy(logits, targets, smoothing):
    num_classes = logits.shape[-1]
    if targets.ndim == 1:
        targets = F.one_hot(targets, num_classes).to(logits.dtype)
    q = targets.mul_(1.0 - smoothing).add_(smoothing / num_classes)
    return -(q * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
""",
    },
    "warmup_cosine_lr": {
        "warmup_one_step_ahead": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
""",
        "cosine_ends_at_zero": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))
""",
        "warmup_starts_at_zero": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step < warmup_steps:
        return base_lr * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
""",
        "progress_over_all_steps": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_steps
    progress = min(1.0, step / total_steps)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
""",
        "cosine_rises_after_the_end": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
""",
        "warmup_reaches_base_lr_one_step_late": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step <= warmup_steps and warmup_steps > 0:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / (warmup_steps + 1)
    progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
""",
        "returns_tensor": """
def warmup_cosine_lr(step, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr):
    if step < warmup_steps:
        return warmup_start_lr + (base_lr - warmup_start_lr) * step / warmup_steps
    progress = torch.tensor(min(1.0, (step - warmup_steps) / (total_steps - warmup_steps)))
    return min_lr + (base_lr - min_lr) * 0.5 * (1.0 + torch.cos(math.pi * progress))
""",
    },
    "topk_accuracy": {
        "k_minus_one": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.topk(min(k, logits.shape[1]) - 1, dim=1).indices
        accuracies[k] = (top == targets[:, None]).any(dim=1).float().mean().item()
    return accuracies
""",
        "topk_over_the_batch_dimension": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.topk(min(k, logits.shape[0]), dim=0).indices.T
        accuracies[k] = (top == targets[:, None]).any(dim=1).float().mean().item()
    return accuracies
""",
        "mean_over_all_k_columns": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.topk(min(k, logits.shape[1]), dim=1).indices
        accuracies[k] = (top == targets[:, None]).float().mean().item()
    return accuracies
""",
        "counter_not_reset_between_ks": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    top = logits.argsort(dim=1, descending=True)
    correct = 0
    for k in ks:
        correct += (top[:, :k] == targets[:, None]).any(dim=1).sum().item()
        accuracies[k] = correct / len(targets)
    return accuracies
""",
        "smallest_logits": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.argsort(dim=1)[:, :k]
        accuracies[k] = (top == targets[:, None]).any(dim=1).float().mean().item()
    return accuracies
""",
        "k_larger_than_classes_crashes": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.topk(k, dim=1).indices
        accuracies[k] = (top == targets[:, None]).any(dim=1).float().mean().item()
    return accuracies
""",
        "percent": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.topk(min(k, logits.shape[1]), dim=1).indices
        accuracies[k] = 100 * (top == targets[:, None]).any(dim=1).float().mean().item()
    return accuracies
""",
        "tensor_values": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    accuracies = {}
    for k in ks:
        top = logits.topk(min(k, logits.shape[1]), dim=1).indices
        accuracies[k] = (top == targets[:, None]).any(dim=1).float().mean()
    return accuracies
""",
    },
    "confusion_report": {
        "transposed_matrix": """
def confusion_matrix(targets, preds, num_classes):
    cells = preds.long() * num_classes + targets.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / predicted.clamp_min(1)
    recall = tp / actual.clamp_min(1)
    f1 = 2 * tp / (predicted + actual).clamp_min(1)
    return precision, recall, f1
""",
        "precision_and_recall_swapped": """
def confusion_matrix(targets, preds, num_classes):
    cells = targets.long() * num_classes + preds.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / actual.clamp_min(1)
    recall = tp / predicted.clamp_min(1)
    f1 = 2 * tp / (predicted + actual).clamp_min(1)
    return precision, recall, f1
""",
        "f1_arithmetic_mean": """
def confusion_matrix(targets, preds, num_classes):
    cells = targets.long() * num_classes + preds.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / predicted.clamp_min(1)
    recall = tp / actual.clamp_min(1)
    return precision, recall, (precision + recall) / 2
""",
        "nan_for_a_class_never_predicted": """
def confusion_matrix(targets, preds, num_classes):
    cells = targets.long() * num_classes + preds.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


def precision_recall_f1(cm):
    cm = cm.double()
    tp = cm.diag()
    precision = tp / cm.sum(0)
    recall = tp / cm.sum(1)
    f1 = 2 * precision * recall / (precision + recall)
    return precision, recall, f1
""",
        "repeated_pairs_counted_once": """
def confusion_matrix(targets, preds, num_classes):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    cm[targets, preds] += 1
    return cm


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / predicted.clamp_min(1)
    recall = tp / actual.clamp_min(1)
    f1 = 2 * tp / (predicted + actual).clamp_min(1)
    return precision, recall, f1
""",
        "bincount_without_minlength": """
def confusion_matrix(targets, preds, num_classes):
    cells = targets.long() * num_classes + preds.long()
    return torch.bincount(cells).view(-1, num_classes)


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / predicted.clamp_min(1)
    recall = tp / actual.clamp_min(1)
    f1 = 2 * tp / (predicted + actual).clamp_min(1)
    return precision, recall, f1
""",
        "integer_division": """
def confusion_matrix(targets, preds, num_classes):
    cells = targets.long() * num_classes + preds.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


def precision_recall_f1(cm):
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp // predicted.clamp_min(1)
    recall = tp // actual.clamp_min(1)
    f1 = 2 * tp // (predicted + actual).clamp_min(1)
    return precision, recall, f1
""",
        "float_counts": """
def confusion_matrix(targets, preds, num_classes):
    cm = torch.zeros(num_classes, num_classes)
    cm.index_put_((targets.long(), preds.long()), torch.ones(len(targets)), accumulate=True)
    return cm


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / predicted.clamp_min(1)
    recall = tp / actual.clamp_min(1)
    return precision, recall, 2 * tp / (predicted + actual).clamp_min(1)
""",
        "returns_lists": """
def confusion_matrix(targets, preds, num_classes):
    cells = targets.long() * num_classes + preds.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


def precision_recall_f1(cm):
    cm = cm.double()
    tp, predicted, actual = cm.diag(), cm.sum(0), cm.sum(1)
    precision = tp / predicted.clamp_min(1)
    recall = tp / actual.clamp_min(1)
    return precision.tolist(), recall.tolist(), (2 * tp / (predicted + actual).clamp_min(1)).tolist()
""",
    },
}

# Right answers written differently from the solution: each must keep every point.
CORRECT = {
    "topk_accuracy": {
        "argsort_and_loop": """
def topk_accuracy(logits, targets, ks=(1, 5)):
    order = logits.argsort(dim=1, descending=True)
    result = {}
    for k in ks:
        hits = (order[:, :k] == targets.view(-1, 1)).any(dim=1)
        result[k] = float(hits.sum()) / len(targets)
    return result
""",
    },
}
