"""Structured (channel) pruning: remove whole filters, so the network really gets smaller.

Zeroing single weights (cvbook.compress.prune) leaves every tensor its full size. Removing
a conv filter instead deletes one output channel, and with it everything that depends on
it: the matching BatchNorm entries, the input channel of every layer that reads that
channel, and, across a residual add, the same channel in every branch that is summed
with it. Finding those coupled groups by hand is error-prone; torch-pruning traces the
model once into a DependencyGraph and prunes each group consistently.

Fine-tuning afterwards (a few epochs with cvbook.train) recovers most of the accuracy;
this module only prunes and returns the smaller model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn


@dataclass(frozen=True)
class ChannelPruningResult:
    """The pruned model and what it cost before and after (MACs for one example input)."""

    model: nn.Module
    params_before: int
    params_after: int
    macs_before: int
    macs_after: int

    def summary(self) -> str:
        return (
            f"parameters {self.params_before:,} -> {self.params_after:,} "
            f"({self.params_after / self.params_before:.1%}); "
            f"multiply-adds {self.macs_before:,} -> {self.macs_after:,} ({self.macs_after / self.macs_before:.1%})"
        )


def output_layers(model: nn.Module, example_inputs: torch.Tensor) -> list[nn.Module]:
    """The classifier layer(s) whose outputs are the model's outputs (their channels are
    the classes, which must not be pruned): the last Linear or Conv with that many outputs."""
    with torch.no_grad():
        out = model(example_inputs)
    if not isinstance(out, torch.Tensor) or out.dim() < 2:
        raise ValueError("channel pruning needs a model that returns one (N, classes, ...) tensor")
    classes = out.shape[1]
    for module in reversed(list(model.modules())):
        if isinstance(module, nn.Linear) and module.out_features == classes:
            return [module]
        if isinstance(module, nn.modules.conv._ConvNd) and module.out_channels == classes:
            return [module]
    return []


def prune_channels(
    model: nn.Module,
    example_inputs: torch.Tensor,
    ratio: float = 0.3,
    *,
    global_pruning: bool = False,
    p: int = 2,
    ignored_layers: list[nn.Module] | None = None,
    round_to: int | None = None,
    inplace: bool = False,
    **pruner_options,
) -> ChannelPruningResult:
    """Remove the fraction `ratio` of output channels with the smallest weight norms.

    * `ratio`: share of channels removed from each prunable layer (the default, uniform), or
      across the network when `global_pruning` (one ranking for all groups: some layers lose
      more, some less; `max_pruning_ratio` of 0.9 keeps every layer alive).
    * importance: the L`p` norm of each coupled group of weights (torch-pruning's
      GroupMagnitudeImportance), so a channel shared across a residual add is judged once.
    * the classifier's output layer is never pruned (its outputs are the classes); add
      others with `ignored_layers` (e.g. a stem whose width another model expects).
    * `round_to`: keep channel counts multiples of this (8 suits SIMD kernels).

    Other keyword arguments go to torch-pruning's BasePruner (e.g. `num_heads` and
    `unwrapped_parameters` for attention models). The model is copied unless `inplace`. Parameters in `ignored_layers` must belong to the
    model that is pruned, so with `inplace=False` they are mapped onto the copy by name.
    """
    if not isinstance(ratio, (int, float)) or not 0.0 <= ratio < 1.0:
        raise ValueError(f"ratio is the fraction of channels to remove and must be in [0, 1), got {ratio!r}")
    if not isinstance(example_inputs, torch.Tensor):
        raise ValueError(f"example_inputs must be a tensor batch, got {type(example_inputs).__name__}")
    was_training = model.training
    target = model if inplace else copy.deepcopy(model)
    target.eval()
    if ignored_layers and not inplace:
        names = {id(m): n for n, m in model.named_modules()}
        missing = [m for m in ignored_layers if id(m) not in names]
        if missing:
            raise ValueError(f"ignored_layers must be modules of the model, got {missing}")
        copies = dict(target.named_modules())
        ignored_layers = [copies[names[id(m)]] for m in ignored_layers]
    ignored = list(ignored_layers or []) + output_layers(target, example_inputs)

    macs_before, params_before = tp.utils.count_ops_and_params(target, example_inputs)
    pruner = tp.pruner.BasePruner(
        target,
        example_inputs,
        importance=tp.importance.GroupMagnitudeImportance(p=p),
        pruning_ratio=float(ratio),
        global_pruning=global_pruning,
        max_pruning_ratio=0.9,
        ignored_layers=ignored,
        round_to=round_to,
        **pruner_options,
    )
    try:
        pruner.step()
    except (IndexError, RuntimeError) as err:
        # torch-pruning couples channels through convs, norms, adds and concatenations; channel
        # gating that multiplies two halves of one tensor (x.chunk(2) -> a * b, as in Tiniest's
        # blocks) is outside what its dependency graph models, and it fails mid-way.
        raise ValueError(
            f"torch-pruning could not prune {type(model).__name__} consistently ({type(err).__name__}: {err}); "
            "pass the layers involved as ignored_layers, or use unstructured pruning (cvbook.compress.prune)"
        ) from err
    macs_after, params_after = tp.utils.count_ops_and_params(target, example_inputs)
    target.train(was_training)
    return ChannelPruningResult(target, int(params_before), int(params_after), int(macs_before), int(macs_after))


def layer_widths(model: nn.Module) -> dict[str, int]:
    """Output channels (conv) or features (linear) of every layer: what structured pruning changes."""
    widths = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            widths[name] = module.out_channels
        elif isinstance(module, nn.Linear):
            widths[name] = module.out_features
    return widths
