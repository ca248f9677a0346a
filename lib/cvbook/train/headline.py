"""The headline model's recipes and its time-to-accuracy figures.

TinyResNet (96,314 parameters) on Fashion-MNIST, trained by `cvbook train` on a 2-core
CPU. Each recipe is the exact command-line of one run; `time_to_accuracy` reads the run's
history.json (train with --track-test) and says after how many training minutes the test
accuracy reached each threshold *to stay*: the first epoch from which it never falls back
below the threshold for the rest of the run, so one lucky epoch cannot count. Minutes are
the sum of epoch_time_s (training plus the per-epoch validation pass; start-up and the test
scoring for the curve are not counted).
"""

from __future__ import annotations

THRESHOLDS = (0.90, 0.92, 0.93, 0.94)


def _recipe(epochs: int, warmup_epochs: int = 2, random_erasing: float = 0.25, low_res_epochs: int = 0) -> list[str]:
    """`cvbook train` arguments: tiny_resnet, SGD at batch 256, warm-up then cosine, label
    smoothing, crops, flips (and random erasing), in the CPU's fastest precision; with
    low_res_epochs, the first epochs on 20x20 images (progressive resizing: about twice
    as fast per epoch)."""
    return (["--model", "tiny_resnet", "--dataset", "fashion-mnist", "--batch-size", "256", "--optimizer", "sgd",
             "--lr", "0.2", "--weight-decay", "5e-4", "--warmup-epochs", str(warmup_epochs),
             "--warmup-start-lr", "0.02", "--label-smoothing", "0.1", "--crop-padding", "2", "--precision", "auto",
             "--channels-last", "--track-test", "--epochs", str(epochs)]
            + (["--random-erasing", str(random_erasing)] if random_erasing else [])
            + (["--low-res-size", "20", "--low-res-epochs", str(low_res_epochs)] if low_res_epochs else []))


# name -> (what it is for, `cvbook train` arguments). For a CPU that runs bfloat16 natively
# (AVX-512 with bf16: about 4,400 images/s on 2 cores), where the stored headline was trained.
RECIPES: dict[str, tuple[str, list[str]]] = {
    "10min": ("a schedule that ends within 10 minutes", _recipe(40)),
    "30min": ("a schedule that ends within 30 minutes", _recipe(120)),
}
# For a CPU without it (AVX2: --precision auto trains in float32; held to AVX2, the Xeon
# that measured these steps 1,400 images/s at 28x28 and 2,700 at 20x20): the same recipe,
# its first epochs at 20x20 so that more epochs fit; the short one warms up for one epoch,
# without erasing. The minutes in the descriptions are that Xeon's.
RECIPES_WITHOUT_BF16: dict[str, tuple[str, list[str]]] = {
    "10min-avx2": ("18 epochs, the first 10 at 20x20, about 9 minutes in float32 (held-AVX2 Xeon)",
                   _recipe(18, warmup_epochs=1, random_erasing=0, low_res_epochs=10)),
    "30min-avx2": ("50 epochs, the first 22 at 20x20, about 27 minutes in float32 (held-AVX2 Xeon)",
                   _recipe(50, low_res_epochs=22)),
}


def low_res_epochs(args: list[str]) -> int:
    """How many epochs a recipe's `cvbook train` arguments train at the small size (0: none)."""
    return int(args[args.index("--low-res-epochs") + 1]) if "--low-res-epochs" in args else 0


def recipes_for(bf16_native: bool) -> dict[str, tuple[str, list[str]]]:
    """The recipes written for a CPU of this kind (cvbook.hardware.bf16_native())."""
    return RECIPES if bf16_native else RECIPES_WITHOUT_BF16


def time_to_accuracy(history: dict, thresholds=THRESHOLDS,
                     key: str = "test_acc") -> dict[float, tuple[int, float] | None]:
    """{threshold: (epoch, training minutes until the end of that epoch) or None}.

    The epoch is the first one from which history[key] stays at or above the threshold
    until the end of the run: an epoch that crosses it and is followed by a drop below it
    does not count. None if the last epoch is below the threshold. key="val_acc" measures
    the same on the validation split."""
    if key not in history:
        hint = ": train with --track-test to record it" if key == "test_acc" else ""
        raise ValueError(f"history has no {key}{hint}")
    accs, times = history[key], history["epoch_time_s"]
    if len(accs) != len(times):
        raise ValueError(f"history has {len(accs)} values of {key} but {len(times)} epoch times")
    result = {}
    for t in thresholds:
        below = [epoch for epoch, acc in enumerate(accs, start=1) if acc < t]
        first_to_stay = (below[-1] if below else 0) + 1
        if first_to_stay > len(accs):
            result[t] = None
        else:
            result[t] = (first_to_stay, sum(times[:first_to_stay]) / 60)
    return result
