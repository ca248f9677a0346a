"""DistributedDataParallel on the CPU: `torchrun --nproc_per_node 2` runs the real
training loop with gloo; both processes must end with identical weights, and only
process 0 writes the results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import torch

SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from torch import nn
    from cvbook.data import ImageSet
    from cvbook.train import TrainConfig, train
    from cvbook.train.distributed import setup

    info = setup("cpu")
    torch.manual_seed(100 + info.rank)   # different initial weights: DDP must sync them
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3))
    g = torch.Generator().manual_seed(0)
    data = ImageSet(torch.randint(0, 255, (96, 1, 8, 8), generator=g, dtype=torch.uint8),
                    torch.arange(96) % 3, ("a", "b", "c"))
    cfg = TrainConfig(epochs=2, batch_size=8, lr=0.05, mixup_cutmix_alpha=0.4, ema=0.9,
                      seed=1, progress=False, device="cpu")
    history = train(model, data, data.head(30), cfg, sys.argv[1] + "/run")
    torch.save({"model": model.state_dict(), "history": history}, f"{sys.argv[1]}/rank{info.rank}.pt")
""")


def test_two_process_ddp_run_keeps_identical_weights(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node", "2", str(script), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    for name, value in r0["model"].items():
        assert torch.equal(value, r1["model"][name]), name
    # 96 images, 2 processes x 8 per step: 6 steps per epoch, the global batch is 16
    ckpt = torch.load(tmp_path / "run" / "last.pth", weights_only=False)
    assert ckpt["steps_per_epoch"] == 6 and len(ckpt["rng"]) == 2
    h0, h1 = ({k: v for k, v in r["history"].items() if k != "epoch_time_s"} for r in (r0, r1))
    assert h0 == h1 and h0["epoch"] == [1, 2]   # losses and accuracies reduced over processes
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "best_model.pth", "checkpoint_epoch_1.pth", "checkpoint_epoch_2.pth", "history.json",
        "last.pth"]
