"""Layer-by-layer summary of a model (in the style of torchinfo), and the comparison of
cvbook's parameter counts with the table of a six-architecture study on Tiny ImageNet-200.

`summary(model, (1, 3, 32, 32))` runs one forward pass with hooks on every module and
records, in call order, each module's type, depth, output shape and own parameters.
Multiply-adds come from torch's FlopCounterMode (one multiply-add = 2 FLOPs); it counts
convolutions and matrix products, not biases, norms or activations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .layers import count_parameters


@dataclass
class LayerRow:
    name: str                    # qualified module name ("" for the model itself)
    type: str                    # class name, e.g. "Conv2d"
    depth: int                   # 0 for the model, 1 for its children, ...
    index: int                   # running number among the rows of the same depth (torchinfo's "1-3")
    input_shape: tuple | None
    output_shape: tuple | list | None
    params: int                  # parameters owned directly by this module (not its children)
    params_total: int = 0        # parameters of the module and everything inside it


@dataclass
class ModelSummary:
    model: str
    input_size: tuple
    rows: list[LayerRow]
    total_params: int
    trainable_params: int
    mult_adds: int
    max_depth: int | None = field(default=None)

    def table(self, max_depth: int | None = None) -> str:
        """The summary as a fixed-width text table. Rows deeper than max_depth are left out,
        and the rows at max_depth then show the parameters of everything inside them."""
        max_depth = self.max_depth if max_depth is None else max_depth
        lines = []
        for row in self.rows:
            if max_depth is not None and row.depth > max_depth:
                continue
            if row.depth == 0:
                label = row.type
            else:
                label = ("│ " * (row.depth - 1)) + ("├─" if row.depth == 1 else "└─")
                label += f"{row.type}: {row.depth}-{row.index}"
            params = row.params_total if row.depth == max_depth else row.params
            lines.append((label, _shape_text(row.output_shape), f"{params:,}" if params else "--"))
        w0 = max(len("Layer (type:depth-idx)"), *(len(a) for a, _, _ in lines))
        w1 = max(len("Output Shape"), *(len(b) for _, b, _ in lines))
        w2 = max(len("Param #"), *(len(c) for _, _, c in lines))
        rule = "=" * (w0 + w1 + w2 + 4)
        out = [rule, f"{'Layer (type:depth-idx)':<{w0}}  {'Output Shape':<{w1}}  {'Param #':>{w2}}", rule]
        out += [f"{a:<{w0}}  {b:<{w1}}  {c:>{w2}}" for a, b, c in lines]
        out += [rule,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Total mult-adds (M): {self.mult_adds / 1e6:,.2f}",
                rule]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()


def _shape_text(shape) -> str:
    if shape is None:
        return "--"
    if shape and isinstance(shape[0], tuple):
        return ", ".join(_shape_text(s) for s in shape)
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _shape_of(value):
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    if isinstance(value, (tuple, list)):
        shapes = [tuple(v.shape) for v in value if isinstance(v, torch.Tensor)]
        return shapes or None
    return None


def summary(model: nn.Module, input_size=(1, 3, 32, 32), max_depth: int | None = None) -> ModelSummary:
    """Run one forward pass on zeros of `input_size` (batch included) and tabulate the layers.

    The model is run in eval mode without gradients and put back in its former mode.
    Raises ValueError if `input_size` is not a shape or the model cannot take it.
    """
    input_size = tuple(input_size)
    if not input_size or not all(isinstance(d, int) and d > 0 for d in input_size):
        raise ValueError(f"input_size must be a tuple of positive integers such as (1, 3, 32, 32), "
                         f"got {input_size!r}")
    rows: list[LayerRow] = []
    stack: list[LayerRow] = []
    counters: dict[int, int] = {}
    handles = []

    def before(module, args, name):
        depth = len(stack)
        counters[depth] = counters.get(depth, 0) + 1
        row = LayerRow(name, type(module).__name__, depth, counters[depth],
                       _shape_of(args[0]) if args else None, None,
                       sum(p.numel() for p in module.parameters(recurse=False)),
                       sum(p.numel() for p in module.parameters()))
        rows.append(row)
        stack.append(row)

    def after(module, args, output):
        stack.pop().output_shape = _shape_of(output)

    for name, module in model.named_modules():
        handles.append(module.register_forward_pre_hook(lambda m, a, n=name: before(m, a, n)))
        handles.append(module.register_forward_hook(after))
    was_training = model.training
    param = next(model.parameters(), None)
    x = torch.zeros(input_size, device=param.device if param is not None else "cpu")
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as flops:
            model(x)
    except RuntimeError as err:
        raise ValueError(f"{type(model).__name__} cannot take an input of size {input_size}: {err}") from err
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return ModelSummary(type(model).__name__, input_size, rows, count_parameters(model, trainable_only=False),
                        count_parameters(model), flops.get_total_flops() // 2, max_depth)


# The six-architecture study "Image Classification on Tiny ImageNet-200" (the Tiny ImageNet
# study): the parameters it published for its models, at 64x64 px and 200 classes.
STUDY_PARAMS = {
    "alexnet": ("AlexNet", 15.7e6),
    "vgg16": ("VGG-16", 14.8e6),
    "resnet18": ("ResNet-18", 11.3e6),
    "densenet121": ("DenseNet-121", 2.2e6),
    "efficientnet_b0": ("EfficientNet-B0", 4.5e6),
    "vit_s16": ("ViT-S/16", 21.6e6),
}


# Why cvbook's count (at 64 px, 200 classes) differs from -- or matches -- the study's.
STUDY_NOTES = {
    "alexnet": "Matches. The study's adaptation: the original widths (64-192-384-256-256) with 3x3 "
               "stride-1 kernels, BatchNorm after every conv, and hidden layers of 1024 and 512 units "
               "(the study's 15.7M implies them: 4096-unit layers on a 256x7x7 map would need 51M+). "
               "The flattened 256x7x7 map feeds the first Linear, so the count depends on img_size. "
               "The original at 224 px, 1000 classes: 61.1M.",
    "vgg16": "Matches: 13 convs (14.71M) + BatchNorm (8,448) + global-average-pool head "
             "Linear(512, 200). The original's three fully connected layers (124M of its 138M) are gone. "
             "The fifth max-pool is also dropped so that 28 px inputs fit (no parameters).",
    "resnet18": "Matches: torchvision's 11.69M minus its 1000-class fc, plus a 200-class fc; "
                "the 3x3 stem has 1,728 weights instead of 9,408. Removing the max-pool and adding "
                "dropout cost no parameters.",
    "densenet121": "Differs. cvbook keeps DenseNet-121 itself (growth rate 32, 6-12-24-16 layers, "
                   "compression 0.5; its feature extractor alone holds 6.95M) with a 3x3 conv stem. The study's "
                   "2.2M cannot be that network: it matches a slimmed DenseNet (the study's code: "
                   "6-8-12-8 layers, growth rates 20-28, compression 0.5-0.7, a three-conv stem), which "
                   "gives 2.24M.",
    "efficientnet_b0": "Differs by about 0.2M. cvbook is the paper's (and torchvision's) B0 with a 200-class "
                       "head. The study enlarged the depthwise kernels (3x3 to 5x5, 5x5 to 7x7), "
                       "which adds 0.19M and gives its 4.5M (4.46M).",
    "vit_s16": "Matches: 12 encoder blocks of ViT-S (21.29M), a convolutional patch embedding (7x7 conv to 64 "
               "channels, BN, 3x3 stride-2 conv to 384, 8 px patches in all: 0.23M instead of 0.30M for 16x16 "
               "linear patches), 64 position embeddings (8x8 tokens, no class token, mean of the tokens) and "
               "Linear(384, 200).",
}


def parameter_table(img_size: int = 64, num_classes: int = 200) -> list[dict]:
    """For each of the Tiny ImageNet study's six architectures: cvbook's trainable parameters
    (built for 3 x img_size x img_size inputs and `num_classes`) next to the study's figure,
    with the reason for any difference. The study's figures are for 64 px and 200 classes."""
    from .registry import create_model  # registry imports this module's neighbours

    rows = []
    for name, (title, published) in STUDY_PARAMS.items():
        count = count_parameters(create_model(name, num_classes=num_classes, in_chans=3, img_size=img_size))
        rows.append({"name": name, "model": title, "cvbook": count, "study": int(published),
                     "ratio": count / published, "note": STUDY_NOTES[name]})
    return rows


def format_parameter_table(rows: list[dict]) -> str:
    """The rows of `parameter_table` as a Markdown table."""
    lines = ["| Model | cvbook | Tiny ImageNet study | Why |", "|---|---:|---:|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['cvbook'] / 1e6:.2f}M | {row['study'] / 1e6:.1f}M | {row['note']} |")
    return "\n".join(lines)
