"""Checks of the architectures assignment: each block is built twice, the student's and
cvbook's, with the same arguments; cvbook's random weights (BatchNorm statistics too) are
copied into the student's with load_state_dict, and the two are compared on random inputs
in eval() mode and, where BatchNorm makes train() mode differ, in train() mode too (the
output and the running statistics the pass updates). A wrong output is matched against
the outputs of known mistakes, to name the mistake."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cvbook.grading.checks import CheckFailed, check_equal, check_tensor
from cvbook.grading.fixtures import training_step  # a backward pass, run where the student's module lives
from cvbook.models import count_parameters
from cvbook.models import densenet, efficientnet, resnet, tiniest, vit

# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"BasicBlock": 1, "DenseLayer": 2, "Transition": 2, "DenseBlock": 2, "SqueezeExcitation": 3,
         "MBConv": 3, "PatchEmbed": 4, "MultiHeadSelfAttention": 4, "TiniestBlock": 5}

ATOL, RTOL = 1e-5, 1e-4


def randomize_(module, seed):
    """Random values for every parameter and BatchNorm statistic, so that no layer acts as
    the identity (a fresh BatchNorm in eval mode does nothing) and every mistake shows."""
    g = torch.Generator().manual_seed(seed)
    done = set()
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.5 * torch.randn(m.bias.shape, generator=g))
                done |= {id(m.weight), id(m.bias)}
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(0.5 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(m.running_var.shape, generator=g))
        for name, p in module.named_parameters():
            if id(p) in done:
                continue
            if name.endswith("bias"):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
            elif p.numel() > 1 and bool((p == p.flatten()[0]).all()):  # a constant init (a scale)
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(1.5 * torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


def _shape_hint(name, got, expected):
    if len(got) == 4 and len(expected) == 4 and "weight" in name:
        if got[2:] != expected[2:]:
            return " (check the kernel size)"
        if got[1] != expected[1]:
            return " (a conv weight is (out_channels, in_channels / groups, k, k): check in_channels and groups)"
        return " (check out_channels)"
    if len(got) == 1 and len(expected) == 1:
        return " (a norm layer of the wrong width: is it in the right place, on the right tensor?)"
    if len(got) != len(expected):
        return f" (cvbook's is {len(expected)}-dimensional: check the layer type)"
    return ""


MISSING_PART = {
    "downsample": "the shortcut has no projection: when stride != 1 or in_channels != out_channels, x must "
                  "pass through `downsample` (a 1x1 convolution with the block's stride, then a BatchNorm) "
                  "before it is added",
    "layers": "its layers are not registered as submodules: keep them in an nn.ModuleList (a plain Python "
              "list hides their parameters from the module, from .to() and from the optimiser)",
    "expand": "the 1x1 expansion `expand` is missing: it is needed whenever expand_ratio != 1",
    "rs": "the learned residual scale `rs` is missing: make it an nn.Parameter",
}
EXTRA_PART = {
    "downsample": "it has a projection shortcut (`downsample`) although stride == 1 and in_channels == "
                  "out_channels: then the shortcut is x itself (downsample = None)",
    "expand": "it has an expansion layer although expand_ratio == 1: then there is none (expand = None)",
}


def _structure(missing, unexpected, mine, state):
    """A mistake in what the module is built of, in words, or None (then it is a naming matter)."""
    top = lambda keys: {k.split(".")[0] for k in keys}  # noqa: E731
    for part in sorted(top(missing) - top(mine)):
        return MISSING_PART.get(part, f"it has no `{part}`: cvbook's has one ({', '.join(k for k in missing if k.split('.')[0] == part)[:200]})")
    for part in sorted(top(unexpected) - top(state)):
        if part in EXTRA_PART:
            return EXTRA_PART[part]
    for part in sorted(top(missing) & top(unexpected)):
        theirs = [k for k in missing if k.split(".")[0] == part]
        yours = [k for k in unexpected if k.split(".")[0] == part]
        return (f"`{part}` is built differently from cvbook's: cvbook's has {theirs[:6]}, yours has {yours[:6]} "
                f"(check its layers and their order)")
    return None


def _is_norm(module) -> bool:
    return isinstance(module, (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)) or \
        type(module).__name__.startswith("LayerNorm")


def check_initial_values(mine, fresh, reference, what, rename=None):
    """A parameter that cvbook starts at one constant (a learned scale starting at 1) must start
    there in the student's module too: the weights the test loads would hide it otherwise.
    Norm layers are left alone (zero-initialising a BatchNorm's scale is a known choice)."""
    owners = dict(reference.named_modules())
    for key, value in fresh.items():
        owner, _, name = key.rpartition(".")
        if name not in dict(owners[owner].named_parameters(recurse=False)) or _is_norm(owners[owner]):
            continue
        if value.numel() < 2 or not bool((value == value.flatten()[0]).all()):
            continue
        student_key = rename(key) if rename is not None else key
        got = mine.get(student_key)
        constant = float(value.flatten()[0])
        if isinstance(got, torch.Tensor) and got.shape == value.shape and not torch.allclose(
                got.double(), value.double(), atol=1e-6):
            shown = f"{float(got.flatten()[0]):g}" if bool((got == got.flatten()[0]).all()) else \
                f"values in [{float(got.min()):.3g}, {float(got.max()):.3g}]"
            raise CheckFailed(f"{what}: `{student_key}` starts at {shown}; it must start at {constant:g} "
                              f"everywhere (a freshly built block then {'passes its skip path through unchanged' if constant == 1 else 'starts from that value'}; "
                              f"training moves it from there)")


def copy_weights(student, reference, what, rename=None, fresh=None):
    """load_state_dict of cvbook's weights into the student's module, with a readable error.
    fresh: cvbook's state before its random test weights, to check the student's starting values."""
    state = reference.state_dict()
    if rename is not None:
        state = {rename(k): v for k, v in state.items()}
    mine = student.state_dict()
    missing = [k for k in state if k not in mine]
    unexpected = [k for k in mine if k not in state]
    if missing or unexpected:
        structure = _structure(missing, unexpected, mine, state)
        if structure:
            raise CheckFailed(f"{what}: {structure}. (Parameters and buffers cvbook's has and yours lacks: "
                              f"{missing[:8] or 'none'}; yours has and cvbook's lacks: {unexpected[:8] or 'none'}.)")
        hint = ""
        if unexpected and not missing and all(k.endswith(".bias") for k in unexpected):
            hint = " A convolution followed by a BatchNorm needs no bias (bias=False): the BatchNorm has one."
        raise CheckFailed(
            f"{what}: its parameters and buffers are not named like cvbook's (use the attribute "
            f"names the instructions give). Missing: {missing or 'none'}. Unexpected: {unexpected or 'none'}."
            + hint)
    for k, v in state.items():
        if tuple(mine[k].shape) != tuple(v.shape):
            raise CheckFailed(f"{what}: `{k}` has shape {tuple(mine[k].shape)}, expected {tuple(v.shape)}"
                              + _shape_hint(k, tuple(mine[k].shape), tuple(v.shape)))
    if fresh is not None:
        check_initial_values(mine, fresh, reference, what, rename)
    student.load_state_dict(state)


def _close(a, b):
    return (isinstance(a, torch.Tensor) and a.shape == b.shape
            and torch.allclose(a.double(), b.double(), atol=ATOL, rtol=RTOL))


def _hw(size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else tuple(size)


def _has_batchnorm(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def check_against_cvbook(student_cls, reference_cls, args, input_shape, *, seed, mistakes=(),
                         shape_hints=None, rename=None, label=None, train=True):
    """Build both modules with `args`, copy cvbook's random weights into the student's,
    compare parameter counts and eval-mode outputs on torch.randn(input_shape).

    mistakes: (description, fn(reference, x) -> the output that mistake would give) pairs;
    shape_hints: {wrong output shape: what it means}."""
    what = label or f"{student_cls.__name__}({', '.join(map(repr, args))})"
    what = f"{what} on a {tuple(input_shape)} input"
    if getattr(student_cls, "__module__", "").startswith("cvbook"):
        raise CheckFailed(f"{what}: this is cvbook's class; write your own")
    torch.manual_seed(seed)
    reference = reference_cls(*args)
    fresh = {k: v.detach().clone() for k, v in reference.state_dict().items()}
    randomize_(reference, seed)
    try:
        student = student_cls(*args)
    except NotImplementedError:
        raise
    except Exception as e:
        raise CheckFailed(f"{what}: building it raised {type(e).__name__}: {e}") from e
    copy_weights(student, reference, what, rename, fresh)
    check_equal(count_parameters(student), count_parameters(reference),
                f"{what}: number of trainable parameters (a learned value must be an nn.Parameter)")
    student.eval()
    reference.eval()
    torch.manual_seed(seed)
    x = torch.randn(input_shape)
    with torch.no_grad():
        expected = reference(x.clone())
        given = x.clone()
        try:
            got = student(given)
        except NotImplementedError:
            raise
        except Exception as e:
            hint = ""
            if "must match the size" in str(e):
                hint = (" (two tensors of different shapes were added or multiplied: is every padding right, "
                        "and does the shortcut have the shape of the branch it is added to?)")
            raise CheckFailed(f"{what}: calling it raised {type(e).__name__}: {e}{hint}") from e
        if not torch.equal(given, x):
            raise CheckFailed(f"{what}: forward changed its input in place (an inplace operation on x?)")
        if isinstance(got, torch.Tensor) and tuple(got.shape) != tuple(expected.shape):
            hint = (shape_hints or {}).get(tuple(got.shape))
            if hint:
                raise CheckFailed(f"{what}: output shape {tuple(got.shape)}, expected "
                                  f"{tuple(expected.shape)}; {hint}")
        if isinstance(got, torch.Tensor) and not _close(got, expected):
            for description, wrong in mistakes:
                try:
                    if _close(got, wrong(reference, x.clone())):
                        raise CheckFailed(f"{what}: the output differs from cvbook's; it looks like {description}")
                except CheckFailed:
                    raise
                except Exception:  # that mistake cannot be computed for this case
                    pass
    check_tensor(got, expected, f"{what}: output", atol=ATOL, rtol=RTOL)
    if train:
        _check_train_mode(student, reference, input_shape, seed, what, rename)
    return student


def _check_train_mode(student, reference, input_shape, seed, what, rename) -> None:
    """One training step in train() mode: the output (BatchNorm normalises with the batch's own
    statistics), the gradients that reach the input and every parameter, and the running
    statistics the pass updates must all match cvbook's."""
    student.train()
    reference.train()
    torch.manual_seed(seed + 1)
    x = torch.randn(input_shape)
    reference.eval()
    with torch.no_grad():
        weights = torch.randn(reference(x).shape)  # the loss: a random weighting of the outputs
    reference.train()
    try:
        expected, expected_dx, expected_grads = training_step.__wrapped__(reference, x, weights)
    except (RuntimeError, ValueError):  # e.g. BatchNorm of one value per channel: no training step here
        return
    mode = f"{what}, train() mode"
    try:
        got, dx, grads = training_step(student, x, weights)
    except NotImplementedError:
        raise
    except Exception as e:
        if "in-place operation" in str(e) or "inplace operation" in str(e):
            raise CheckFailed(f"{mode}: forward changed its input (or a tensor autograd still needs) in place, "
                              f"so the backward pass cannot run: {type(e).__name__}: {str(e)[:200]}") from e
        raise CheckFailed(f"{mode}: a training step (forward, then backward from the output) raised "
                          f"{type(e).__name__}: {e}") from e
    check_tensor(got, expected, f"{mode}{' (BatchNorm uses the batch' + chr(39) + 's statistics)' if _has_batchnorm(reference) else ''}: output",
                 atol=ATOL, rtol=RTOL)
    if dx is None:
        raise CheckFailed(f"{mode}: the output does not depend on the input or the weights through autograd; "
                          "nothing in forward may run under torch.no_grad() or use .detach() / .data")
    scale = float(expected_dx.abs().max()) + 1.0
    _check_gradient(dx, expected_dx, f"{mode}: the gradient that reaches the input x after a backward pass", scale)
    for key, expected_grad in expected_grads.items():
        name = rename(key) if rename is not None else key
        grad = grads.get(name) if isinstance(grads, dict) else None
        if grad is None:
            raise CheckFailed(f"{mode}: `{name}` gets no gradient from a backward pass, so training would never "
                              "change it; use it in forward, without .detach(), .data or torch.no_grad()")
        _check_gradient(grad, expected_grad, f"{mode}: the gradient of `{name}` after a backward pass",
                        float(expected_grad.abs().max()) + 1.0)
    mine = student.state_dict()
    for key, value in reference.state_dict().items():
        if key.endswith(("running_mean", "running_var")):
            name = rename(key) if rename is not None else key
            check_tensor(mine[name], value, f"{what}: `{name}` after one forward pass in train() mode "
                                            f"(is each BatchNorm called exactly once?)", atol=ATOL, rtol=RTOL)


def _check_gradient(got, expected, what, scale) -> None:
    hint = (" (somewhere between x and the output the gradient is stopped: torch.no_grad(), .detach() or "
            ".data in forward?)")
    try:
        check_tensor(got, expected, what, atol=ATOL * scale, rtol=10 * RTOL)
    except CheckFailed as failure:
        raise CheckFailed(f"{failure}{hint if 'the input' in what else ''}") from None


def _residual(r, x, *, mid_relu=True, bn_after_relu=False, stride_on_conv2=False):
    s1, s2 = (1, r.conv1.stride) if stride_on_conv2 else (r.conv1.stride, 1)
    out = F.conv2d(x, r.conv1.weight, stride=s1, padding=1)
    out = r.bn1(torch.relu(out)) if bn_after_relu else r.bn1(out)
    out = torch.relu(out) if mid_relu and not bn_after_relu else out
    out = F.conv2d(out, r.conv2.weight, stride=s2, padding=1)
    return r.bn2(torch.relu(out)) if bn_after_relu else r.bn2(out)


def _shortcut(r, x):
    return x if r.downsample is None else r.downsample(x)


BASIC_BLOCK_MISTAKES = [
    ("the residual connection is missing: return relu(F(x) + shortcut(x))",
     lambda r, x: torch.relu(_residual(r, x))),
    ("the ReLU is applied before adding the shortcut; it comes after the sum",
     lambda r, x: torch.relu(_residual(r, x)) + _shortcut(r, x)),
    ("the final ReLU is missing", lambda r, x: _residual(r, x) + _shortcut(r, x)),
    ("the ReLU between the two convolutions is missing",
     lambda r, x: torch.relu(_residual(r, x, mid_relu=False) + _shortcut(r, x))),
    ("BatchNorm comes after the ReLU; the order is conv, BatchNorm, ReLU",
     lambda r, x: torch.relu(_residual(r, x, bn_after_relu=True) + _shortcut(r, x))),
    ("the stride is on conv2; it belongs to conv1",
     lambda r, x: torch.relu(_residual(r, x, stride_on_conv2=True) + _shortcut(r, x))),
    ("the shortcut skips the projection: add downsample(x), not x",
     lambda r, x: torch.relu(_residual(r, x) + x)),
]


def check_basic_block(BasicBlock, c_in, c_out, stride, size, seed, n=2):
    """BasicBlock(c_in, c_out, stride) against cvbook's ResNet BasicBlock on an (n, c_in, *size) input."""
    check_against_cvbook(BasicBlock, resnet.BasicBlock, (c_in, c_out, stride), (n, c_in, *_hw(size)),
                         seed=seed, mistakes=BASIC_BLOCK_MISTAKES)


DENSE_LAYER_MISTAKES = [
    ("the ReLU before conv1 is missing",
     lambda r, x: r.conv2(torch.relu(r.norm2(r.conv1(r.norm1(x)))))),
    ("the ReLU before conv2 is missing",
     lambda r, x: r.conv2(r.norm2(r.conv1(torch.relu(r.norm1(x)))))),
    ("the ReLUs come before the BatchNorms; the order is BN, ReLU, conv",
     lambda r, x: r.conv2(r.norm2(torch.relu(r.conv1(r.norm1(torch.relu(x))))))),
]


def check_dense_layer(DenseLayer, c_in, k, bn_size, size, seed, n=2):
    """DenseLayer(c_in, k[, bn_size]) against cvbook's (bn_size 4 is left to the default)."""
    args = (c_in, k) if bn_size == 4 else (c_in, k, bn_size)
    h, w = _hw(size)
    check_against_cvbook(DenseLayer, densenet.DenseLayer, args, (n, c_in, h, w), seed=seed,
                         mistakes=DENSE_LAYER_MISTAKES,
                         shape_hints={(n, c_in + k, h, w): "return only the growth_rate new channels: "
                                                           "the block concatenates them with its input"})


TRANSITION_MISTAKES = [
    ("the ReLU is missing", lambda r, x: F.avg_pool2d(r.conv(r.norm(x)), 2)),
    ("it uses max pooling; DenseNet's transition averages",
     lambda r, x: F.max_pool2d(r.conv(torch.relu(r.norm(x))), 2)),
    ("it subsamples with a stride-2 convolution instead of averaging 2x2 windows",
     lambda r, x: F.conv2d(torch.relu(r.norm(x)), r.conv.weight, stride=2)),
]


def check_transition(Transition, c_in, c_out, size, seed, n=2):
    """Transition(c_in, c_out) against cvbook's DenseNet transition."""
    h, w = _hw(size)
    check_against_cvbook(Transition, densenet.Transition, (c_in, c_out), (n, c_in, h, w), seed=seed,
                         mistakes=TRANSITION_MISTAKES,
                         shape_hints={(n, c_out, h, w): "the resolution is not halved: "
                                                        "finish with a 2x2 average pool, stride 2"})


def _dense_new_first(r, x):
    for layer in r.values():
        x = torch.cat([layer(x), x], dim=1)
    return x


def _dense_input_last(r, x):
    features = [x]
    for layer in r.values():
        features.append(layer(torch.cat(features, dim=1)))
    return torch.cat(features[1:] + features[:1], dim=1)


DENSE_BLOCK_MISTAKES = [
    ("the concatenation order is reversed: put x first, then each layer's output in turn",
     _dense_new_first),
    ("the block's input is concatenated last; it comes first", _dense_input_last),
]


def _block_key(k):  # cvbook's DenseBlock names its layers denselayer1, denselayer2, ...
    head, rest = k.split(".", 1)
    return f"layers.{int(head.removeprefix('denselayer')) - 1}.{rest}"


def check_dense_block(DenseBlock, num_layers, c_in, k, size, seed, n=2):
    """DenseBlock(num_layers, c_in, k) against cvbook's (whose layers are named denselayer1, ...)."""
    h, w = _hw(size)
    hints = {(n, num_layers * k, h, w): "the block's input x is missing from the output: return "
                                        "torch.cat([x, new_1, ..., new_L], dim=1)",
             (n, k, h, w): "only the last layer's output is returned; return the concatenation of "
                           "x and every layer's output"}
    check_against_cvbook(DenseBlock, densenet.DenseBlock, (num_layers, c_in, k), (n, c_in, h, w),
                         seed=seed, mistakes=DENSE_BLOCK_MISTAKES, shape_hints=hints, rename=_block_key)


def _se_gate(r, x, act=F.silu, gate=torch.sigmoid, pool=lambda x: x.mean(dim=(2, 3), keepdim=True)):
    return gate(r.fc2(act(r.fc1(pool(x)))))


SE_MISTAKES = [
    ("the sigmoid gate is missing", lambda r, x: x * _se_gate(r, x, gate=lambda t: t)),
    ("it uses ReLU in the bottleneck; EfficientNet's SE uses SiLU", lambda r, x: x * _se_gate(r, x, act=torch.relu)),
    ("the non-linearity in the bottleneck is missing", lambda r, x: x * _se_gate(r, x, act=lambda t: t)),
    ("it squeezes with max pooling; the squeeze is the spatial mean",
     lambda r, x: x * _se_gate(r, x, pool=lambda t: t.amax(dim=(2, 3), keepdim=True))),
    ("a softmax over the channels replaces the sigmoid; each channel gets its own gate in (0, 1)",
     lambda r, x: x * _se_gate(r, x, gate=lambda t: t.softmax(dim=1))),
    ("x is added to the gate instead of multiplied by it", lambda r, x: x + _se_gate(r, x)),
]


def check_squeeze_excitation(SqueezeExcitation, channels, squeeze, size, seed, n=2):
    """SqueezeExcitation(channels, squeeze) against EfficientNet's."""
    check_against_cvbook(SqueezeExcitation, efficientnet.SqueezeExcitation, (channels, squeeze),
                         (n, channels, *_hw(size)), seed=seed, mistakes=SE_MISTAKES,
                         shape_hints={(n, channels, 1, 1): "that is the gate alone; return x multiplied by it"})


def _mbconv_body(r, x, project_act=False):
    out = x if r.expand is None else r.expand(x)
    out = r.project(r.se(r.depthwise(out)))
    return F.silu(out) if project_act else out


MBCONV_MISTAKES = [
    ("the residual connection is missing (stride 1 and the same width: add x)", _mbconv_body),
    ("the projection has an activation; it must be linear (activation=False)",
     lambda r, x: _mbconv_body(r, x, project_act=True) + (x if r.use_residual else 0)),
    ("the squeeze-and-excitation step is skipped",
     lambda r, x: r.project(r.depthwise(x if r.expand is None else r.expand(x))) + (x if r.use_residual else 0)),
]


def check_mbconv(MBConv, args, size, seed, n=2):
    """MBConv(*args) against EfficientNet's."""
    check_against_cvbook(MBConv, efficientnet.MBConv, args, (n, args[0], *_hw(size)), seed=seed,
                         mistakes=MBCONV_MISTAKES)


PATCH_EMBED_MISTAKES = [
    ("the channels were reshaped into tokens (reshape/view); use transpose to move the embedding last",
     lambda r, x: r.proj(x).reshape(x.shape[0], -1, r.proj.out_channels)),
    ("the tokens are in column-major order; flatten (H, W) row by row",
     lambda r, x: r.proj(x).transpose(2, 3).flatten(2).transpose(1, 2)),
]


def check_patch_embed(PatchEmbed, p, c, d, h, w, seed, n=2):
    """PatchEmbed(p, c, d) against ViT's on an (n, c, h, w) input."""
    full = (h - p + 1) * (w - p + 1)
    hints = {(n, full, d): "the patches overlap: the convolution needs stride=patch_size",
             (n, d, (h // p) * (w // p)): "the embedding comes first; return (N, tokens, embed_dim)",
             (n, d, h // p, w // p): "the map is not flattened into tokens: return (N, tokens, embed_dim)"}
    check_against_cvbook(PatchEmbed, vit.PatchEmbed, (p, c, d), (n, c, h, w), seed=seed,
                         mistakes=PATCH_EMBED_MISTAKES, shape_hints=hints)


def _attend(r, x, *, scale="head", softmax_dim=-1, heads=None, merge="transpose", project=True):
    n, t, dim = x.shape
    h = heads or r.num_heads
    q, k, v = r.qkv(x).reshape(n, t, 3, h, dim // h).permute(2, 0, 3, 1, 4)
    logits = q @ k.transpose(-2, -1)
    logits = logits / {"head": math.sqrt(dim // h), "dim": math.sqrt(dim), "none": 1.0}[scale]
    out = logits.softmax(dim=softmax_dim) @ v
    out = out.transpose(1, 2).reshape(n, t, dim) if merge == "transpose" else out.reshape(n, t, dim)
    return r.proj(out) if project else out


ATTENTION_MISTAKES = [
    ("the 1/sqrt(d) scale is missing: divide q @ k^T by sqrt(head_dim)", lambda r, x: _attend(r, x, scale="none")),
    ("it scales by 1/sqrt(dim); the scale uses the head dimension d = dim / num_heads",
     lambda r, x: _attend(r, x, scale="dim")),
    ("the softmax runs over the queries (dim=-2); each query's weights over the keys must sum to 1 (dim=-1)",
     lambda r, x: _attend(r, x, softmax_dim=-2)),
    ("it computes one head of size dim; split into num_heads heads of dim / num_heads",
     lambda r, x: _attend(r, x, heads=1)),
    ("the heads are merged with a reshape without moving the head dimension back next to d first "
     "(transpose(1, 2) before reshaping to (N, T, dim))", lambda r, x: _attend(r, x, merge="reshape")),
    ("the output projection proj is not applied", lambda r, x: _attend(r, x, project=False)),
]


def check_attention(MultiHeadSelfAttention, dim, heads, tokens, seed, n=2):
    """MultiHeadSelfAttention(dim, heads) against ViT's on (n, tokens, dim) tokens."""
    check_against_cvbook(MultiHeadSelfAttention, vit.MultiHeadSelfAttention, (dim, heads), (n, tokens, dim),
                         seed=seed, mistakes=ATTENTION_MISTAKES)


def _tiniest(r, x, *, residual="scaled", gate="tiniest", pool=True, swap_ab=False, dilation=3):
    x0, x1, x2, x3 = x.chunk(4, dim=1)
    x3 = F.avg_pool2d(x3, 3, stride=1, padding=1) if pool else x3
    x3 = F.conv2d(x3, r.conv7_dilated.weight, r.conv7_dilated.bias, padding=3 * dilation, dilation=dilation,
                  groups=x3.shape[1])
    y = r.norm(torch.cat([x0, r.conv3(x1), r.conv7(x2), x3], dim=1))
    a, b = r.fc1(y).chunk(2, dim=1)
    if swap_ab:
        a, b = b, a
    g = {"tiniest": torch.tanh(torch.exp(a)) * a * b, "no_tanh_exp": a * b, "gelu": F.gelu(a) * b,
         "silu": F.silu(a) * b}[gate]
    y = r.fc2(g)
    return {"scaled": y + x * r.rs, "plain": y + x, "none": y, "scale_after": (y + x) * r.rs,
            "scale_branch": y * r.rs + x}[residual]


TINIEST_MISTAKES = [
    ("the learned residual scale is not used: return fc2(...) + x * rs", lambda r, x: _tiniest(r, x, residual="plain")),
    ("rs scales the sum; it scales only the skip path: fc2(...) + x * rs",
     lambda r, x: _tiniest(r, x, residual="scale_after")),
    ("rs scales the branch; it scales the skip path: fc2(...) + x * rs",
     lambda r, x: _tiniest(r, x, residual="scale_branch")),
    ("the residual connection is missing", lambda r, x: _tiniest(r, x, residual="none")),
    ("the gate is missing tanh(exp(a)): it is tanh(exp(a)) * a * b", lambda r, x: _tiniest(r, x, gate="no_tanh_exp")),
    ("the gate is GELU(a) * b; the Tiniest's is tanh(exp(a)) * a * b", lambda r, x: _tiniest(r, x, gate="gelu")),
    ("the gate is SiLU(a) * b; the Tiniest's is tanh(exp(a)) * a * b", lambda r, x: _tiniest(r, x, gate="silu")),
    ("a and b are swapped: a is the first half of fc1's output", lambda r, x: _tiniest(r, x, swap_ab=True)),
    ("the 3x3 average pool before the dilated convolution is missing", lambda r, x: _tiniest(r, x, pool=False)),
    ("conv7_dilated is not dilated: it needs dilation=3 (and padding 9 to keep the size)",
     lambda r, x: _tiniest(r, x, dilation=1)),
]


def check_tiniest_block(TiniestBlock, dim, size, seed, n=2):
    """TiniestBlock(dim) against the Tiniest's."""
    check_against_cvbook(TiniestBlock, tiniest.TiniestBlock, (dim,), (n, dim, *_hw(size)), seed=seed,
                         mistakes=TINIEST_MISTAKES)


# --------------------------------------------------------------------------- random cases


def _cases(part: str, g: torch.Generator) -> tuple:
    """One random (args, kwargs) of the checker of `part`: every size the instructions allow,
    odd and even, square or not, batches of 1 to 3, each option away from its default."""
    def r(lo, hi):  # an int in lo..hi
        return int(torch.randint(lo, hi + 1, (), generator=g))

    n, seed = r(1, 3), r(0, 10_000)
    size = (r(3, 10), r(3, 10))
    if part == "basic_block":
        return (r(1, 6), r(1, 6), r(1, 2), size, seed), {"n": n}
    if part == "dense_layer":
        return (r(1, 6), r(1, 5), r(1, 4), size, seed), {"n": n}
    if part == "transition":
        return (r(1, 6), r(1, 6), size, seed), {"n": n}
    if part == "dense_block":
        return (r(1, 4), r(1, 5), r(1, 4), size, seed), {"n": n}
    if part == "squeeze_excitation":
        return (r(2, 12), r(1, 4), (r(1, 9), r(1, 9)), seed), {"n": n}
    if part == "mbconv":
        c_in = r(2, 8)
        c_out = c_in if r(0, 1) else r(2, 8)
        return ((c_in, c_out, r(1, 4), (3, 5)[r(0, 1)], r(1, 2), (0.25, 0.5, 1.0)[r(0, 2)]), size, seed), {"n": n}
    if part == "patch_embed":
        p = r(1, 4)
        return (p, r(1, 4), r(2, 8), p * r(1, 4), p * r(1, 4), seed), {"n": n}
    if part == "attention":
        heads = r(1, 4)
        return (heads * r(1, 4), heads, r(1, 9), seed), {"n": n}
    if part == "tiniest_block":
        return (4 * r(1, 4), (r(1, 12), r(1, 12)), seed), {"n": n}
    raise ValueError(f"no random cases for {part!r}")


def check_random_cases(part: str, student_cls, seed: int, count: int = 3) -> None:
    """`count` random cases of `part` (as `_cases` draws them from `seed`), each checked like a
    written-out one against cvbook's: eval() and train() mode and one training step."""
    g = torch.Generator().manual_seed(seed)
    check = globals()[f"check_{part}"]
    for _ in range(count):
        args, kwargs = _cases(part, g)
        check(student_cls, *args, **kwargs)
