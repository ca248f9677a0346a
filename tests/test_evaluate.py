"""cvbook.evaluate: metrics against scikit-learn and brute force, error analysis,
efficiency counts checked by hand, feature-map hooks, plots written as PNG."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cvbook.evaluate import (classification_report, confusion_matrix, count_macs,
                             count_parameters, cpu_latency_ms, efficiency_report, feature_maps,
                             format_classification_report, mistake_gallery, mistakes,
                             most_confused_pairs, plot_confusion_matrix, plot_feature_maps,
                             plot_history, save_figure, size_on_disk, topk_accuracy,
                             training_memory_bytes)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def weak_predictions(n=400, k=6, seed=0):
    """Labels and predictions of a poor classifier: some precision+recall sums below 1,
    and class k-1 never predicted (zero-division in precision)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g)
    noise = torch.randint(0, k, (n,), generator=g)
    p = torch.where(torch.rand(n, generator=g) < 0.35, y, noise)
    p[p == k - 1] = 0
    return y, p


def test_topk_hand_checked_case():
    logits = torch.tensor([[0.1, 0.5, 0.2, 0.9],    # order 3, 1, 2, 0
                           [0.8, 0.1, 0.3, 0.0],    # order 0, 2, 1, 3
                           [0.2, 0.3, 0.4, 0.1]])   # order 2, 1, 0, 3
    targets = torch.tensor([1, 0, 3])                # ranks 2, 1, 4
    acc = topk_accuracy(logits, targets, (1, 2, 3, 4, 10))
    assert acc == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3), 3: pytest.approx(2 / 3),
                   4: 1.0, 10: 1.0}


def test_topk_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    logits, y = torch.randn(200, 12, generator=g), torch.randint(0, 12, (200,), generator=g)
    acc = topk_accuracy(logits, y, (1, 3, 5))
    for k in (1, 3, 5):
        # true class is in the top k when fewer than k logits beat it
        hits = [(logits[i] > logits[i, y[i]]).sum().item() < k for i in range(200)]
        assert acc[k] == pytest.approx(sum(hits) / 200)


def test_topk_rejects_bad_shapes():
    with pytest.raises(ValueError, match="expected logits"):
        topk_accuracy(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))


def test_confusion_matrix_equals_sklearn():
    from sklearn.metrics import confusion_matrix as sk_cm

    y, p = weak_predictions()
    assert confusion_matrix(y, p, 6).tolist() == sk_cm(y.numpy(), p.numpy(), labels=range(6)).tolist()
    with pytest.raises(ValueError, match="expected 0..5"):
        confusion_matrix(torch.tensor([6]), torch.tensor([0]), 6)


def test_classification_report_numbers_equal_sklearn():
    from sklearn.metrics import classification_report as sk_report
    from sklearn.metrics import precision_recall_fscore_support

    y, p = weak_predictions()
    names = [f"class {i}" for i in range(6)]
    ours = classification_report(y, p, names)
    prec, rec, f1, sup = precision_recall_fscore_support(y.numpy(), p.numpy(), labels=range(6),
                                                         zero_division=0)
    for i, name in enumerate(names):
        assert ours[name]["precision"] == pytest.approx(prec[i])
        assert ours[name]["recall"] == pytest.approx(rec[i])
        assert ours[name]["f1-score"] == pytest.approx(f1[i])
        assert ours[name]["support"] == sup[i]
    theirs = sk_report(y.numpy(), p.numpy(), labels=range(6), target_names=names,
                       output_dict=True, zero_division=0)
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"])
    for avg in ("macro avg", "weighted avg"):
        for key in ("precision", "recall", "f1-score", "support"):
            assert ours[avg][key] == pytest.approx(theirs[avg][key]), (avg, key)


def test_classification_report_text_is_sklearns():
    from sklearn.metrics import classification_report as sk_report

    y, p = weak_predictions(seed=3)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal"]
    text = format_classification_report(classification_report(y, p, names), digits=3)
    assert text == sk_report(y.numpy(), p.numpy(), labels=range(6), target_names=names, digits=3,
                             zero_division=0)


def test_most_confused_pairs_and_mistakes():
    cm = torch.tensor([[5, 3, 0], [1, 7, 4], [0, 0, 9]])
    assert most_confused_pairs(cm, ["a", "b", "c"], k=5) == [("b", "c", 4), ("a", "b", 3),
                                                             ("b", "a", 1)]
    with pytest.raises(ValueError, match="does not match"):
        most_confused_pairs(cm, ["a", "b"])
    logits = torch.tensor([[5.0, 0.0], [0.0, 1.0], [0.0, 9.0], [2.0, 0.0]])
    targets = torch.tensor([0, 0, 0, 1])
    assert mistakes(targets, logits).tolist() == [2, 3, 1]  # most confident mistake first


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)      # 8*1*9 + 8 = 80 params
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(32, 10)                     # 320 + 10 = 330 params

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


def test_efficiency_counts_by_hand():
    model = Small()
    assert count_parameters(model) == 80 + 330
    # conv: 8 output channels x 12 x 12 positions x 9 multiply-adds; linear: 32 x 10
    assert count_macs(model, (1, 1, 12, 12)) == 8 * 12 * 12 * 9 + 32 * 10
    assert count_macs(model, (4, 1, 12, 12)) == 4 * (8 * 12 * 12 * 9 + 32 * 10)
    assert size_on_disk(model) >= 410 * 4
    assert cpu_latency_ms(model, (1, 1, 12, 12), repeats=3, warmup=1) > 0
    small, big = (training_memory_bytes(model, (b, 1, 12, 12)) for b in (2, 16))
    assert small >= 2 * 410 * 4 and big > small  # activations grow with the batch
    report = efficiency_report(model, (1, 12, 12), repeats=2)
    assert {"params", "macs", "size_bytes", "cpu_latency_ms_batch1", "cpu_latency_ms_batch64",
            "train_memory_bytes_batch64"} <= report.keys()


def test_median_latency_skips_the_warmup_and_takes_the_median():
    from cvbook.evaluate import median_latency_ms

    durations = iter([5.0, 5.0, 0.004, 0.001, 0.100, 0.002])   # two warm-up calls, then four timed
    now = [0.0]

    def fn(x):
        now[0] += next(durations)

    assert median_latency_ms(fn, torch.zeros(1), warmup=2, runs=4, clock=lambda: now[0]) == pytest.approx(3.0)


def test_measuring_leaves_the_model_unchanged():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(400, 3)).eval()
    model(torch.randn(2, 1, 12, 12)).sum().backward()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = [p.grad.clone() for p in model.parameters()]
    efficiency_report(model, (1, 12, 12), repeats=1)
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # BatchNorm running statistics included
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads))
    model.train()
    cpu_latency_ms(model, (1, 1, 12, 12), repeats=1, warmup=0)
    assert model.training


def test_feature_maps_from_hooks_equal_a_manual_forward():
    model = Small().eval()
    x = torch.randn(3, 1, 12, 12)
    maps = feature_maps(model, x, ["conv", "pool"])
    torch.testing.assert_close(maps["conv"], model.conv(x))
    torch.testing.assert_close(maps["pool"], model.pool(torch.relu(model.conv(x))))
    assert all(not m._forward_hooks for m in model.modules())   # hooks removed
    with pytest.raises(ValueError, match="unknown layer.*'fc2'.*conv, pool, fc"):
        feature_maps(model, x, ["fc2"])


def test_plots_are_written_as_png(tmp_path):
    history = {"epoch": [1, 2, 3], "train_loss": [2.0, 1.5, 1.2], "val_loss": [1.9, 1.6, 1.4],
               "train_acc": [0.3, 0.5, 0.6], "val_acc": [0.35, 0.5, 0.55]}
    figs = {"loss.png": plot_history(history, "loss"), "acc.png": plot_history(history, "acc"),
            "cm.png": plot_confusion_matrix(torch.tensor([[3, 1], [0, 4]]), ["x", "y"]),
            "maps.png": plot_feature_maps(torch.randn(5, 6, 6)),
            "mistakes.png": mistake_gallery(torch.randint(0, 255, (4, 1, 8, 8), dtype=torch.uint8),
                                            torch.tensor([0, 1, 0, 1]), torch.randn(4, 2), ["x", "y"])}
    for name, fig in figs.items():
        save_figure(fig, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(figs)  # no temp files left
    with pytest.raises(ValueError, match="'loss' or 'acc'"):
        plot_history(history, "top5")
    with pytest.raises(ValueError, match="val_loss"):
        plot_history({"train_loss": [1.0]}, "loss")


def test_reliability_table_and_ece_by_hand():
    from cvbook.evaluate import expected_calibration_error, reliability_table

    # confidences 0.5 (tie, right), 1.0 (right), sigmoid(1) = 0.731 (wrong): bins of width 1/4
    logits = torch.tensor([[0.0, 0.0], [100.0, 0.0], [1.0, 0.0]])
    labels = torch.tensor([0, 0, 1])
    table = reliability_table(logits, labels, n_bins=4)
    assert table["count"].tolist() == [0, 1, 1, 1]          # 0.5 lies in (0.25, 0.5], 1.0 in the last bin
    assert table["accuracy"].tolist() == [0.0, 1.0, 0.0, 1.0]
    conf = torch.sigmoid(torch.tensor(1.0, dtype=torch.float64)).item()
    assert table["confidence"].tolist() == pytest.approx([0.0, 0.5, conf, 1.0])
    assert expected_calibration_error(logits, labels, n_bins=4) == pytest.approx((0.5 + conf) / 3)


def test_ece_equals_a_loop_over_bins_and_is_zero_when_calibrated():
    from cvbook.evaluate import expected_calibration_error

    torch.manual_seed(0)
    logits, labels = torch.randn(2000, 10) * 3, torch.randint(0, 10, (2000,))
    conf, pred = logits.double().softmax(1).max(1)
    correct = (pred == labels).double()
    ece = 0.0
    for m in range(15):
        inside = (conf > m / 15) & (conf <= (m + 1) / 15)
        if inside.any():
            ece += inside.double().mean() * (correct[inside].mean() - conf[inside].mean()).abs()
    assert expected_calibration_error(logits, labels) == pytest.approx(float(ece), abs=1e-12)
    # every prediction at confidence 0.75 and right three times in four: calibrated
    two = torch.tensor([[torch.log(torch.tensor(3.0)), 0.0]]).repeat(4, 1)
    assert expected_calibration_error(two, torch.tensor([0, 0, 0, 1]), n_bins=10) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="labels"):
        expected_calibration_error(logits, labels[:5])


def test_pareto_front_keeps_the_models_nothing_beats_on_both_axes():
    from cvbook.evaluate import pareto_front

    results = {"a": {"accuracy": 0.90, "latency_ms": 1.0}, "b": {"accuracy": 0.92, "latency_ms": 2.0},
               "c": {"accuracy": 0.91, "latency_ms": 3.0},      # b is better and faster
               "d": {"accuracy": 0.92, "latency_ms": 2.5},      # as good as b, slower
               "e": {"accuracy": 0.90, "latency_ms": 1.0},      # equal to a: neither beats the other
               "f": {"accuracy": 0.95, "latency_ms": 9.0}}
    assert pareto_front(results) == ["a", "e", "b", "f"]
    assert pareto_front({"x": {"acc": 1, "ms": 1}}, quality="acc", cost="ms") == ["x"]
    assert pareto_front({}) == []


def test_set_speedups_divides_the_float32_row_of_the_same_model():
    from cvbook.evaluate import set_speedups

    rows = [{"model": "m", "variant": "int8", "latency_b1_ms": 1.0, "latency_b64_ms": 20.0},
            {"model": "m", "variant": "float32", "latency_b1_ms": 2.0, "latency_b64_ms": 10.0},
            {"model": "n", "variant": "int8", "latency_b1_ms": 1.0, "latency_b64_ms": 3.0}]
    assert set_speedups(rows) is rows
    assert [(r["speedup_b1"], r["speedup_b64"]) for r in rows] == [(2.0, 0.5), (1.0, 1.0), (None, None)]
