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
from cvbook.models import count_parameters
from cvbook.models import densenet, efficientnet, resnet, tiniest, vit

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


def copy_weights(student, reference, what, rename=None):
    """load_state_dict of cvbook's weights into the student's module, with a readable error."""
    state = reference.state_dict()
    if rename is not None:
        state = {rename(k): v for k, v in state.items()}
    mine = student.state_dict()
    missing = [k for k in state if k not in mine]
    unexpected = [k for k in mine if k not in state]
    if missing or unexpected:
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
    reference = reference_cls(*args)
    randomize_(reference, seed)
    try:
        student = student_cls(*args)
    except NotImplementedError:
        raise
    except Exception as e:
        raise CheckFailed(f"{what}: building it raised {type(e).__name__}: {e}") from e
    copy_weights(student, reference, what, rename)
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
    if train and _has_batchnorm(reference):
        _check_train_mode(student, reference, input_shape, seed, what, rename)
    return student


def _check_train_mode(student, reference, input_shape, seed, what, rename) -> None:
    """In train() mode BatchNorm normalises with the batch's own statistics and updates its
    running statistics: the output and the updated buffers must match cvbook's."""
    student.train()
    reference.train()
    torch.manual_seed(seed + 1)
    x = torch.randn(input_shape)
    with torch.no_grad():
        expected = reference(x.clone())
        given = x.clone()
        got = student(given)
    if not torch.equal(given, x):
        raise CheckFailed(f"{what}, train() mode: forward changed its input in place (an inplace operation on x?)")
    check_tensor(got, expected, f"{what}, train() mode (BatchNorm uses the batch's statistics): output",
                 atol=ATOL, rtol=RTOL)
    mine = student.state_dict()
    for key, value in reference.state_dict().items():
        if key.endswith(("running_mean", "running_var")):
            name = rename(key) if rename is not None else key
            check_tensor(mine[name], value, f"{what}: `{name}` after one forward pass in train() mode "
                                            f"(is each BatchNorm called exactly once?)", atol=ATOL, rtol=RTOL)


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
