"""Is ResNet-18's low eval-mode accuracy after the short run a BatchNorm effect?

Re-runs the short-run recipe of run_all.sh for one model (the first 1,024 training images,
one epoch, batch 32, AdamW at 1e-3, cosine, seed 0, one CPU thread), then scores the same
2,000 test images twice: in eval mode as trained, and in eval mode after re-estimating
every BatchNorm layer's running mean and variance as a plain average over the 1,024
training images (no weight changes). Writes bn_check.json beside this file.
Run from the repository root:  python book/results/architectures/bn_check.py [MODEL]
"""

import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from cvbook.models import create_model
from cvbook.data.splits import load_splits
from cvbook.data.normalize import channel_stats, to_input
from cvbook.evaluate.predict import predict
from cvbook.train.loop import TrainConfig, train


def accuracy(model, data, meta):
    return (predict(model, data.images, meta).argmax(1) == data.labels).float().mean().item()


@torch.no_grad()
def reestimate_batchnorm(model, images, meta, batch_size=32):
    """Running statistics = the plain average over `images` (momentum None), weights untouched."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    for i in range(0, len(images), batch_size):
        model(to_input(images[i:i + batch_size], meta, "cpu"))
    return model.eval()


def main(name="resnet18"):
    torch.set_num_threads(1)
    start = time.perf_counter()
    splits = load_splits("fashion-mnist", None, 0.1, None)
    train_set, val_set = splits["train"].head(1024), splits["val"].head(256)
    test_set = splits["test"].head(2000)
    mean, std = channel_stats(train_set.images)
    meta = {"model": name, "mean": mean, "std": std}
    cfg = TrainConfig(epochs=1, batch_size=32, optimizer="adamw", lr=1e-3, seed=0, device="cpu",
                      progress=False)
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, in_chans=1, img_size=28)
    history = train(model, train_set, val_set, cfg, meta=meta)
    as_trained = accuracy(model, test_set, meta)
    reestimated = accuracy(reestimate_batchnorm(model, train_set.images, meta), test_set, meta)
    result = {"model": name, "train_acc": history["train_acc"][-1], "test_images": len(test_set),
              "eval_mode_acc": as_trained, "reestimated_bn_acc": reestimated,
              "seconds": round(time.perf_counter() - start, 1), "torch": torch.__version__,
              "command": "python book/results/architectures/bn_check.py " + name}
    out = Path(__file__).with_name("bn_check.json")
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
