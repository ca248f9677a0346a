"""Calibration: does a model's confidence match how often it is right?

The confidence of a prediction is the softmax probability of the predicted class. The
predictions are put in `n_bins` equal-width confidence bins, bin m holding the
confidences in ((m - 1) / n_bins, m / n_bins] (a confidence of exactly 1 falls in the
last bin); in a calibrated model each bin's accuracy equals its mean confidence. The
expected calibration error (ECE) is the gap between the two, averaged over the bins with
weights |bin| / N (Guo et al., "On Calibration of Modern Neural Networks", 2017)."""

from __future__ import annotations

import torch


def _confidences(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (N, K) and labels (N,), got {tuple(logits.shape)} "
                         f"and {tuple(labels.shape)}")
    if len(labels) == 0:
        raise ValueError("the calibration of an empty batch is undefined")
    conf, preds = logits.detach().double().softmax(dim=1).max(dim=1)
    return conf, (preds == labels).double()


def reliability_table(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> dict[str, torch.Tensor]:
    """Per confidence bin ((m - 1) / n_bins, m / n_bins], m = 1..n_bins: "count" (int64,
    predictions in the bin), "confidence" (their mean confidence) and "accuracy" (the share
    of them that is right), float64, 0 for an empty bin."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    conf, correct = _confidences(logits, labels)
    # ceil(conf * n) - 1 is the bin whose upper edge is the first at or above conf
    bins = (torch.ceil(conf * n_bins).long() - 1).clamp(0, n_bins - 1)
    count = torch.bincount(bins, minlength=n_bins)
    sums = torch.zeros(n_bins, dtype=torch.float64)
    conf_sum = sums.index_add(0, bins, conf)
    right_sum = sums.index_add(0, bins, correct)
    denominator = count.clamp_min(1).double()
    return {"count": count, "confidence": conf_sum / denominator, "accuracy": right_sum / denominator}


def expected_calibration_error(logits: torch.Tensor, labels: torch.Tensor, n_bins: int = 15) -> float:
    """ECE = sum over bins of |bin| / N * |accuracy(bin) - mean confidence(bin)|, in [0, 1]."""
    table = reliability_table(logits, labels, n_bins)
    weights = table["count"].double() / table["count"].sum()
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())
