"""The headline model's recipes and its time-to-accuracy figures.

TinyResNet (96,314 parameters) on Fashion-MNIST, trained by `cvbook train` on a 2-core
CPU. Each recipe is the exact command-line of one run; `time_to_accuracy` reads the run's
history.json (train with --track_test) and says after how many training minutes the test
accuracy first reached each threshold. Minutes are the sum of epoch_time_s (training plus
the per-epoch validation pass; start-up and the test scoring for the curve are not counted).
"""

from __future__ import annotations

THRESHOLDS = (0.90, 0.92, 0.93, 0.94)

_COMMON = ["--model", "tiny_resnet", "--dataset", "fashion-mnist", "--batch_size", "256", "--optimizer", "sgd",
           "--lr", "0.2", "--weight_decay", "5e-4", "--warmup_epochs", "2", "--warmup_start_lr", "0.02",
           "--label_smoothing", "0.1", "--crop_padding", "2", "--bf16", "--channels_last", "--track_test"]

# name -> (what it is for, `cvbook train` arguments)
RECIPES: dict[str, tuple[str, list[str]]] = {
    "10min": ("a schedule that ends within 10 minutes", _COMMON + ["--epochs", "40", "--random_erasing", "0.25"]),
    "30min": ("a schedule that ends within 30 minutes", _COMMON + ["--epochs", "120", "--random_erasing", "0.25"]),
}


def time_to_accuracy(history: dict, thresholds=THRESHOLDS) -> dict[float, tuple[int, float] | None]:
    """{threshold: (first epoch whose test accuracy >= threshold, training minutes until then)
    or None if never reached}."""
    if "test_acc" not in history:
        raise ValueError("history has no test_acc: train with --track_test to record it")
    accs, times = history["test_acc"], history["epoch_time_s"]
    if len(accs) != len(times):
        raise ValueError(f"history has {len(accs)} test accuracies but {len(times)} epoch times")
    result, elapsed = {t: None for t in thresholds}, 0.0
    for epoch, (acc, seconds) in enumerate(zip(accs, times), start=1):
        elapsed += seconds
        for t in thresholds:
            if result[t] is None and acc >= t:
                result[t] = (epoch, elapsed / 60)
    return result
