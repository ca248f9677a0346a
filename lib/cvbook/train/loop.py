"""The training loop: one function, `train`, that every command and chapter uses.

A step: draw a batch of uint8 images, augment it on the device (per-image flips and
crops), normalise, optionally MixUp/CutMix, forward (in bf16 where the hardware runs it
natively, see cvbook.train.precision), loss with
label smoothing, backward, clip, optimizer step, schedule step, EMA update. After each
epoch: validate, append to history.json, write the checkpoints. Every file is
written atomically, and a checkpoint holds everything needed to continue the same
run bit for bit (weights, optimizer, schedule, EMA, random generators, history). The
history records, for every start of the run, the precision chosen and the CPU it ran on
(history["runs"], from cvbook.hardware.cpu_info).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from cvbook import hardware
from cvbook.train import distributed
from cvbook.data.normalize import channel_stats, to_input
from cvbook.data.splits import ImageSet
from cvbook.evaluate.predict import predict
from cvbook.files import atomic_save, atomic_write_json, load_checkpoint
from cvbook.train.checkpoint import rng_state, set_rng_state
from cvbook.train.ema import EMA
from cvbook.train.losses import soft_cross_entropy
from cvbook.train.mix import MixUpCutMix
from cvbook.train.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler
from cvbook.train.precision import PRECISIONS, choose_precision, warn_emulated_bf16


def setting(default, help: str = "", **cli):
    """A TrainConfig field: its default, its help, and how `cvbook train` spells it on the
    command line (argparse keywords such as choices, nargs, const, metavar). The options of
    `cvbook train` are generated from these fields, so each default lives here only."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass
class TrainConfig:
    epochs: int = setting(50, "train until this epoch; with --resume, epochs already done count")
    total_epochs: int | None = setting(None, "epochs the LR schedule spans, when training in parts")
    batch_size: int = setting(128, "images per step, per process")
    lr: float = setting(0.1, "peak learning rate")
    weight_decay: float = setting(1e-3, "on weights, not biases/norms")
    optimizer: str = setting("sgd", choices=OPTIMIZERS)
    momentum: float = setting(0.9, "for sgd and rmsprop")
    scheduler: str = setting("cosine", choices=SCHEDULERS)
    warmup_epochs: float = setting(0.0, "epochs of linear warm-up")
    warmup_start_lr: float = setting(1e-6, "learning rate at the start of the warm-up")
    min_lr: float = setting(0.0, "learning rate at the end of cosine/onecycle")
    label_smoothing: float = setting(0.0, "share of the target spread over all classes")
    mixup_cutmix_alpha: float = setting(0.0, "0 = off; 0.2-1.0 = on")
    ema: float = setting(0.0, "keep an EMA of the weights (decay 0.999 if no value given) and score it; 0 = off",
                         nargs="?", const=0.999, metavar="DECAY")
    grad_clip: float = setting(0.0, "max gradient norm; 0 = off")
    crop_padding: int = setting(2, "random crop +-pixels; 0 = off")
    flip: bool = setting(True, "random horizontal flips")
    random_erasing: float = setting(0.0, "erase a square of each image with probability P; 0 = off", metavar="P")
    erasing_size: int = setting(8, "side of the erased square, pixels")
    low_res_size: int = setting(0, "train the first --low-res-epochs epochs on images resized so that their "
                                "shorter side is this many pixels, which makes them faster; 0 = off "
                                "(with --ema, the averaged weights and BatchNorm statistics catch up with the "
                                "full size over the next 1 / (1 - decay) steps; --compile compiles again at the switch)")
    low_res_epochs: int = setting(0, "epochs at --low-res-size before the full size")
    precision: str = setting("auto", "auto: bfloat16 autocast where the hardware runs it natively (AVX-512 bf16, "
                             "ARM bf16, recent GPUs), float32 elsewhere", choices=PRECISIONS)
    bf16: bool = setting(False, "the same as --precision bf16")
    channels_last: bool = setting(False, "channels_last memory format")
    compile: bool = setting(False, "torch.compile the model")
    seed: int = setting(0, "initial weights, batch order and augmentation")
    save_every: int = setting(1, "checkpoint_epoch_N.pth every N epochs; 0 = the last one only")
    progress: bool = setting(True, "progress bars")
    device: str | None = setting(None, "cpu, cuda, cuda:1 ... (default: cuda if available)")

    def __post_init__(self):
        at_least = {"epochs": 1, "batch_size": 1, "save_every": 0, "crop_padding": 0, "erasing_size": 1,
                    "low_res_size": 0, "low_res_epochs": 0}
        bad = [f"{k}={getattr(self, k)!r} (must be an integer >= {low})" for k, low in at_least.items()
               if isinstance(getattr(self, k), bool) or not isinstance(getattr(self, k), int)
               or getattr(self, k) < low]
        bad += [f"{k}={getattr(self, k)!r} (must be >= 0)" for k in
                ("lr", "weight_decay", "warmup_epochs", "label_smoothing", "mixup_cutmix_alpha", "ema",
                 "grad_clip", "random_erasing") if getattr(self, k) < 0]
        if self.precision not in PRECISIONS:
            bad.append(f"precision={self.precision!r} (must be one of {', '.join(PRECISIONS)})")
        elif self.bf16 and self.precision == "float32":
            bad.append("bf16=True with precision='float32' (bf16=True means precision='bf16')")
        if (self.low_res_size > 0) != (self.low_res_epochs > 0):
            bad.append(f"low_res_size={self.low_res_size} with low_res_epochs={self.low_res_epochs} "
                       f"(give both, or neither)")
        if bad:
            raise ValueError("invalid training settings: " + "; ".join(bad))
        if self.bf16:
            self.precision = "bf16"
        self.bf16 = self.precision == "bf16"

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        d = dict(d)
        if "precision" not in d and "bf16" in d:  # saved before precision existed: as it ran
            d["precision"] = "bf16" if d["bf16"] else "float32"
        return cls(**{k: v for k, v in d.items() if k in names})


def augment(x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """Per-image random crop, flip and erasing of a uint8 batch (global torch generator)."""
    from cvbook.data.augment import random_crop, random_erasing, random_horizontal_flip

    if cfg.crop_padding:
        x = random_crop(x, cfg.crop_padding)
    if cfg.flip:
        x = random_horizontal_flip(x)
    if cfg.random_erasing:
        x = random_erasing(x, cfg.random_erasing, min(cfg.erasing_size, *x.shape[-2:]))
    return x


def low_res(x: torch.Tensor, size: int, channels_last: bool = False) -> torch.Tensor:
    """A normalised batch resized (bilinear, antialiased) so that its shorter side is `size`,
    keeping its shape. A convolutional network with global pooling takes any size, and costs
    about (size / side)^2 as much per image, so early epochs, which learn coarse shapes, run
    faster (progressive resizing)."""
    height, width = x.shape[-2:]
    target = (round(height * size / min(height, width)), round(width * size / min(height, width)))
    if (height, width) == target:
        return x
    x = nn.functional.interpolate(x, size=target, mode="bilinear", antialias=True, align_corners=False)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def epoch_order(n: int, batch_size: int, epoch: int, seed: int, info: distributed.DistInfo):
    """This process's batches of indices for one epoch. Every process shuffles with the
    same generator (seed, epoch), takes world_size * batch_size indices per step and
    keeps its own share; the incomplete last step is dropped."""
    per_step = batch_size * info.world_size
    if n < per_step:
        raise ValueError(f"{n} training images are fewer than one step of batch_size "
                         f"{batch_size} x {info.world_size} processes")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
    for s in range(n // per_step):
        yield perm[s * per_step:(s + 1) * per_step][info.rank::info.world_size]


def evaluate(model: nn.Module, data: ImageSet, meta: dict, cfg: TrainConfig,
             info: distributed.DistInfo) -> tuple[float, float]:
    """(mean loss, accuracy) over `data`; under DDP each process scores every
    world_size-th image and the sums are added up."""
    shard = torch.arange(info.rank, len(data), info.world_size)
    logits = predict(model, data.images[shard], meta, 2 * cfg.batch_size, info.device,
                     cfg.channels_last, choose_precision(cfg.precision, info.device).bf16)
    labels = data.labels[shard]
    loss = nn.functional.cross_entropy(logits, labels, reduction="sum").item() if len(shard) else 0.0
    correct = (logits.argmax(1) == labels).sum().item() if len(shard) else 0
    loss, correct, n = distributed.all_reduce_sum([loss, correct, len(shard)], info.device)
    return loss / max(n, 1), correct / max(n, 1)


def run_record(start_epoch: int, precision, cfg: TrainConfig, info: distributed.DistInfo) -> dict:
    """What one start of a run ran with: the epoch it started from, the precision chosen and
    why, the memory format, the processes, the device and the CPU (cvbook.hardware.cpu_info)."""
    return {"from_epoch": start_epoch, "precision": precision.name, "precision_requested": precision.requested,
            "precision_reason": precision.reason, "channels_last": cfg.channels_last, "compile": cfg.compile,
            "processes": info.world_size, "device": str(info.device), "cpu": hardware.cpu_info()}


def _empty_history() -> dict:
    keys = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time_s")
    return {k: [] for k in keys}


def train(model: nn.Module, train_set: ImageSet, val_set: ImageSet, cfg: TrainConfig,
          output_dir: str | Path | None = None, resume: str | Path | None = None,
          meta: dict | None = None, test_set: ImageSet | None = None) -> dict:
    """Train `model` and return the history (a dict of per-epoch lists). With an
    `output_dir`, writes history.json, last.pth, checkpoint_epoch_N.pth and
    best_model.pth there (process 0 only). `meta` describes the model for re-loading
    (model name, num_classes, in_chans, img_size, dataset) and gets the class names and
    normalisation statistics added. `resume` continues the run saved in a checkpoint.
    With a `test_set`, its accuracy is recorded after every epoch as history["test_acc"]
    (outside epoch_time_s, and never used to choose the best model): time-to-accuracy curves."""
    info = distributed.setup(cfg.device)
    out = Path(output_dir) if output_dir is not None else None
    meta = dict(meta or {})
    meta.setdefault("classes", list(train_set.classes))
    meta.setdefault("num_classes", len(train_set.classes))
    if "mean" not in meta:
        meta["mean"], meta["std"] = channel_stats(train_set.images)

    if cfg.low_res_epochs:
        side = min(train_set.images.shape[-2:])
        if not cfg.low_res_size < side:
            raise ValueError(f"low_res_size={cfg.low_res_size} must be smaller than the images' shorter side ({side} px)")
        if cfg.low_res_epochs >= (cfg.total_epochs or cfg.epochs):
            raise ValueError(f"low_res_epochs={cfg.low_res_epochs} leaves no epoch at full size "
                             f"(the run has {cfg.total_epochs or cfg.epochs})")
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    raw = model.to(info.device, memory_format=fmt)
    # DDP copies process 0's weights to every process here, before anything copies them
    net = nn.parallel.DistributedDataParallel(raw) if info.enabled else raw
    ema = EMA(raw, cfg.ema) if cfg.ema else None
    optimizer = build_optimizer(raw, cfg.optimizer, cfg.lr, cfg.weight_decay, cfg.momentum)
    steps = len(train_set) // (cfg.batch_size * info.world_size)
    total_epochs = cfg.total_epochs or cfg.epochs
    scheduler = build_scheduler(optimizer, cfg.scheduler, total_steps=max(1, total_epochs * steps),
                                warmup_steps=round(cfg.warmup_epochs * steps),
                                warmup_start_lr=cfg.warmup_start_lr, min_lr=cfg.min_lr)
    mixer = MixUpCutMix(cfg.mixup_cutmix_alpha, meta["num_classes"])
    torch.manual_seed(cfg.seed + info.rank)  # augmentation, mixing, dropout: own stream per process
    start_epoch, best_acc, history = 0, -1.0, _empty_history()
    if resume is not None:
        ckpt = load_checkpoint(resume, info.device)
        if ckpt.get("steps_per_epoch") != steps:
            raise ValueError(f"{resume}: saved with {ckpt.get('steps_per_epoch')} steps per epoch, "
                             f"this run has {steps}; resume with the same data and batch size")
        raw.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        rngs = ckpt["rng"]
        set_rng_state(rngs[info.rank] if len(rngs) == info.world_size else rngs[0])
        start_epoch, best_acc, history = ckpt["epoch"], ckpt["best_val_acc"], ckpt["history"]

    precision = choose_precision(cfg.precision, info.device)
    if info.is_main and cfg.progress:
        print(precision.line(), flush=True)
    if precision.emulated and info.is_main:
        sample = torch.arange(min(cfg.batch_size, 64, len(train_set)))
        warn_emulated_bf16(precision, raw, to_input(train_set.images[sample], meta, info.device, cfg.channels_last),
                           train_set.labels[sample].to(info.device))
    history["runs"] = history.get("runs", []) + [run_record(start_epoch, precision, cfg, info)]
    if cfg.compile:
        net = torch.compile(net)
    for epoch in range(start_epoch, cfg.epochs):
        t0, net = time.perf_counter(), net.train()
        loss_sum = correct = seen = 0.0
        bar = tqdm(epoch_order(len(train_set), cfg.batch_size, epoch, cfg.seed, info), total=steps,
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not (cfg.progress and info.is_main),
                   leave=False)
        for idx in bar:
            x = train_set.images[idx].to(info.device, non_blocking=True)
            x = to_input(augment(x, cfg), meta, info.device, cfg.channels_last)
            if epoch < cfg.low_res_epochs:
                x = low_res(x, cfg.low_res_size, cfg.channels_last)
            x, targets = mixer(x, train_set.labels[idx].to(info.device))
            with torch.autocast(info.device.type, dtype=torch.bfloat16, enabled=precision.bf16):
                logits = net(x)
            loss = soft_cross_entropy(logits, targets, cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(raw.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update(raw)
            loss_sum += loss.item() * len(idx)
            correct += (logits.argmax(1) == targets.argmax(1)).sum().item()
            seen += len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        loss_sum, correct, seen = distributed.all_reduce_sum([loss_sum, correct, seen], info.device)
        distributed.broadcast_from_main(list(raw.buffers()) +
                                        (list(ema.module.state_dict().values()) if ema else []))
        scored = ema.module if ema is not None else raw
        val_loss, val_acc = evaluate(scored, val_set, meta, cfg, info)
        for key, value in zip(_empty_history(), (epoch + 1, loss_sum / seen, correct / seen, val_loss,
                                                 val_acc, optimizer.param_groups[0]["lr"],
                                                 time.perf_counter() - t0)):
            history[key].append(value)
        if test_set is not None:
            history.setdefault("test_acc", []).append(evaluate(scored, test_set, meta, cfg, info)[1])
        rngs = distributed.all_gather_object(rng_state())
        if out is not None and info.is_main:
            _save(out, epoch + 1, raw, scored, optimizer, scheduler, ema, rngs, history,
                  max(best_acc, val_acc), val_acc > best_acc, steps, cfg, meta)
        best_acc = max(best_acc, val_acc)
        if info.is_main and cfg.progress:
            tqdm.write(f"epoch {epoch + 1}: train loss {history['train_loss'][-1]:.4f} "
                       f"acc {history['train_acc'][-1]:.4f} | val loss {val_loss:.4f} "
                       f"acc {val_acc:.4f}" + (f" | test acc {history['test_acc'][-1]:.4f}"
                                                if test_set is not None else "")
                       + f" | {history['epoch_time_s'][-1]:.1f}s")
        distributed.barrier()
    return history


def _save(out: Path, epoch: int, raw, scored, optimizer, scheduler, ema, rngs, history,
          best_acc: float, is_best: bool, steps: int, cfg: TrainConfig, meta: dict) -> None:
    state = {"model": raw.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "ema": ema.state_dict() if ema else None,
             "rng": rngs, "epoch": epoch, "best_val_acc": best_acc, "history": history,
             "steps_per_epoch": steps, "config": asdict(cfg), "meta": meta}
    atomic_write_json(history, out / "history.json")
    atomic_save(state, out / "last.pth")   # resume point after a crash mid-epoch
    if (cfg.save_every and epoch % cfg.save_every == 0) or epoch == cfg.epochs:
        atomic_save(state, out / f"checkpoint_epoch_{epoch}.pth")
    if is_best:  # the weights that were scored (the EMA when there is one)
        atomic_save({"model": scored.state_dict(), "meta": meta, "epoch": epoch,
                     "val_acc": history["val_acc"][-1], "config": asdict(cfg), "runs": history["runs"]},
                    out / "best_model.pth")
