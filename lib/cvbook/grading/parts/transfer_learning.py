"""Checks of the transfer learning assignment: freezing by name, train mode with frozen
BatchNorm layers kept in eval mode, replacing a head, and discriminative learning rates.

The models are small stand-ins for the three ways libraries name a classifier: a
ResNet-style `fc`, a torchvision-style `classifier` Sequential whose last entry is the
Linear, and a timm-style `head` next to a `head_norm` (and Linear layers inside the
backbone). Each check compares the student's result with cvbook.transfer's on a copy of the
same model, and reads the student's model back after the call: its weights, buffers,
requires_grad flags and train/eval modes."""

from __future__ import annotations

import copy
import math
import numbers

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from cvbook import transfer
from cvbook.grading.checks import CheckFailed, call_reported, call_unchanged, check_number


# The graded parts, numbered as in the notebook: the name the student writes -> its part
# (cvbook.grading.student names failures by it).
PARTS = {"set_trainable": 1, "train_mode": 2, "replace_head": 3, "discriminative_param_groups": 4}


# --------------------------------------------------------------------------- small models


def _conv_bn(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU())


class ResNetStyle(nn.Module):
    """conv1, bn1, relu, layer1, layer2 (with a Dropout), avgpool, fc: the classifier is `fc`."""

    def __init__(self, width=4, num_classes=10, in_chans=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(_conv_bn(width, width), nn.Dropout(0.1))
        self.layer2 = nn.Sequential(_conv_bn(width, 2 * width, 2), _conv_bn(2 * width, 2 * width))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchvisionStyle(nn.Module):
    """features, avgpool, classifier = Sequential(Dropout, Linear), or an MLP classifier
    (Linear, ReLU, Dropout, Linear): the head is `classifier.1` or `classifier.3`."""

    def __init__(self, width=4, num_classes=10, in_chans=1, mlp=False):
        super().__init__()
        self.features = nn.Sequential(_conv_bn(in_chans, width), _conv_bn(width, 2 * width, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        c = 2 * width
        self.classifier = (nn.Sequential(nn.Linear(c, 3 * width), nn.ReLU(), nn.Dropout(0.2),
                                         nn.Linear(3 * width, num_classes)) if mlp else
                           nn.Sequential(nn.Dropout(0.2), nn.Linear(c, num_classes)))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class SqueezeExcite(nn.Module):
    """Channel gates computed by two Linear layers: Linear layers inside the backbone."""

    def __init__(self, c):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, max(1, c // 2)), nn.Linear(max(1, c // 2), c)

    def forward(self, x):
        gate = torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3))))))
        return x * gate[:, :, None, None]


class TimmStyle(nn.Module):
    """stem, blocks (with squeeze-and-excitation Linears), head_norm (BatchNorm1d), head."""

    def __init__(self, width=4, num_classes=10, in_chans=1):
        super().__init__()
        self.stem = _conv_bn(in_chans, width)
        self.blocks = nn.Sequential(_conv_bn(width, 2 * width, 2), SqueezeExcite(2 * width), nn.Dropout(0.1))
        self.head_norm = nn.BatchNorm1d(2 * width)
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.head(self.head_norm(self.blocks(self.stem(x)).mean(dim=(2, 3))))


STYLES = {"resnet": ResNetStyle, "torchvision": TorchvisionStyle, "mlp": TorchvisionStyle, "timm": TimmStyle}


def make_model(style: str, seed: int, width: int = 4, num_classes: int = 10, in_chans: int = 1,
               trainable: tuple[str, ...] | None = None) -> nn.Module:
    """One of the small models, every parameter and BatchNorm statistic a distinct random
    value (so that a returned tensor says which parameter it is). trainable: prefixes of the
    parameters left trainable, every other one frozen (None: all trainable); done here, so that
    a test of one part never depends on the student's answer to another."""
    torch.manual_seed(seed)
    kwargs = {"mlp": True} if style == "mlp" else {}
    model = STYLES[style](width, num_classes, in_chans, **kwargs)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    if trainable is not None:
        for name, p in model.named_parameters():
            p.requires_grad = any(_prefix_matches(name, prefix) for prefix in trainable)
    return model


def _describe(model: nn.Module) -> str:
    frozen = sum(not p.requires_grad for p in model.parameters())
    mode = "train" if model.training else "eval"
    return (f"a {type(model).__name__} (children {[n for n, _ in model.named_children()]}, {mode} mode"
            + (f", {frozen} of its {len(list(model.parameters()))} parameter tensors frozen" if frozen else "")
            + ")")


def _state(model: nn.Module) -> dict:
    return {"values": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "modes": {name: m.training for name, m in model.named_modules()},
            "flags": {k: p.requires_grad for k, p in model.named_parameters()}}


def _changed_values(before: dict, model: nn.Module, skip=()) -> str | None:
    now = model.state_dict()
    for key, value in before["values"].items():
        if key in skip:
            continue
        if key not in now:
            return f"{key!r} is gone"
        if now[key].shape != value.shape or not torch.equal(now[key].detach(), value):
            return f"it changed the values of {key!r}"
    return None


def _prefix_matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# --------------------------------------------------------------------------- 1. set_trainable


def check_set_trainable(set_trainable, model: nn.Module, prefixes: tuple[str, ...]) -> None:
    """Afterwards exactly the parameters named by a prefix require gradients; the return value is
    their number of scalars (an int); nothing else about the model changes."""
    what = f"set_trainable({_describe(model)}, {prefixes!r})"
    reference = copy.deepcopy(model)
    expected = transfer.set_trainable(reference, prefixes)
    before = _state(model)
    got = call_reported(set_trainable, "set_trainable", (model, prefixes), {}, what)
    change = _changed_values(before, model)
    if change:
        raise CheckFailed(f"{what}: {change}; freezing only sets requires_grad")
    modes = {name: m.training for name, m in model.named_modules()}
    if modes != before["modes"]:
        raise CheckFailed(f"{what}: it changed a layer's train/eval mode; set_trainable only sets requires_grad")
    want = {k: p.requires_grad for k, p in reference.named_parameters()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    for key, flag in want.items():
        if flags.get(key) != flag:
            near = [p for p in prefixes if key.startswith(p) and not _prefix_matches(key, p)]
            why = (f": {near[0]!r} names {near[0]}.<...> (and a parameter called exactly {near[0]!r}), not "
                   f"{key.split('.')[0]!r}" if near else
                   ": it was frozen before this call and one of the prefixes names it, so it must become "
                   "trainable again" if flag and not before["flags"][key] else "")
            raise CheckFailed(f"{what}: `{key}` has requires_grad={flags.get(key)}, expected {flag}{why}")
    check_number(got, expected, f"{what}: the number of trainable parameters (scalars) it returns", kind="int",
                 rel=0, abs_=0)


def check_set_trainable_rejects(set_trainable, model: nn.Module, prefixes: tuple[str, ...]) -> None:
    """A prefix that names no parameter is a ValueError (a typo must not freeze everything)."""
    what = f"set_trainable({_describe(model)}, {prefixes!r})"
    try:
        set_trainable(model, prefixes)
    except ValueError:
        return
    except (CheckFailed, NotImplementedError):
        raise
    except Exception as error:  # noqa: BLE001
        raise CheckFailed(f"{what}: raised {type(error).__name__} ({str(error)[:200]}); a prefix that names no "
                          f"parameter must raise a ValueError") from None
    raise CheckFailed(f"{what}: no parameter's name starts with one of these prefixes, so this must raise a "
                      f"ValueError (a typo would otherwise freeze the whole model without a word)")


def check_random_set_trainable(set_trainable, seed: int, count: int = 6) -> None:
    g = torch.Generator().manual_seed(seed)
    choices = {"resnet": ["fc", "layer2", "layer1", "bn1", "conv1", "layer2.1", "fc.bias"],
               "torchvision": ["classifier", "features", "features.1", "classifier.1.weight"],
               "mlp": ["classifier", "classifier.3", "classifier.0", "features.0"],
               "timm": ["head", "head_norm", "blocks", "blocks.1", "stem"]}
    styles = list(choices)
    for i in range(count):
        style = styles[int(torch.randint(0, len(styles), (), generator=g))]
        names = choices[style]
        k = int(torch.randint(1, 4, (), generator=g))
        prefixes = tuple(names[j] for j in torch.randperm(len(names), generator=g)[:k].tolist())
        model = make_model(style, seed + i, width=int(torch.randint(2, 6, (), generator=g)))
        if i % 2:   # some parameters frozen already, the model in eval mode
            transfer.set_trainable(model, (names[0],))
            model.eval()
        check_set_trainable(set_trainable, model, prefixes)


# --------------------------------------------------------------------------- 2. train mode


def check_train_mode(train_mode, model: nn.Module, batch: int = 4) -> None:
    """Afterwards every module is in train mode except the BatchNorm layers whose own parameters
    are all frozen, which are in eval mode; weights, statistics and flags are as they were. Then a
    forward pass leaves the frozen BatchNorm layers' running statistics where they were."""
    what = f"train_mode({_describe(model)})"
    reference = copy.deepcopy(model)
    reference.train()
    transfer._freeze_frozen_batchnorm(reference)
    before = _state(model)
    call_reported(train_mode, "train_mode", (model,), {}, what)
    change = _changed_values(before, model)
    if change:
        raise CheckFailed(f"{what}: {change}; only the train/eval modes may change")
    if {k: p.requires_grad for k, p in model.named_parameters()} != before["flags"]:
        raise CheckFailed(f"{what}: it changed requires_grad of a parameter; which parameters are frozen is the "
                          f"caller's choice, train_mode only sets modes")
    modes = dict(model.named_modules())
    for name, m in reference.named_modules():
        got = modes[name].training
        if got == m.training:
            continue
        label = f"layer {name!r} ({type(m).__name__})" if name else "the model itself"
        if isinstance(m, _BatchNorm) and not m.training:
            raise CheckFailed(f"{what}: {label} is in train mode, but its weight and bias are frozen: a forward "
                              f"pass in train mode would move its running statistics towards the new batch, "
                              f"and normalise with that batch's statistics; put it in eval mode")
        if isinstance(m, _BatchNorm):
            raise CheckFailed(f"{what}: {label} is in eval mode, but its parameters are trainable: it learns, so "
                              f"it must train like the rest (train mode)")
        raise CheckFailed(f"{what}: {label} is in {'train' if got else 'eval'} mode, expected "
                          f"{'train' if m.training else 'eval'} mode: everything trains except BatchNorm layers "
                          f"whose own parameters are frozen")
    # What the modes are for: a forward pass does not move the frozen layers' statistics.
    stats = {k: v.clone() for k, v in model.state_dict().items() if k.endswith(("running_mean", "running_var"))}
    torch.manual_seed(batch)
    with torch.no_grad():
        model(torch.randn(batch, next(model.parameters()).shape[1], 8, 8) * 2 + 1)
    for name, m in model.named_modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters(recurse=False)):
            if not torch.equal(m.running_mean, stats[f"{name}.running_mean"]):
                raise CheckFailed(f"{what}: a forward pass afterwards moved the running mean of the frozen "
                                  f"BatchNorm layer {name!r}")


def check_random_train_mode(train_mode, seed: int, count: int = 6) -> None:
    g = torch.Generator().manual_seed(seed)
    heads = {"resnet": ("fc",), "torchvision": ("classifier",), "mlp": ("classifier",), "timm": ("head",)}
    partial = {"resnet": ("layer2", "fc"), "torchvision": ("features.1", "classifier"),
               "mlp": ("classifier",), "timm": ("head_norm", "head")}
    styles = list(heads)
    for i in range(count):
        style = styles[int(torch.randint(0, len(styles), (), generator=g))]
        model = make_model(style, seed + i, width=int(torch.randint(2, 6, (), generator=g)))
        choice = int(torch.randint(0, 3, (), generator=g))
        if choice < 2:
            transfer.set_trainable(model, (heads, partial)[choice][style])
        if int(torch.randint(0, 2, (), generator=g)):
            model.eval()
        check_train_mode(train_mode, model, batch=int(torch.randint(2, 6, (), generator=g)))


# --------------------------------------------------------------------------- 3. replace_head


def check_replace_head(replace_head, model: nn.Module, num_classes: int) -> None:
    """The last nn.Linear becomes a new nn.Linear(in_features, num_classes) with a bias, freshly
    initialised and trainable, returned; every other parameter, buffer, flag and mode unchanged."""
    what = f"replace_head({_describe(model)}, {num_classes})"
    name = transfer.head_name(model)
    old = model.get_submodule(name)
    in_features = old.in_features
    old_weight = old.weight.detach().clone()
    before = _state(model)
    keys = set(before["values"])
    got = call_reported(replace_head, "replace_head", (model, num_classes), {}, what)
    now = model.state_dict()
    if set(now) != keys:
        added, removed = sorted(set(now) - keys), sorted(keys - set(now))
        raise CheckFailed(f"{what}: the model's parameters are not the same set any more (added: {added or 'none'}, "
                          f"removed: {removed or 'none'}); replace only the last nn.Linear ({name!r}) by a new "
                          f"nn.Linear, in the same place")
    head_keys = (f"{name}.weight", f"{name}.bias")
    for key in sorted(keys - set(head_keys)):
        value = before["values"][key]
        if now[key].shape != value.shape or not torch.equal(now[key].detach(), value):
            owner = key.rpartition(".")[0]
            if isinstance(model.get_submodule(owner), nn.Linear):
                raise CheckFailed(f"{what}: it replaced `{owner}`, a Linear layer inside the backbone; the head is "
                                  f"the model's last nn.Linear, {name!r}")
            if key.endswith(".weight") and now[key].shape != value.shape:
                raise CheckFailed(f"{what}: `{key}` changed shape to {tuple(now[key].shape)}; the head is the "
                                  f"model's last nn.Linear, {name!r}")
            raise CheckFailed(f"{what}: it changed the values of `{key}`; only the head {name!r} is replaced")
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    for key, flag in before["flags"].items():
        if key not in head_keys and flags[key] != flag:
            raise CheckFailed(f"{what}: it changed requires_grad of `{key}`; leave the rest of the model as it was")
    weight, bias = now[head_keys[0]], now[head_keys[1]]
    if tuple(weight.shape) != (num_classes, in_features):
        raise CheckFailed(f"{what}: the new head's weight has shape {tuple(weight.shape)}, expected "
                          f"({num_classes}, {in_features}): nn.Linear(in_features of the old head = {in_features}, "
                          f"num_classes = {num_classes})")
    if tuple(bias.shape) != (num_classes,):
        raise CheckFailed(f"{what}: the new head's bias has shape {tuple(bias.shape)}, expected ({num_classes},)")
    if not (flags[head_keys[0]] and flags[head_keys[1]]):
        raise CheckFailed(f"{what}: the new head's parameters must require gradients (a new head is trained), "
                          f"even when the old one was frozen: build a new nn.Linear")
    rows = min(num_classes, old_weight.shape[0])
    if torch.equal(weight[:rows].detach(), old_weight[:rows]):
        raise CheckFailed(f"{what}: the new head starts from the old head's weights; it must be a freshly "
                          f"initialised nn.Linear")
    bound = 1 / math.sqrt(in_features) + 1e-6
    if float(weight.detach().abs().max()) > bound:
        raise CheckFailed(f"{what}: the new head's weights go up to {float(weight.detach().abs().max()):.3g}; "
                          f"nn.Linear's own initialisation keeps them within 1/sqrt(in_features) = {bound:.3g}")
    modes = {n: m.training for n, m in model.named_modules()}
    if {n: v for n, v in modes.items() if n != name} != {n: v for n, v in before["modes"].items() if n != name}:
        raise CheckFailed(f"{what}: it changed a layer's train/eval mode; leave the rest of the model as it was")
    try:
        returned = got.weight
    except AttributeError:
        returned = None
    if not isinstance(returned, torch.Tensor) or not torch.equal(returned.detach(), weight.detach()):
        raise CheckFailed(f"{what}: it must return the new head (the nn.Linear now at {name!r}), got "
                          f"{type(got).__name__}")
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(2, next(model.parameters()).shape[1], 8, 8))
    if tuple(out.shape) != (2, num_classes):
        raise CheckFailed(f"{what}: the model's output has shape {tuple(out.shape)}, expected (2, {num_classes})")


def check_random_replace_head(replace_head, seed: int, count: int = 6) -> None:
    g = torch.Generator().manual_seed(seed)
    styles = list(STYLES)
    for i in range(count):
        style = styles[i % len(styles)]
        model = make_model(style, seed + i, width=int(torch.randint(2, 7, (), generator=g)),
                           num_classes=int(torch.randint(2, 20, (), generator=g)))
        if int(torch.randint(0, 2, (), generator=g)):
            transfer.set_trainable(model, (transfer.head_name(model).split(".")[0],))
        if int(torch.randint(0, 2, (), generator=g)):
            model.eval()
        check_replace_head(replace_head, model, int(torch.randint(1, 30, (), generator=g)))


# --------------------------------------------------------------------------- 4. parameter groups


def _which(tensor, params: dict[str, torch.Tensor]) -> str | None:
    """The name of the model's parameter `tensor` is (the same object, or the same values)."""
    if not isinstance(tensor, torch.Tensor):
        return None
    for name, p in params.items():
        if tensor is p:
            return name
    for name, p in params.items():
        if tensor.shape == p.shape and torch.equal(tensor.detach(), p.detach()):
            return name
    return None


def check_param_groups(discriminative_param_groups, model: nn.Module, lr: float, decay: float) -> None:
    """A list of dicts, one per top-level child with trainable parameters, in order:
    {"name": the child's name, "params": its trainable parameters, "lr": lr * decay ** (groups after it)}."""
    what = f"discriminative_param_groups({_describe(model)}, lr={lr!r}, decay={decay!r})"
    expected = transfer.discriminative_param_groups(copy.deepcopy(model), lr, decay)
    named = dict(model.named_parameters())
    expected = [{"name": group["name"], "lr": group["lr"],
                 "params": [_which(p, named) for p in group["params"]]} for group in expected]
    got = call_unchanged(discriminative_param_groups, "discriminative_param_groups",
                         {"model": model, "lr": lr, "decay": decay}, what=what)
    try:
        groups = list(got)
    except TypeError:
        raise CheckFailed(f"{what}: expected a list of dicts, got {type(got).__name__}") from None
    seen: dict[str, str] = {}
    described = []
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or not {"params", "lr", "name"} <= set(group):
            raise CheckFailed(f"{what}: group {i} must be a dict with keys 'name', 'params' and 'lr', got "
                              f"{sorted(group) if isinstance(group, dict) else type(group).__name__}")
        names = []
        for tensor in list(group["params"]):
            key = _which(tensor, named)
            if key is None:
                raise CheckFailed(f"{what}: group {i} ({group['name']!r}) holds a tensor that is not one of the "
                                  f"model's parameters")
            if key in seen:
                raise CheckFailed(f"{what}: `{key}` is in two groups ({seen[key]!r} and {group['name']!r}); each "
                                  f"parameter must be in exactly one (an optimiser refuses duplicates)")
            if not named[key].requires_grad:
                raise CheckFailed(f"{what}: `{key}` is frozen (requires_grad=False) but is in group "
                                  f"{group['name']!r}; leave frozen parameters out")
            seen[key] = group["name"]
            names.append(key)
        described.append({"name": group["name"], "lr": group["lr"], "params": names})
    missing = [k for k, p in named.items() if p.requires_grad and k not in seen]
    if missing:
        raise CheckFailed(f"{what}: the trainable parameter `{missing[0]}` is in no group"
                          + (f" ({len(missing)} are missing)" if len(missing) > 1 else ""))
    want_names = [group["name"] for group in expected]
    got_names = [group["name"] for group in described]
    if got_names != want_names:
        raise CheckFailed(f"{what}: the groups are {got_names}, expected {want_names}: one group per top-level "
                          f"child (model.named_children()) that has trainable parameters, in the model's order")
    for mine, theirs in zip(described, expected):
        if sorted(mine["params"]) != sorted(theirs["params"]):
            raise CheckFailed(f"{what}: group {mine['name']!r} holds {sorted(mine['params'])}, expected "
                              f"{sorted(theirs['params'])}")
    for i, (mine, theirs) in enumerate(zip(described, expected)):
        if not isinstance(mine["lr"], numbers.Real) or isinstance(mine["lr"], bool) or \
                not math.isclose(float(mine["lr"]), theirs["lr"], rel_tol=1e-9):
            after = len(expected) - 1 - i
            raise CheckFailed(f"{what}: group {mine['name']!r} has lr {mine['lr']!r}, expected {theirs['lr']!r} = "
                              f"lr * decay ** {after}: the last group (the head) gets lr, each group before it "
                              f"decay times the lr of the group after it; children without trainable "
                              f"parameters do not count")


def check_random_param_groups(discriminative_param_groups, seed: int, count: int = 6) -> None:
    g = torch.Generator().manual_seed(seed)
    frozen = {"resnet": ("layer2", "fc"), "torchvision": ("features.1", "classifier"),
              "mlp": ("classifier.3",), "timm": ("blocks.1", "head_norm", "head")}
    styles = list(STYLES)
    for i in range(count):
        style = styles[i % len(styles)]
        model = make_model(style, seed + i, width=int(torch.randint(2, 6, (), generator=g)))
        if int(torch.randint(0, 2, (), generator=g)):
            transfer.set_trainable(model, frozen[style])
        lr = float(10 ** -float(torch.randint(1, 5, (), generator=g)))
        decay = round(float(torch.rand((), generator=g)) * 0.8 + 0.1, 2)
        check_param_groups(discriminative_param_groups, model, lr, decay)
