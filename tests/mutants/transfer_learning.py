"""Plausible wrong answers for exercise 06_transfer_learning
(solutions/06_transfer_learning/transfer_learning.ipynb): grade_id of the solution cell ->
{label: the student's whole cell}. Each must lose the points of that part's test cell."""

MUTANTS = {
    "set_trainable": {
        "startswith_without_dot": '''
def set_trainable(model, trainable_prefixes):
    names = [name for name, _ in model.named_parameters()]
    for prefix in trainable_prefixes:
        if not any(name.startswith(prefix) for name in names):
            raise ValueError(prefix)
    total = 0
    for name, p in model.named_parameters():
        p.requires_grad = any(name.startswith(prefix) for prefix in trainable_prefixes)
        total += p.numel() if p.requires_grad else 0
    return total
''',
        "only_freezes_never_unfreezes": '''
def set_trainable(model, trainable_prefixes):
    names = [name for name, _ in model.named_parameters()]
    for prefix in trainable_prefixes:
        if not any(n == prefix or n.startswith(prefix + ".") for n in names):
            raise ValueError(prefix)
    for name, p in model.named_parameters():
        if not any(name == prefix or name.startswith(prefix + ".") for prefix in trainable_prefixes):
            p.requires_grad = False
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
''',
        "top_level_name_only": '''
def set_trainable(model, trainable_prefixes):
    tops = {name.split(".")[0] for name, _ in model.named_parameters()}
    for prefix in trainable_prefixes:
        if prefix not in tops:
            raise ValueError(prefix)
    total = 0
    for name, p in model.named_parameters():
        p.requires_grad = name.split(".")[0] in trainable_prefixes
        total += p.numel() if p.requires_grad else 0
    return total
''',
        "counts_tensors_not_scalars": '''
def set_trainable(model, trainable_prefixes):
    names = [name for name, _ in model.named_parameters()]
    for prefix in trainable_prefixes:
        if not any(n == prefix or n.startswith(prefix + ".") for n in names):
            raise ValueError(prefix)
    count = 0
    for name, p in model.named_parameters():
        p.requires_grad = any(name == prefix or name.startswith(prefix + ".") for prefix in trainable_prefixes)
        count += int(p.requires_grad)
    return count
''',
        "no_error_for_a_typo": '''
def set_trainable(model, trainable_prefixes):
    total = 0
    for name, p in model.named_parameters():
        p.requires_grad = any(name == prefix or name.startswith(prefix + ".") for prefix in trainable_prefixes)
        total += p.numel() if p.requires_grad else 0
    return total
''',
        "also_switches_frozen_modules_to_eval": '''
def set_trainable(model, trainable_prefixes):
    names = [name for name, _ in model.named_parameters()]
    for prefix in trainable_prefixes:
        if not any(n == prefix or n.startswith(prefix + ".") for n in names):
            raise ValueError(prefix)
    total = 0
    for name, p in model.named_parameters():
        p.requires_grad = any(name == prefix or name.startswith(prefix + ".") for prefix in trainable_prefixes)
        total += p.numel() if p.requires_grad else 0
    for name, m in model.named_children():
        if not any(name == prefix or prefix.startswith(name + ".") for prefix in trainable_prefixes):
            m.eval()   # frozen: no need to train
    return total
''',
        "returns_all_parameters": '''
def set_trainable(model, trainable_prefixes):
    names = [name for name, _ in model.named_parameters()]
    for prefix in trainable_prefixes:
        if not any(n == prefix or n.startswith(prefix + ".") for n in names):
            raise ValueError(prefix)
    for name, p in model.named_parameters():
        p.requires_grad = any(name == prefix or name.startswith(prefix + ".") for prefix in trainable_prefixes)
    return sum(p.numel() for p in model.parameters())
''',
    },
    "train_mode": {
        "forgets_model_train": '''
def train_mode(model):
    for m in model.modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters(recurse=False)):
            m.eval()
''',
        "every_batchnorm_in_eval": '''
def train_mode(model):
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.eval()
''',
        "batchnorm2d_only": '''
def train_mode(model):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d) and not any(p.requires_grad for p in m.parameters()):
            m.eval()
''',
        "every_module_without_trainable_parameters": '''
def train_mode(model):
    model.train()
    for m in model.modules():
        if not any(p.requires_grad for p in m.parameters()):
            m.eval()
''',
        "train_after_eval": '''
def train_mode(model):
    for m in model.modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters(recurse=False)):
            m.eval()
    model.train()
''',
        "stops_tracking_instead_of_eval": '''
def train_mode(model):
    model.train()
    for m in model.modules():
        if isinstance(m, _BatchNorm) and not any(p.requires_grad for p in m.parameters(recurse=False)):
            m.momentum = 0.0   # the running statistics no longer move
''',
        "norm_layers_found_by_name": '''
def train_mode(model):
    model.train()
    for name, m in model.named_modules():
        if ("bn" in name or "norm" in name) and not any(p.requires_grad for p in m.parameters()):
            m.eval()
''',
    },
    "replace_head": {
        "first_linear": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][0]
    old = model.get_submodule(name)
    head = nn.Linear(old.in_features, num_classes)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, head)
    return head
''',
        "uses_out_features": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    head = nn.Linear(old.out_features, num_classes)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, head)
    return head
''',
        "no_bias": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    head = nn.Linear(old.in_features, num_classes, bias=False)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, head)
    return head
''',
        "replaces_the_whole_top_level_child": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    head = nn.Linear(old.in_features, num_classes)
    setattr(model, name.split(".")[0], head)
    return head
''',
        "resnet_fc_only": '''
def replace_head(model, num_classes):
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model.fc
''',
        "resizes_the_old_weights": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    with torch.no_grad():
        old.weight.data = old.weight.data[:num_classes].clone() if num_classes <= old.out_features else \\
            torch.cat([old.weight.data, torch.zeros(num_classes - old.out_features, old.in_features)])
        old.bias.data = torch.zeros(num_classes)
    old.out_features = num_classes
    return old
''',
        "reinitialises_in_place_keeps_frozen": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    new = nn.Linear(old.in_features, num_classes)
    old.weight.data, old.bias.data = new.weight.data, new.bias.data   # keeps the Parameters (and their flags)
    old.out_features = num_classes
    return old
''',
        "randn_weights": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    head = nn.Linear(old.in_features, num_classes)
    nn.init.normal_(head.weight)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, head)
    return head
''',
        "returns_the_model": '''
def replace_head(model, num_classes):
    name = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)][-1]
    old = model.get_submodule(name)
    parent, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attr, nn.Linear(old.in_features, num_classes))
    return model
''',
    },
    "discriminative_param_groups": {
        "first_group_gets_lr": '''
def discriminative_param_groups(model, lr, decay):
    groups = []
    for name, child in model.named_children():
        params = [p for p in child.parameters() if p.requires_grad]
        if params:
            groups.append({"name": name, "params": params, "lr": lr * decay ** len(groups)})
    return groups
''',
        "counts_children_without_parameters": '''
def discriminative_param_groups(model, lr, decay):
    children = list(model.named_children())
    groups = []
    for i, (name, child) in enumerate(children):
        params = [p for p in child.parameters() if p.requires_grad]
        if params:
            groups.append({"name": name, "params": params, "lr": lr * decay ** (len(children) - 1 - i)})
    return groups
''',
        "includes_frozen_parameters": '''
def discriminative_param_groups(model, lr, decay):
    children = [(n, list(c.parameters())) for n, c in model.named_children()]
    children = [(n, ps) for n, ps in children if any(p.requires_grad for p in ps)]
    return [{"name": n, "params": ps, "lr": lr * decay ** (len(children) - 1 - i)}
            for i, (n, ps) in enumerate(children)]
''',
        "exponent_off_by_one": '''
def discriminative_param_groups(model, lr, decay):
    children = [(n, [p for p in c.parameters() if p.requires_grad]) for n, c in model.named_children()]
    children = [(n, ps) for n, ps in children if ps]
    return [{"name": n, "params": ps, "lr": lr * decay ** (len(children) - i)} for i, (n, ps) in enumerate(children)]
''',
        "every_module_a_group": '''
def discriminative_param_groups(model, lr, decay):
    mods = [(n, [p for p in m.parameters() if p.requires_grad]) for n, m in model.named_modules() if n]
    mods = [(n, ps) for n, ps in mods if ps]
    return [{"name": n, "params": ps, "lr": lr * decay ** (len(mods) - 1 - i)} for i, (n, ps) in enumerate(mods)]
''',
        "keeps_empty_groups": '''
def discriminative_param_groups(model, lr, decay):
    children = [(n, [p for p in c.parameters() if p.requires_grad]) for n, c in model.named_children()
                if len(list(c.parameters()))]
    return [{"name": n, "params": ps, "lr": lr * decay ** (len(children) - 1 - i)} for i, (n, ps) in enumerate(children)]
''',
        "drops_direct_parameters_of_children_with_frozen_first_layer": '''
def discriminative_param_groups(model, lr, decay):
    children = []
    for name, child in model.named_children():
        params = list(child.parameters())
        if params and params[0].requires_grad:
            children.append((name, [p for p in params if p.requires_grad]))
    return [{"name": n, "params": ps, "lr": lr * decay ** (len(children) - 1 - i)} for i, (n, ps) in enumerate(children)]
''',
        "unfreezes_the_model": '''
def discriminative_param_groups(model, lr, decay):
    for p in model.parameters():
        p.requires_grad = True   # discriminative rates train everything
    children = [(n, list(c.parameters())) for n, c in model.named_children()]
    children = [(n, ps) for n, ps in children if ps]
    return [{"name": n, "params": ps, "lr": lr * decay ** (len(children) - 1 - i)} for i, (n, ps) in enumerate(children)]
''',
    },
}

# Right answers written differently from the solution: each must keep every point.
CORRECT = {
    "set_trainable": {
        "requires_grad_and_split": '''
def set_trainable(model, trainable_prefixes):
    def wanted(name):
        return any(name.split(".")[:len(p.split("."))] == p.split(".") for p in trainable_prefixes)

    named = dict(model.named_parameters())
    bad = [p for p in trainable_prefixes if not any(n.split(".")[:len(p.split("."))] == p.split(".") for n in named)]
    if bad:
        raise ValueError(f"unknown prefixes {bad}")
    for name, p in named.items():
        p.requires_grad_(wanted(name))
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
''',
    },
    "train_mode": {
        "modes_by_hand_and_returns_model": '''
def train_mode(model):
    for m in model.modules():
        own = list(m.parameters(recurse=False))
        m.train(not (isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))
                     and all(not p.requires_grad for p in own)))
    return model
''',
    },
    "replace_head": {
        "sequential_index_and_device": '''
def replace_head(model, num_classes):
    *path, last = [n for n, m in model.named_modules() if type(m) is nn.Linear][-1].split(".")
    parent = model
    for part in path:
        parent = parent[int(part)] if part.isdigit() else getattr(parent, part)
    old = parent[int(last)] if last.isdigit() else getattr(parent, last)
    new = nn.Linear(old.in_features, num_classes, device=old.weight.device, dtype=old.weight.dtype)
    if last.isdigit():
        parent[int(last)] = new
    else:
        setattr(parent, last, new)
    return new
''',
    },
    "discriminative_param_groups": {
        "reversed_walk_and_generators": '''
def discriminative_param_groups(model, lr, decay):
    groups, rate = [], lr
    for name, child in reversed(list(model.named_children())):
        trainable = (p for p in child.parameters() if p.requires_grad)
        params = list(trainable)
        if not params:
            continue
        groups.append(dict(params=params, lr=rate, name=name, weight_decay=0.0))
        rate *= decay
    return groups[::-1]
''',
    },
}
