"""The Tiniest against seed 000's torchinfo table: the table is the specification."""

from __future__ import annotations

import re

import pytest
import torch

from cvbook.models import create_model, summary
from cvbook.models.tiniest import TiniestBlock

# Seed 000 (/work/shared/seeds/000_969d907707790e33.txt), verbatim rows of its torchinfo table.
SEED000_TABLE = """\
Tiniest [*, 3, 32, 32] [*, 10] -- --
├─Conv2d: 1-1 [*, 3, 32, 32] [*, 48, 32, 32] 1,344 1.38%
├─LayerNorm2d: 1-2 [*, 48, 32, 32] [*, 48, 32, 32] -- --
│ └─LayerNorm: 2-1 [*, 32, 32, 48] [*, 32, 32, 48] 96 0.10%
├─Block: 1-3 [*, 48, 32, 32] [*, 48, 32, 32] 48 0.05%
│ └─Conv2d: 2-2 [*, 12, 32, 32] [*, 12, 32, 32] 120 0.12%
│ └─Conv2d: 2-3 [*, 12, 32, 32] [*, 12, 32, 32] 600 0.62%
│ └─AvgPool2d: 2-4 [*, 12, 32, 32] [*, 12, 32, 32] -- --
│ └─Conv2d: 2-5 [*, 12, 32, 32] [*, 12, 32, 32] 600 0.62%
│ └─LayerNorm2d: 2-6 [*, 48, 32, 32] [*, 48, 32, 32] -- --
│ │ └─LayerNorm: 3-1 [*, 32, 32, 48] [*, 32, 32, 48] 96 0.10%
│ └─Conv2d: 2-7 [*, 48, 32, 32] [*, 96, 32, 32] 4,704 4.82%
│ └─Conv2d: 2-8 [*, 48, 32, 32] [*, 48, 32, 32] 2,352 2.41%
├─Block: 1-4 [*, 48, 32, 32] [*, 48, 32, 32] 48 0.05%
│ └─Conv2d: 2-9 [*, 12, 32, 32] [*, 12, 32, 32] 120 0.12%
│ └─Conv2d: 2-10 [*, 12, 32, 32] [*, 12, 32, 32] 600 0.62%
│ └─AvgPool2d: 2-11 [*, 12, 32, 32] [*, 12, 32, 32] -- --
│ └─Conv2d: 2-12 [*, 12, 32, 32] [*, 12, 32, 32] 600 0.62%
│ └─LayerNorm2d: 2-13 [*, 48, 32, 32] [*, 48, 32, 32] -- --
│ │ └─LayerNorm: 3-2 [*, 32, 32, 48] [*, 32, 32, 48] 96 0.10%
│ └─Conv2d: 2-14 [*, 48, 32, 32] [*, 96, 32, 32] 4,704 4.82%
│ └─Conv2d: 2-15 [*, 48, 32, 32] [*, 48, 32, 32] 2,352 2.41%
├─Block: 1-5 [*, 48, 32, 32] [*, 48, 32, 32] 48 0.05%
│ └─Conv2d: 2-16 [*, 12, 32, 32] [*, 12, 32, 32] 120 0.12%
│ └─Conv2d: 2-17 [*, 12, 32, 32] [*, 12, 32, 32] 600 0.62%
│ └─AvgPool2d: 2-18 [*, 12, 32, 32] [*, 12, 32, 32] -- --
│ └─Conv2d: 2-19 [*, 12, 32, 32] [*, 12, 32, 32] 600 0.62%
│ └─LayerNorm2d: 2-20 [*, 48, 32, 32] [*, 48, 32, 32] -- --
│ │ └─LayerNorm: 3-3 [*, 32, 32, 48] [*, 32, 32, 48] 96 0.10%
│ └─Conv2d: 2-21 [*, 48, 32, 32] [*, 96, 32, 32] 4,704 4.82%
│ └─Conv2d: 2-22 [*, 48, 32, 32] [*, 48, 32, 32] 2,352 2.41%
├─Conv2d: 1-6 [*, 48, 32, 32] [*, 80, 16, 16] 3,920 4.02%
├─LayerNorm2d: 1-7 [*, 80, 16, 16] [*, 80, 16, 16] -- --
│ └─LayerNorm: 2-23 [*, 16, 16, 80] [*, 16, 16, 80] 160 0.16%
├─Block: 1-8 [*, 80, 16, 16] [*, 80, 16, 16] 80 0.08%
│ └─Conv2d: 2-24 [*, 20, 16, 16] [*, 20, 16, 16] 200 0.21%
│ └─Conv2d: 2-25 [*, 20, 16, 16] [*, 20, 16, 16] 1,000 1.03%
│ └─AvgPool2d: 2-26 [*, 20, 16, 16] [*, 20, 16, 16] -- --
│ └─Conv2d: 2-27 [*, 20, 16, 16] [*, 20, 16, 16] 1,000 1.03%
│ └─LayerNorm2d: 2-28 [*, 80, 16, 16] [*, 80, 16, 16] -- --
│ │ └─LayerNorm: 3-4 [*, 16, 16, 80] [*, 16, 16, 80] 160 0.16%
│ └─Conv2d: 2-29 [*, 80, 16, 16] [*, 160, 16, 16] 12,960 13.29%
│ └─Conv2d: 2-30 [*, 80, 16, 16] [*, 80, 16, 16] 6,480 6.64%
├─Block: 1-9 [*, 80, 16, 16] [*, 80, 16, 16] 80 0.08%
│ └─Conv2d: 2-31 [*, 20, 16, 16] [*, 20, 16, 16] 200 0.21%
│ └─Conv2d: 2-32 [*, 20, 16, 16] [*, 20, 16, 16] 1,000 1.03%
│ └─AvgPool2d: 2-33 [*, 20, 16, 16] [*, 20, 16, 16] -- --
│ └─Conv2d: 2-34 [*, 20, 16, 16] [*, 20, 16, 16] 1,000 1.03%
│ └─LayerNorm2d: 2-35 [*, 80, 16, 16] [*, 80, 16, 16] -- --
│ │ └─LayerNorm: 3-5 [*, 16, 16, 80] [*, 16, 16, 80] 160 0.16%
│ └─Conv2d: 2-36 [*, 80, 16, 16] [*, 160, 16, 16] 12,960 13.29%
│ └─Conv2d: 2-37 [*, 80, 16, 16] [*, 80, 16, 16] 6,480 6.64%
├─Block: 1-10 [*, 80, 16, 16] [*, 80, 16, 16] 80 0.08%
│ └─Conv2d: 2-38 [*, 20, 16, 16] [*, 20, 16, 16] 200 0.21%
│ └─Conv2d: 2-39 [*, 20, 16, 16] [*, 20, 16, 16] 1,000 1.03%
│ └─AvgPool2d: 2-40 [*, 20, 16, 16] [*, 20, 16, 16] -- --
│ └─Conv2d: 2-41 [*, 20, 16, 16] [*, 20, 16, 16] 1,000 1.03%
│ └─LayerNorm2d: 2-42 [*, 80, 16, 16] [*, 80, 16, 16] -- --
│ │ └─LayerNorm: 3-6 [*, 16, 16, 80] [*, 16, 16, 80] 160 0.16%
│ └─Conv2d: 2-43 [*, 80, 16, 16] [*, 160, 16, 16] 12,960 13.29%
│ └─Conv2d: 2-44 [*, 80, 16, 16] [*, 80, 16, 16] 6,480 6.64%
├─AdaptiveAvgPool2d: 1-11 [*, 80, 16, 16] [*, 80, 1, 1] -- --
├─Linear: 1-12 [*, 80] [*, 10] 810 0.83%
"""
SEED000_TOTAL_PARAMS = 97_530
SEED000_MULT_ADDS_M = 44.73  # torchinfo's figure, which also counts the bias additions


def parse_row(line: str) -> tuple:
    """(depth, type, input shape, output shape, params) of one torchinfo row; batch dim dropped."""
    name = re.search(r"(\w+)(?::\s*(\d+)-\d+)?\s+\[", line)
    depth = int(name.group(2)) if name.group(2) else 0
    shapes = [tuple(int(d) for d in s.split(", ")[1:]) for s in re.findall(r"\[([^\]]*)\]", line)]
    params = line.rsplit("]", 1)[1].split()[0]
    return depth, name.group(1), shapes[0], shapes[1], 0 if params == "--" else int(params.replace(",", ""))


def our_rows(model) -> list[tuple]:
    rows = summary(model, (2, 3, 32, 32)).rows
    # Our block class is called TiniestBlock; upstream's is Block.
    return [(r.depth, "Block" if r.type == "TiniestBlock" else r.type, r.input_shape[1:], r.output_shape[1:],
             r.params) for r in rows]


def test_tiniest_has_exactly_97530_trainable_parameters():
    model = create_model("tiniest", num_classes=10, in_chans=3, img_size=32)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == SEED000_TOTAL_PARAMS
    assert summary(model, (1, 3, 32, 32)).trainable_params == SEED000_TOTAL_PARAMS


def test_tiniest_layer_table_equals_seed_000_row_by_row():
    spec = [parse_row(line) for line in SEED000_TABLE.splitlines()]
    assert len(spec) == 63 and sum(row[4] for row in spec) == SEED000_TOTAL_PARAMS  # the parser reads it all
    ours = our_rows(create_model("tiniest"))
    assert len(ours) == len(spec)
    for i, (mine, theirs) in enumerate(zip(ours, spec)):
        assert mine == theirs, f"row {i}: cvbook {mine} != seed 000 {theirs}"


def test_tiniest_mult_adds_agree_with_torchinfo_once_bias_adds_are_counted():
    model = create_model("tiniest")
    result = summary(model, (1, 3, 32, 32))
    # FlopCounterMode counts the products of convs and Linear layers; torchinfo also
    # counts one addition per bias per output position.
    modules = dict(model.named_modules())
    bias_adds = 0
    for row in result.rows:
        bias = getattr(modules[row.name], "bias", None)
        if isinstance(bias, torch.Tensor) and row.type in ("Conv2d", "Linear"):
            positions = row.output_shape[2] * row.output_shape[3] if row.type == "Conv2d" else 1
            bias_adds += bias.numel() * positions
    assert 43e6 < result.mult_adds < SEED000_MULT_ADDS_M * 1e6
    assert round((result.mult_adds + bias_adds) / 1e6, 2) == SEED000_MULT_ADDS_M


def test_tiniest_block_keeps_shape_and_starts_close_to_scaled_identity():
    block = TiniestBlock(48)
    x = torch.randn(2, 48, 8, 8)
    assert block(x).shape == x.shape
    # With the branch's last conv zeroed, the block is exactly x * rs.
    torch.nn.init.zeros_(block.fc2.weight)
    torch.nn.init.zeros_(block.fc2.bias)
    with torch.no_grad():
        block.rs.fill_(0.5)
    torch.testing.assert_close(block(x), 0.5 * x)


def test_tiniest_block_rejects_width_not_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        TiniestBlock(50)
