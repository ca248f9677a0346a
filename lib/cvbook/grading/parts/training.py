"""Checks of the training assignment (MixUp, CutMix, label smoothing, the learning-rate
schedule, top-k accuracy, the confusion matrix and per-class precision, recall and F1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cvbook.evaluate.metrics import classification_report
from cvbook.evaluate.metrics import confusion_matrix as reference_confusion
from cvbook.evaluate.metrics import topk_accuracy as reference_topk
from cvbook.grading.checks import (CheckFailed, call_unchanged, check_equal, check_generator_honoured,
                                   check_number, check_tensor, raised)
from cvbook.grading.fixtures import value_and_grad  # the loss and its gradient, computed where the loss runs
from cvbook.train import mix as reference_mix
from cvbook.train.losses import soft_cross_entropy as reference_loss
from cvbook.train.optim import warmup_cosine_lr as reference_lr

# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"mixup": 1, "cutmix": 2, "smooth_cross_entropy": 3, "warmup_cosine_lr": 4, "topk_accuracy": 5,
         "confusion_matrix": 6, "precision_recall_f1": 6}

# --------------------------------------------------------------------------- 1. MixUp


def mixup_case(n: int, num_classes: int, seed: int, size=(3, 3), dtype=torch.float32):
    """Images and distinct labels, so each row of the targets tells which partner the image got."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 2, *size, generator=g).to(dtype)
    labels = torch.randperm(num_classes, generator=g)[:n]
    return images, labels


def _partners(targets, labels, lam, what):
    """Image i has weight lam at its own label and 1 - lam at its partner's label."""
    index_of_label = {int(c): i for i, c in enumerate(labels)}
    partners, own = [], []
    for i, row in enumerate(targets):
        own.append(float(row[labels[i]]))
        rest = row.clone()
        rest[labels[i]] = 0
        j = int(rest.argmax())
        partners.append(index_of_label.get(j, -1) if rest[j] > 1e-6 else i)
    if -1 in partners:
        raise CheckFailed(f"{what}: the targets give weight to a class that no image in the batch has")
    partners = torch.tensor(partners)
    moved = partners != torch.arange(len(labels))
    if moved.any() and abs(lam - 0.5) > 1e-3:
        own_moved = torch.tensor(own)[moved]
        if torch.allclose(own_moved, torch.full_like(own_moved, 1 - lam), atol=1e-5):
            raise CheckFailed(f"{what}: each label got weight 1 - lam = {1 - lam:.3g}; an image keeps "
                              f"lam = {lam:.3g} of itself, so its own label gets lam")
    if not torch.equal(partners.sort().values, torch.arange(len(labels))):
        raise CheckFailed(f"{what}: partners {partners.tolist()} are not a permutation of the batch; "
                          "draw one with torch.randperm(N, generator=generator)")
    return partners


def check_mixup(mixup, n: int, num_classes: int, lam: float, seed: int, *, size=(3, 3),
                dtype=torch.float32) -> torch.Tensor:
    """(mixed_images, targets) with one permutation drawn from the generator for both; images
    unchanged; the same seed gives the same mix and other seeds another. Returns the partners."""
    images, labels = mixup_case(n, num_classes, seed, size, dtype)
    what = f"mixup(images of shape {tuple(images.shape)}, {dtype}, num_classes={num_classes}, lam={lam})"

    def run(generator):
        return call_unchanged(mixup, "mixup", {"images": images, "labels": labels, "num_classes": num_classes,
                                               "lam": lam, "generator": generator}, what=what)

    got = run(torch.Generator().manual_seed(seed))
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{what}: return a pair (mixed_images, targets), got {type(got).__name__}")
    mixed, targets = got
    if not isinstance(targets, torch.Tensor) or targets.shape != (n, num_classes):
        check_tensor(targets, torch.zeros(n, num_classes), f"{what}: targets")
    check_tensor(targets.sum(1), torch.ones(n), f"{what}: row sums of the targets", atol=1e-5, check_dtype=False)
    perm = _partners(targets, labels, lam, what)
    expected_images, expected_targets = reference_mix.mixup(images, F.one_hot(labels, num_classes).float(), lam, perm)
    check_tensor(targets, expected_targets, f"{what}: targets", atol=1e-6)
    if isinstance(mixed, torch.Tensor) and mixed.shape == images.shape and not torch.allclose(
            mixed.double(), expected_images.double(), atol=1e-6):
        if torch.allclose(mixed.double(), reference_mix.mixup(images, targets, 1 - lam, perm)[0].double(), atol=1e-6):
            raise CheckFailed(f"{what}: the images are weighted the other way round from the labels "
                              "(image i must keep lam of itself)")
        raise CheckFailed(f"{what}: the mixed images do not pair each image with the partner its "
                          f"label was mixed with (partners from the targets: {perm.tolist()}); use "
                          "one permutation for images and labels")
    check_tensor(mixed, expected_images, f"{what}: mixed images", atol=1e-6)
    if n >= 6 and 0 < lam < 1:
        check_generator_honoured(run, what)
    return perm


# --------------------------------------------------------------------------- 2. CutMix


def _pasted_region(mixed, images):
    """Rows and columns where some image changed (partners differ everywhere)."""
    changed = (mixed != images).flatten(0, 1).any(0)
    rows, cols = changed.any(1).nonzero().flatten(), changed.any(0).nonzero().flatten()
    if len(rows) == 0:
        return "no box"
    return f"rows {rows.min().item()}..{rows.max().item()}, columns {cols.min().item()}..{cols.max().item()}"


def check_cutmix(cutmix, height: int, width: int, lam: float, cy: int, cx: int, seed: int, *, n: int = 4,
                 dtype=torch.float32) -> None:
    """(mixed_images, mixed_targets, lam_used): the partner's box pasted (clipped at the
    borders), lam_used a Python float from the clipped box's area; inputs unchanged."""
    g = torch.Generator().manual_seed(seed)
    k = 5
    images = torch.rand(n, 2, height, width, generator=g).to(dtype)
    targets = F.one_hot(torch.randint(k, (n,), generator=g), k).float()
    perm = torch.roll(torch.arange(n), 1)  # no image is its own partner (unless n = 1)
    what = f"cutmix(images of shape {tuple(images.shape)}, {dtype}, lam={lam}, box centre (cy={cy}, cx={cx}))"
    got = call_unchanged(cutmix, "cutmix", {"images": images, "targets": targets, "lam": lam, "perm": perm,
                                            "cy": cy, "cx": cx}, what=what)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise CheckFailed(f"{what}: return (mixed_images, mixed_targets, lam_used), got {type(got).__name__}")
    mixed, mixed_targets, lam_used = got
    expected_images, expected_targets, expected_lam = reference_mix.cutmix(images, targets, lam, perm,
                                                                           center=(cy, cx))
    if isinstance(mixed, torch.Tensor) and mixed.shape == images.shape and not torch.equal(mixed, expected_images):
        raise CheckFailed(f"{what}: the pasted box covers {_pasted_region(mixed, images)}; expected "
                          f"{_pasted_region(expected_images, images)} (H={height}, W={width})")
    check_tensor(mixed, expected_images, f"{what}: mixed images")
    if isinstance(lam_used, (int, float)) and abs(expected_lam - lam) > 1e-9 and abs(float(lam_used) - lam) < 1e-9:
        raise CheckFailed(f"{what}: lam_used = {float(lam_used):.4g} is the lam you were given; the box "
                          f"really pasted gives {expected_lam:.4g} (correct it with the clipped box's area)")
    check_number(lam_used, expected_lam, f"{what}: lam_used", kind="float", rel=1e-6, abs_=1e-9)
    check_tensor(mixed_targets, expected_targets, f"{what}: mixed targets", atol=1e-6)


# --------------------------------------------------------------------------- 3. label smoothing


def _smoothing_hints(logits, targets, eps):
    """Values that well-known mistakes give, to name the mistake."""
    k = logits.shape[-1]
    t = F.one_hot(targets, k).double() if targets.ndim == 1 else targets.double()
    logp = F.log_softmax(logits.double(), dim=-1)
    q_other = t * (1 - eps) + (1 - t) * eps / (k - 1)
    return {
        "spreads eps over the K-1 wrong classes; spread it over all K classes (eps/K each)":
            -(q_other * logp).sum(-1).mean(),
        "sums over the batch; take the mean over the batch": reference_loss(logits, targets, eps) * len(logits),
        "averages over the classes too; sum over the classes, then average over the batch":
            reference_loss(logits, targets, eps) / k,
        "forgets the eps/K share that every class gets": -((t * (1 - eps)) * logp).sum(-1).mean(),
    }


def check_smooth_cross_entropy(smooth_cross_entropy, logits: torch.Tensor, targets: torch.Tensor, eps: float) -> None:
    """A 0-d tensor (the batch mean), finite for large logits, with the reference's value and gradient."""
    kind = "class indices" if targets.ndim == 1 else "soft targets"
    what = f"smooth_cross_entropy(logits of shape {tuple(logits.shape)}, {kind}, eps={eps})"
    got, grad = call_unchanged(lambda *args: value_and_grad(smooth_cross_entropy, *args), "smooth_cross_entropy",
                               {"logits": logits, "targets": targets, "eps": eps}, what=what)
    expected = reference_loss(logits, targets, eps)
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{what}: expected a 0-dimensional tensor, got {type(got).__name__} "
                          "(do not call .item())")
    if got.ndim != 0:
        raise CheckFailed(f"{what}: expected a 0-dimensional tensor (the batch mean), got shape {tuple(got.shape)}")
    if not torch.isfinite(got):
        raise CheckFailed(f"{what}: the loss is {got.item()}; with large logits softmax rounds to 0 "
                          "and its log to -inf: use F.log_softmax")
    if abs(got.item() - expected.item()) > 1e-5 * max(1.0, abs(expected.item())):
        for hint, value in _smoothing_hints(logits.detach(), targets, eps).items():
            if abs(got.item() - value.item()) < 1e-5 * max(1.0, abs(value.item())):
                raise CheckFailed(f"{what}: got {got.item():.6g}, expected {expected.item():.6g}: your loss {hint}")
    check_number(got.item(), expected.item(), f"{what}: loss", rel=1e-5, abs_=1e-6)
    if grad is None:
        raise CheckFailed(f"{what}: the loss does not depend on the logits through autograd")
    logits = logits.clone().requires_grad_(True)
    reference_grad = torch.autograd.grad(reference_loss(logits, targets, eps), logits)[0]
    check_tensor(grad, reference_grad, f"{what}: gradient with respect to the logits", atol=1e-6)


# --------------------------------------------------------------------------- 4. the schedule


def check_warmup_cosine_lr(warmup_cosine_lr, base_lr: float, total_steps: int, warmup_steps: int,
                           warmup_start_lr: float, min_lr: float) -> None:
    """A Python float per step 0..total_steps+3, to float32 precision."""
    kwargs = dict(base_lr=base_lr, total_steps=total_steps, warmup_steps=warmup_steps,
                  warmup_start_lr=warmup_start_lr, min_lr=min_lr)
    what = "warmup_cosine_lr(step, " + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
    steps = range(total_steps + 4)
    got = []
    for s in steps:
        try:
            value = warmup_cosine_lr(s, base_lr, total_steps, warmup_steps, warmup_start_lr, min_lr)
        except (CheckFailed, NotImplementedError):
            raise
        except Exception as error:  # noqa: BLE001 - the student's exception, with the case
            hint = ("warmup_steps=0 means no warm-up: the cosine starts at step 0" if warmup_steps == 0 else
                    f"step {s} comes after total_steps={total_steps}: the rate stays at min_lr" if s > total_steps
                    else "")
            raise CheckFailed(raised(f"{what} at step {s}", "warmup_cosine_lr", error, hint)) from None
        expected = reference_lr(s, **kwargs)
        if not isinstance(value, float):
            check_number(value, expected, f"{what} at step {s}", kind="float", rel=1e-6, abs_=1e-7 * base_lr)
        got.append(float(value))
    got = torch.tensor(got, dtype=torch.float64)
    expected = torch.tensor([reference_lr(s, **kwargs) for s in steps], dtype=torch.float64)
    if torch.allclose(got, expected, rtol=1e-6, atol=1e-7 * base_lr):
        return
    bad = int((got - expected).abs().argmax())
    hint = ""
    if warmup_steps and torch.allclose(got[:warmup_steps], expected[1:warmup_steps + 1], rtol=1e-6):
        hint = " (the warm-up is one step ahead: step 0 must use warmup_start_lr)"
    elif warmup_steps and abs(got[0]) < 1e-15 and warmup_start_lr > 0:
        hint = " (the warm-up starts at 0 instead of warmup_start_lr)"
    elif min_lr > 0 and abs(got[total_steps]) < 1e-15:
        hint = " (the cosine ends at 0 instead of min_lr)"
    elif bad > total_steps:
        hint = " (after total_steps the rate must stay at min_lr)"
    raise CheckFailed(f"{what}: at step {bad} the learning rate is {got[bad].item():.6g}, expected "
                      f"{expected[bad].item():.6g}{hint}")


# --------------------------------------------------------------------------- 5. metrics


def check_topk_accuracy(topk_accuracy, logits: torch.Tensor, targets: torch.Tensor, ks: tuple) -> None:
    """{k: the share of samples whose class is among their k best}, each a Python float."""
    what = f"topk_accuracy(logits of shape {tuple(logits.shape)}, ks={tuple(ks)})"
    big = [k for k in ks if k > logits.shape[1]]
    hint = (f"k={big[0]} is more than the {logits.shape[1]} classes: the k best then hold every class, so "
            f"top-{big[0]} accuracy is 1.0 (take min(k, number of classes))") if big else ""
    got = call_unchanged(topk_accuracy, "topk_accuracy", {"logits": logits, "targets": targets, "ks": ks},
                         what=what, hint=hint)
    expected = reference_topk(logits, targets, ks)
    if not isinstance(got, dict):
        raise CheckFailed(f"{what}: expected a dict {{k: accuracy}}, got {type(got).__name__}")
    check_equal(sorted(got), sorted(expected), f"{what}: the keys of the dict")
    for k in ks:
        value = got[k]
        if isinstance(value, (int, float)) and abs(value - 100 * expected[k]) < 1e-6 and expected[k] > 0.01:
            raise CheckFailed(f"{what}: top-{k} accuracy {value:.4g} is a percentage; return a share in [0, 1]")
        check_number(value, expected[k], f"{what}: top-{k} accuracy", kind="float", rel=1e-6, abs_=1e-9)


def check_confusion_matrix(confusion_matrix, targets: torch.Tensor, preds: torch.Tensor, num_classes: int) -> None:
    """An int64 (K, K) tensor: rows the true classes, columns the predictions."""
    what = f"confusion_matrix({len(targets)} samples, num_classes={num_classes})"
    unused = sorted(set(range(num_classes)) - set(targets.tolist()) - set(preds.tolist()))
    hint = (f"classes {unused} never occur, and still get their row and column (of zeros)" if unused else "")
    got = call_unchanged(confusion_matrix, "confusion_matrix",
                         {"targets": targets, "preds": preds, "num_classes": num_classes}, what=what, hint=hint)
    expected = reference_confusion(targets, preds, num_classes)
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and not torch.equal(got.long(), expected):
        if torch.equal(got.long(), expected.T):
            raise CheckFailed(f"{what}: your matrix is transposed: rows must be the true classes, "
                              "columns the predictions")
        if got.sum() != len(targets):
            raise CheckFailed(f"{what}: the counts add up to {int(got.sum())}, expected {len(targets)} "
                              "(one per sample; repeated (true, predicted) pairs must all be counted)")
    check_tensor(got, expected, f"{what}: confusion matrix")


def check_precision_recall_f1(precision_recall_f1, targets: torch.Tensor, preds: torch.Tensor,
                              num_classes: int) -> None:
    """Three float64 (K,) tensors with scikit-learn's numbers (zero_division=0), from the confusion matrix."""
    what = f"precision_recall_f1(the confusion matrix of {len(targets)} samples, {num_classes} classes)"
    cm = reference_confusion(targets, preds, num_classes)
    empty = [k for k in range(num_classes) if cm[:, k].sum() == 0 or cm[k].sum() == 0]
    hint = (f"class {empty[0]} is never predicted or never true: a zero denominator gives 0 there" if empty else "")
    got = call_unchanged(precision_recall_f1, "precision_recall_f1", {"cm": cm}, what=what, hint=hint)
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise CheckFailed(f"{what}: return (precision, recall, f1), got {type(got).__name__}")
    report = classification_report(targets, preds, [str(k) for k in range(num_classes)])
    expected = {name: torch.tensor([report[str(k)][key] for k in range(num_classes)], dtype=torch.float64)
                for name, key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"))}
    for name, value in zip(("precision", "recall", "f1"), got):
        if not isinstance(value, torch.Tensor):
            raise CheckFailed(f"{what}: {name} must be a tensor of shape ({num_classes},), got {type(value).__name__}")
        if value.shape == (num_classes,) and torch.isnan(value.double()).any():
            k = int(torch.isnan(value.double()).nonzero()[0])
            raise CheckFailed(f"{what}: {name} of class {k} is nan: a zero denominator must give 0 "
                              "(scikit-learn's zero_division=0)")
    precision, recall, f1 = got
    if precision.shape == recall.shape == (num_classes,) and torch.allclose(
            precision.double(), expected["recall"]) and torch.allclose(recall.double(), expected["precision"]) \
            and not torch.allclose(expected["recall"], expected["precision"]):
        raise CheckFailed(f"{what}: precision and recall are swapped: precision divides by the column "
                          "sum (predicted as k), recall by the row sum (truly k)")
    check_tensor(precision, expected["precision"], f"{what}: precision", atol=1e-9)
    check_tensor(recall, expected["recall"], f"{what}: recall", atol=1e-9)
    arithmetic = (expected["precision"] + expected["recall"]) / 2
    if f1.shape == (num_classes,) and torch.allclose(f1.double(), arithmetic) and not torch.allclose(
            arithmetic, expected["f1"]):
        raise CheckFailed(f"{what}: F1 is the arithmetic mean of precision and recall; it is their "
                          "harmonic mean 2PR / (P + R)")
    check_tensor(f1, expected["f1"], f"{what}: F1", atol=1e-9)


# --------------------------------------------------------------------------- random cases


def check_random_schedules(warmup_cosine_lr, seed: int, count: int = 4) -> None:
    """`count` random schedules (drawn from `seed`): 1 to 60 steps, no warm-up to all but one
    step of it, starting and final rates from 0 to half the base rate."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        total = int(torch.randint(1, 61, (), generator=g))
        warmup = int(torch.randint(0, total, (), generator=g))
        base = round(float(torch.rand((), generator=g)) * 2 + 0.001, 4)
        start, final = (round(base * float(v) / 2, 5) for v in torch.rand(2, generator=g))
        check_warmup_cosine_lr(warmup_cosine_lr, base, total, warmup, start, final)


def check_random_topk(topk_accuracy, seed: int, count: int = 4) -> None:
    """`count` random cases (drawn from `seed`): 1 to 50 samples of 1 to 12 classes, ks from
    1 to 14 in any order (k above the number of classes included)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(count):
        n, k = int(torch.randint(1, 51, (), generator=g)), int(torch.randint(1, 13, (), generator=g))
        logits = torch.randn(n, k, generator=g)
        ks = tuple(dict.fromkeys(int(v) for v in torch.randint(1, 15, (int(torch.randint(1, 4, (), generator=g)),),
                                                                    generator=g)))
        check_topk_accuracy(topk_accuracy, logits, torch.randint(k, (n,), generator=g), ks)
