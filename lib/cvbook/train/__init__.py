"""Training: the loop, optimisers and schedules, label smoothing, MixUp/CutMix, EMA,
checkpoints and resume, DistributedDataParallel via torchrun."""

from cvbook.train.checkpoint import atomic_save, atomic_write_json, load_checkpoint
from cvbook.train.data import ImageSet, load_splits, split_off
from cvbook.train.ema import EMA
from cvbook.train.losses import soft_cross_entropy
from cvbook.train.mix import MixUpCutMix, cutmix, mixup
from cvbook.train.optim import build_optimizer, build_scheduler, warmup_cosine_lr
from cvbook.train.loop import TrainConfig, evaluate, predict, train

__all__ = ["EMA", "ImageSet", "MixUpCutMix", "TrainConfig",
           "atomic_save", "atomic_write_json", "build_optimizer", "build_scheduler", "cutmix",
           "evaluate", "load_checkpoint", "load_splits", "mixup", "predict", "soft_cross_entropy",
           "split_off", "train", "warmup_cosine_lr"]
