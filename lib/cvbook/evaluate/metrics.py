"""Top-k accuracy, confusion matrix and the per-class classification report.

The report is computed from the confusion matrix, the way one would by hand:
precision of class k = C[k, k] / (column sum), recall = C[k, k] / (row sum), F1 their
harmonic mean. Its numbers equal scikit-learn's `classification_report` (a test
checks), and `format_classification_report` prints the same table."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn


@torch.no_grad()
def accuracy(model: Callable, inputs: torch.Tensor, labels: torch.Tensor, batch_size: int = 256,
             pad_last: bool = False) -> float:
    """Top-1 accuracy of `model` (a module, run in eval mode and put back in its own mode,
    or any callable: a compiled or ONNX Runtime model) over normalised `inputs`, in batches.
    `pad_last` pads the last batch to `batch_size` (a compiled int8 model is specialised to
    one batch size); only the real images count."""
    was_training = isinstance(model, nn.Module) and model.training
    if was_training:
        model.eval()
    try:
        correct = 0
        for i in range(0, len(inputs), batch_size):
            x = inputs[i:i + batch_size]
            n = len(x)
            if pad_last and n < batch_size:
                x = torch.cat([x, x[:1].expand(batch_size - n, *x.shape[1:])])
            correct += int((model(x)[:n].argmax(1) == labels[i:i + n]).sum())
    finally:
        if was_training:
            model.train()
    return correct / max(len(inputs), 1)


def topk_accuracy(logits: torch.Tensor, targets: torch.Tensor,
                  ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """{k: share of rows whose true class is among the k highest logits}. k larger than
    the number of classes counts as all classes (accuracy 1)."""
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (N, K) and targets (N,), got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    if len(targets) == 0:
        raise ValueError("top-k accuracy of an empty batch is undefined")
    out = {}
    for k in ks:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        top = logits.topk(min(k, logits.shape[1]), dim=1).indices
        out[k] = (top == targets[:, None]).any(dim=1).float().mean().item()
    return out


def confusion_matrix(targets: torch.Tensor, preds: torch.Tensor, num_classes: int) -> torch.Tensor:
    """C[i, j] = number of images of true class i predicted as class j (int64, K x K)."""
    targets, preds = torch.as_tensor(targets).long(), torch.as_tensor(preds).long()
    if targets.shape != preds.shape:
        raise ValueError(f"targets {tuple(targets.shape)} and preds {tuple(preds.shape)} differ in shape")
    for name, t in (("targets", targets), ("preds", preds)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{name} hold values {t.min().item()}..{t.max().item()}; "
                             f"expected 0..{num_classes - 1}")
    return torch.bincount(targets * num_classes + preds,
                          minlength=num_classes ** 2).view(num_classes, num_classes)


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    # 0 where the denominator is 0: scikit-learn's zero_division default
    return torch.where(den > 0, num / torch.where(den > 0, den, 1), torch.zeros_like(num))


def classification_report(targets: torch.Tensor, preds: torch.Tensor,
                          class_names: Sequence[str]) -> dict:
    """Per class and averaged precision, recall, f1-score and support, in the layout of
    sklearn's classification_report(output_dict=True)."""
    cm = confusion_matrix(targets, preds, len(class_names)).double()
    tp, support = cm.diag(), cm.sum(1)
    precision, recall = _ratio(tp, cm.sum(0)), _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    report = {name: {"precision": p, "recall": r, "f1-score": f, "support": s}
              for name, p, r, f, s in zip(class_names, precision.tolist(), recall.tolist(),
                                          f1.tolist(), support.tolist())}
    total = support.sum()
    report["accuracy"] = (tp.sum() / total).item() if total else 0.0
    weights = support / total if total else support
    for label, w in (("macro avg", torch.full_like(support, 1 / len(class_names))),
                     ("weighted avg", weights)):
        report[label] = {"precision": (precision * w).sum().item(), "recall": (recall * w).sum().item(),
                         "f1-score": (f1 * w).sum().item(), "support": total.item()}
    return report


def format_classification_report(report: dict, digits: int = 3) -> str:
    """The report as the text table sklearn prints (the Tiniest's model card shows one, digits=3)."""
    names = [k for k in report if k not in ("accuracy", "macro avg", "weighted avg")]
    width = max(max(len(n) for n in names), len("weighted avg"), digits)
    head = ["precision", "recall", "f1-score", "support"]
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", *head, width=width) + "\n\n"
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for name in names:
        r = report[name]
        text += row.format(name, r["precision"], r["recall"], r["f1-score"], int(r["support"]),
                           width=width, digits=digits)
    total = int(report["macro avg"]["support"])
    text += "\n" + ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
        "accuracy", "", "", report["accuracy"], total, width=width, digits=digits)
    for label in ("macro avg", "weighted avg"):
        r = report[label]
        text += row.format(label, r["precision"], r["recall"], r["f1-score"], total,
                           width=width, digits=digits)
    return text
