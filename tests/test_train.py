"""cvbook.train: schedules, losses, mixing, EMA, atomic checkpoints, and the loop's
promises (same seed -> same weights; a killed and resumed run ends where an
uninterrupted one does). Tiny model and synthetic data: seconds, not minutes."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cvbook.data import ImageSet, split_off
from cvbook.files import atomic_save, load_checkpoint
from cvbook.train import (EMA, MixUpCutMix, TrainConfig, build_optimizer, build_scheduler, cutmix, mixup,
                          soft_cross_entropy, train, warmup_cosine_lr)


class TinyNet(nn.Module):
    """Conv + BatchNorm (buffers) + Dropout (random numbers) + Linear."""

    def __init__(self, fail_at_step: int | None = None):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.2))
        self.head = nn.Linear(16, 4)
        self.fail_at_step, self.steps = fail_at_step, 0

    def forward(self, x):
        if self.training:
            self.steps += 1
            if self.steps == self.fail_at_step:
                raise RuntimeError("simulated crash")
        return self.head(self.body(x))


def synthetic(n: int = 192, seed: int = 0) -> ImageSet:
    """4 classes; class k is brighter in quadrant k, so there is something to learn."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = torch.randint(0, 120, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    for k in range(4):
        r, c = divmod(k, 2)
        images[labels == k, :, 4 * r:4 * r + 4, 4 * c:4 * c + 4] += 100
    return ImageSet(images, labels, ("a", "b", "c", "d"))


def config(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=32, lr=0.05, optimizer="sgd", scheduler="cosine",
                warmup_epochs=0.5, warmup_start_lr=0.001, label_smoothing=0.1,
                mixup_cutmix_alpha=0.4, ema=0.9, grad_clip=1.0, seed=3, progress=False)
    return TrainConfig(**{**base, **kw})


def assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


# ---------------------------------------------------------------- schedules


def lr_trace(opt, sched, steps: int) -> list[float]:
    """The learning rate in force at each of `steps` optimiser steps."""
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_warmup_then_cosine_lr_values_at_chosen_steps():
    opt = build_optimizer(nn.Linear(2, 2), "sgd", lr=0.1)
    sched = build_scheduler(opt, "cosine", total_steps=110, warmup_steps=10,
                            warmup_start_lr=0.001, min_lr=0.002)
    lrs = lr_trace(opt, sched, 111)
    assert lrs[0] == pytest.approx(0.001)                       # warm-up starts at start LR
    assert lrs[5] == pytest.approx(0.001 + 0.099 / 2)           # straight line
    assert lrs[10] == pytest.approx(0.1)                        # peak at end of warm-up
    assert lrs[60] == pytest.approx((0.1 + 0.002) / 2)          # half-way down the cosine
    assert lrs[35] == pytest.approx(0.002 + 0.098 * (1 + math.cos(math.pi / 4)) / 2)
    assert lrs[110] == pytest.approx(0.002)                     # ends at min LR
    assert lrs[10:] == sorted(lrs[10:], reverse=True)


def test_no_schedule_is_constant_after_warmup_and_onecycle_peaks_at_lr():
    assert warmup_cosine_lr(50, base_lr=0.1, total_steps=100, warmup_steps=10, cosine=False) == 0.1
    assert warmup_cosine_lr(0, base_lr=0.1, total_steps=100, warmup_steps=10,
                            warmup_start_lr=0.02, cosine=False) == pytest.approx(0.02)
    opt = build_optimizer(nn.Linear(2, 2), "adamw", lr=0.02)
    sched = build_scheduler(opt, "onecycle", total_steps=100, warmup_steps=20,
                            warmup_start_lr=0.002, min_lr=0.0002)
    lrs = lr_trace(opt, sched, 100)
    assert lrs[0] == pytest.approx(0.002)
    assert max(lrs) == pytest.approx(0.02) and lrs.index(max(lrs)) in (19, 20)
    assert lrs[-1] == pytest.approx(0.0002, rel=0.05)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw", "rmsprop"])
def test_optimizers_decay_weights_but_not_biases(name):
    model = nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))
    opt = build_optimizer(model, name, lr=0.01, weight_decay=0.05)
    decayed = {id(p) for g in opt.param_groups if g["weight_decay"] == 0.05 for p in g["params"]}
    assert decayed == {id(model[0].weight)}


def test_unknown_optimizer_and_scheduler_are_clear_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'lamb'"):
        build_optimizer(nn.Linear(2, 2), "lamb")
    opt = build_optimizer(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown scheduler 'step'"):
        build_scheduler(opt, "step", total_steps=10)


# ---------------------------------------------------------------- loss, mixing, EMA


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_equals_torch_cross_entropy(smoothing):
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(16, 7, generator=g), torch.randint(0, 7, (16,), generator=g)
    expected = nn.CrossEntropyLoss(label_smoothing=smoothing)(logits, y)
    torch.testing.assert_close(soft_cross_entropy(logits, y, smoothing), expected)
    one_hot = nn.functional.one_hot(y, 7).float()   # soft targets take the same path
    torch.testing.assert_close(soft_cross_entropy(logits, one_hot, smoothing), expected)


def test_mixup_mixes_pixels_and_labels_in_the_same_proportion():
    images = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 3, 3)
    targets = torch.eye(4)
    perm = torch.tensor([1, 2, 3, 0])
    mixed, t = mixup(images, targets, 0.7, perm)
    torch.testing.assert_close(mixed[0], torch.full((1, 3, 3), 0.7 * 0 + 0.3 * 1))
    torch.testing.assert_close(t[0], torch.tensor([0.7, 0.3, 0.0, 0.0]))


@pytest.mark.parametrize("lam", [0.2, 0.5, 0.9])
def test_cutmix_label_weight_equals_pasted_area(lam):
    torch.manual_seed(int(lam * 10))
    n, h, w = 6, 10, 13
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 2, h, w)
    perm = torch.roll(torch.arange(n), 1)
    targets = torch.eye(n)
    for _ in range(10):  # random box centres, some clipped at the border
        mixed, t, used = cutmix(images, targets, lam, perm)
        pasted = (mixed == images[perm]).float().mean(dim=(1, 2, 3))
        torch.testing.assert_close(pasted, torch.full((n,), 1 - used))
        torch.testing.assert_close(t[torch.arange(n), torch.arange(n)], torch.full((n,), used))
        torch.testing.assert_close(t[torch.arange(n), perm], torch.full((n,), 1 - used))
        assert lam - 1e-9 <= used <= 1  # clipping and rounding only shrink the box


def test_mixup_cutmix_targets_are_distributions_and_alpha_zero_is_identity():
    torch.manual_seed(0)
    x, y = torch.randn(8, 1, 6, 6), torch.randint(0, 5, (8,))
    for _ in range(5):
        _, t = MixUpCutMix(0.4, 5)(x, y)
        torch.testing.assert_close(t.sum(1), torch.ones(8))
    same, t = MixUpCutMix(0.0, 5)(x, y)
    assert same is x and torch.equal(t.argmax(1), y)


def test_ema_follows_the_documented_formula():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = EMA(model, decay=0.5)
    expected = 0.0
    for n, value in enumerate([1.0, 2.0, 4.0], start=1):
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
        d = min(0.5, (1 + n) / (10 + n))
        expected = d * expected + (1 - d) * value
        assert ema.module.weight.item() == pytest.approx(expected)


# ---------------------------------------------------------------- checkpoints


def test_atomic_save_leaves_no_partial_file_when_saving_fails(tmp_path):
    path = tmp_path / "ckpt.pth"
    atomic_save({"model": {"w": torch.ones(3)}}, path)
    with pytest.raises(Exception):  # a lambda cannot be pickled: torch.save fails half-way
        atomic_save({"model": {"w": torch.zeros(10_000)}, "bad": lambda: 0}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pth"]
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(3))


def test_load_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pth"):
        load_checkpoint(tmp_path / "junk.pth")


# ---------------------------------------------------------------- the loop


def test_split_off_is_class_balanced_and_disjoint():
    data = synthetic(200)
    rest, held = split_off(data, 0.25)
    assert len(held) == 48 and len(rest) == 152
    assert torch.bincount(held.labels).tolist() == [12, 12, 12, 12]


def test_same_seed_same_weights_and_another_seed_differs(tmp_path):
    data, val = synthetic(128), synthetic(32, seed=1)
    weights = []
    for seed in (3, 3, 4):
        torch.manual_seed(seed)
        model = TinyNet()
        train(model, data, val, config(epochs=1, seed=seed))
        weights.append(model.state_dict())
    assert_same_state(weights[0], weights[1])
    assert not torch.equal(weights[0]["head.weight"], weights[2]["head.weight"])


def test_killed_and_resumed_run_ends_with_the_same_weights(tmp_path):
    data, val = synthetic(192), synthetic(64, seed=1)
    cfg = config(epochs=3)                        # 6 steps per epoch
    torch.manual_seed(0)
    straight = TinyNet()
    history = train(straight, data, val, cfg, tmp_path / "straight")

    torch.manual_seed(0)
    crashing = TinyNet(fail_at_step=6 + 4)       # dies in the middle of epoch 2
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(crashing, data, val, cfg, tmp_path / "crashed")
    out = tmp_path / "crashed"
    assert sorted(p.name for p in out.iterdir()) == [
        "best_model.pth", "checkpoint_epoch_1.pth", "history.json", "last.pth"]
    assert load_checkpoint(out / "last.pth")["epoch"] == 1

    torch.manual_seed(123)                        # other initial weights: resume must load all
    resumed = TinyNet()
    history_resumed = train(resumed, data, val, cfg, out, resume=out / "last.pth")
    assert_same_state(straight.state_dict(), resumed.state_dict())
    timeless = lambda h: {k: v for k, v in h.items() if k not in ("epoch_time_s", "runs")}  # noqa: E731
    assert timeless(history_resumed) == timeless(history)
    assert [r["from_epoch"] for r in history_resumed["runs"]] == [0, 1]
    a, b = (load_checkpoint(tmp_path / d / "last.pth") for d in ("straight", "crashed"))
    assert_same_state(a["ema"]["module"], b["ema"]["module"])
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for k in a["optimizer"]["state"]:
        assert torch.equal(a["optimizer"]["state"][k]["momentum_buffer"],
                           b["optimizer"]["state"][k]["momentum_buffer"])


def test_results_layout_and_best_model_holds_the_scored_ema_weights(tmp_path):
    import json

    data, val = synthetic(128), synthetic(64, seed=1)
    torch.manual_seed(0)
    history = train(TinyNet(), data, val, config(epochs=2, save_every=2, lr=0.2), tmp_path,
                    meta={"model": "tiny"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best_model.pth", "checkpoint_epoch_2.pth", "history.json", "last.pth"]
    assert json.loads((tmp_path / "history.json").read_text()) == history
    assert history["epoch"] == [1, 2] and len(history["val_acc"]) == 2
    best = load_checkpoint(tmp_path / "best_model.pth")
    assert best["val_acc"] == max(history["val_acc"])
    assert best["meta"]["classes"] == ["a", "b", "c", "d"] and len(best["meta"]["mean"]) == 1
    if best["epoch"] == 2:
        assert_same_state(best["model"], load_checkpoint(tmp_path / "last.pth")["ema"]["module"])


def test_resume_with_another_batch_size_is_refused(tmp_path):
    data, val = synthetic(128), synthetic(32, seed=1)
    train(TinyNet(), data, val, config(epochs=1), tmp_path)
    with pytest.raises(ValueError, match="steps per epoch"):
        train(TinyNet(), data, val, config(epochs=2, batch_size=16), tmp_path,
              resume=tmp_path / "last.pth")


@pytest.mark.filterwarnings("ignore:bf16 was requested:RuntimeWarning")  # on a CPU that emulates it
def test_bf16_and_channels_last_options_train():
    data, val = synthetic(64), synthetic(32, seed=1)
    history = train(TinyNet(), data, val, config(epochs=1, bf16=True, channels_last=True,
                                                 optimizer="adamw", lr=0.01))
    assert math.isfinite(history["train_loss"][0])


def test_too_little_data_for_one_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="fewer than one step"):
        train(TinyNet(), synthetic(16), synthetic(8), config(epochs=1, batch_size=32))


def test_image_folder_is_read_resized_and_split(tmp_path):
    from PIL import Image

    from cvbook.data import load_splits

    for k, name in enumerate(("cat", "dog")):
        (tmp_path / "train" / name).mkdir(parents=True)
        for i in range(5):
            Image.new("RGB", (12 + i, 10), (100 * k, 7 * i, 0)).save(tmp_path / "train" / name / f"{i}.png")
    splits = load_splits(data_dir=tmp_path, val_fraction=0.2, img_size=8)
    assert splits["train"].classes == ("cat", "dog")
    # No test/ folder: test and validation are each held out of train, never the same images.
    assert tuple(splits["train"].images.shape) == (6, 3, 8, 8)
    assert torch.bincount(splits["val"].labels).tolist() == [1, 1]
    assert torch.bincount(splits["test"].labels).tolist() == [1, 1]
    seen = {bytes(x.numpy()) for x in splits["val"].images}
    assert not seen & {bytes(x.numpy()) for x in splits["test"].images}
    assert splits["train"].images[splits["train"].labels == 1][:, 0].float().mean() == pytest.approx(100, abs=1)
    with pytest.raises(FileNotFoundError, match="train does not exist"):
        load_splits(data_dir=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_splits("mnist")


def test_non_square_image_folders_keep_their_shape_in_every_split(tmp_path):
    from PIL import Image

    from cvbook.data import load_splits

    for split in ("train", "val", "test"):
        for k, name in enumerate(("cat", "dog")):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (20, 12) if split == "train" else (40, 24), (100 * k, i, 0)).save(
                    tmp_path / split / name / f"{i}.png")
    splits = load_splits(data_dir=tmp_path)
    assert {s: tuple(d.images.shape[-2:]) for s, d in splits.items()} == {s: (12, 20) for s in splits}


def test_bad_training_settings_are_one_clear_error_and_save_every_zero_keeps_only_the_last(tmp_path):
    with pytest.raises(ValueError, match=r"epochs=0 \(must be an integer >= 1\).*lr=-0.1"):
        config(epochs=0, lr=-0.1)
    with pytest.raises(ValueError, match="save_every=-1"):
        config(save_every=-1)
    train(TinyNet(), synthetic(64), synthetic(32), config(epochs=2, batch_size=32, save_every=0), output_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.glob("checkpoint_epoch_*.pth")) == ["checkpoint_epoch_2.pth"]


def test_track_test_records_test_accuracy_without_changing_the_run():
    data, val, test = synthetic(128), synthetic(64, seed=1), synthetic(96, seed=2)
    torch.manual_seed(0)
    plain = train(TinyNet(), data, val, config(epochs=2, ema=0.0))
    torch.manual_seed(0)
    net = TinyNet()
    tracked = train(net, data, val, config(epochs=2, ema=0.0), test_set=test)
    assert tracked["train_loss"] == plain["train_loss"] and tracked["val_acc"] == plain["val_acc"]
    assert len(tracked["test_acc"]) == 2 and "test_acc" not in plain
    # the last entry is the final weights' accuracy on the test set, not on validation
    from cvbook.data.normalize import channel_stats
    from cvbook.evaluate.predict import predict

    mean, std = channel_stats(data.images)
    logits = predict(net, test.images, {"mean": mean, "std": std})
    assert tracked["test_acc"][-1] == (logits.argmax(1) == test.labels).sum().item() / len(test)


def test_random_erasing_option_blanks_a_square_per_image():
    from cvbook.train.loop import augment

    x = torch.full((64, 1, 8, 8), 200, dtype=torch.uint8)
    out = augment(x, config(crop_padding=0, flip=False, random_erasing=1.0, erasing_size=3))
    zeros = (out == 0).flatten(1).sum(1)
    assert (zeros == 9).all()  # exactly one 3x3 square per image
    kept = augment(x, config(crop_padding=0, flip=False, random_erasing=0.0))
    assert torch.equal(kept, x)


def test_low_res_epochs_train_on_smaller_images_then_the_full_size():
    """--low-res-size 4 --low-res-epochs 1: epoch 1's steps see 4x4 images, epoch 2's the
    full 8x8, and validation always the full size; resizing keeps the normalised values."""
    from cvbook.train.loop import low_res

    net, seen = TinyNet(), []
    net.register_forward_pre_hook(lambda m, args: seen.append((m.training, tuple(args[0].shape[-2:]))))
    history = train(net, synthetic(64), synthetic(32), config(epochs=2, ema=0.0, low_res_size=4, low_res_epochs=1))
    trained = [size for training, size in seen if training]
    assert trained == [(4, 4)] * 2 + [(8, 8)] * 2  # 64 images / batch 32 = 2 steps per epoch
    assert {size for training, size in seen if not training} == {(8, 8)}
    assert len(history["val_acc"]) == 2
    level = torch.randn(3, 2, 1, 1)
    x = level.expand(3, 2, 8, 8).contiguous()
    small = low_res(x, 4, channels_last=True)
    assert small.shape == (3, 2, 4, 4) and small.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(small, level.expand(3, 2, 4, 4), atol=1e-5)  # a flat image keeps its value
    assert low_res(x, 8) is x
    assert low_res(torch.zeros(1, 1, 8, 16), 4).shape == (1, 1, 4, 8)  # the shape is kept
    with pytest.raises(ValueError, match="low_res_size=4 with low_res_epochs=0"):
        config(low_res_size=4)
    with pytest.raises(ValueError, match="smaller than the images' shorter side"):
        train(TinyNet(), synthetic(64), synthetic(32), config(low_res_size=8, low_res_epochs=1))
    with pytest.raises(ValueError, match="leaves no epoch at full size"):
        train(TinyNet(), synthetic(64), synthetic(32), config(epochs=2, low_res_size=4, low_res_epochs=2))


def test_time_to_accuracy_counts_a_threshold_only_once_it_stays_reached():
    from cvbook.train.headline import time_to_accuracy

    # 0.91 at epoch 2 is a lucky epoch: epoch 3 falls back to 0.89, so 90 % counts from epoch 4
    history = {"test_acc": [0.85, 0.91, 0.89, 0.925, 0.93, 0.929],
               "epoch_time_s": [60, 60, 60, 30, 30, 30]}
    reached = time_to_accuracy(history, (0.80, 0.90, 0.92, 0.93, 0.94))
    assert reached[0.80] == (1, 1.0)
    assert reached[0.90] == (4, 3.5)
    assert reached[0.92] == (4, 3.5)
    assert reached[0.93] is None  # reached at epoch 5, lost again at the last epoch
    assert reached[0.94] is None
    assert time_to_accuracy({"val_acc": [0.95], "epoch_time_s": [6]}, (0.9,), key="val_acc") == {0.9: (1, 0.1)}
    with pytest.raises(ValueError, match="--track-test"):
        time_to_accuracy({"epoch_time_s": [1.0]})


def test_cutmix_at_a_given_centre_pastes_there_and_refuses_outside_points():
    images = torch.zeros(2, 1, 8, 8)
    images[1] = 1.0
    targets = torch.eye(2)
    mixed, _, lam = cutmix(images, targets, 0.75, torch.tensor([1, 0]), center=(6, 2))
    # a 4x4 box (1 - 0.75 of the area) centred at row 6, column 2: rows 4-7, columns 0-3
    assert torch.equal(mixed[0, 0, 4:8, 0:4], torch.ones(4, 4)) and mixed[0].sum() == 16 and lam == 0.75
    with pytest.raises(ValueError, match="outside the 8x8 image"):
        cutmix(images, targets, 0.5, torch.tensor([1, 0]), center=(8, 0))
