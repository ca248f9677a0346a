"""Training: the loop, optimisers and schedules, label smoothing, MixUp/CutMix, EMA,
resume, DistributedDataParallel via torchrun. Datasets and normalisation are
cvbook.data's, checkpoints cvbook.files', and scoring a model cvbook.evaluate's."""

from cvbook.train.ema import EMA
from cvbook.train.losses import soft_cross_entropy
from cvbook.train.mix import MixUpCutMix, cutmix, mixup
from cvbook.train.optim import build_optimizer, build_scheduler, warmup_cosine_lr
from cvbook.train.loop import TrainConfig, evaluate, train

__all__ = ["EMA", "MixUpCutMix", "TrainConfig", "build_optimizer", "build_scheduler", "cutmix",
           "evaluate", "mixup", "soft_cross_entropy", "train", "warmup_cosine_lr"]
