"""Undo a notebook's tampering before each graded test cell (runs inside the grading kernel).

The sandbox kernel calls `snapshot_modules()` before any student code and
`snapshot_shell()` once IPython is up. The grader prefixes every test cell with a call
to `restore()`, which puts back what a submission may have replaced to fake a pass:
functions of cvbook's checks, torch, numpy and builtins; modules swapped in sys.modules;
checker names rebound in the notebook's namespace; IPython exception handlers, input and
AST transformers, event callbacks; trace hooks. It prints one line naming what it
restored, so the instructor's report shows the attempt.

This raises the bar, it is not a proof: code that runs in the same process can, with
enough effort, defeat any in-process check (e.g. by rewriting this module's code). The
grader never trusts what a notebook prints, only whether the test code raised.
"""

from __future__ import annotations

import builtins
import importlib
import sys

WATCHED_MODULES = ("builtins", "cvbook.grading.checks", "torch", "torch.nn.functional", "numpy",
                   "numpy.testing", "math")
MARKER = "[cvbook grader] restored before this test:"
# The grader starts every test cell with this line.
PROLOGUE = '__import__("cvbook.grading.guard").grading.guard.restore()\n'

_modules: dict[str, object] = {}
_module_dicts: dict[str, dict] = {}
_classes: dict[str, tuple[type, dict]] = {}
_shell: dict[str, object] = {}


def snapshot_modules() -> None:
    for name in WATCHED_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        _modules[name] = module
        _module_dicts[name] = dict(vars(module))
    torch = _modules.get("torch")
    if torch is not None:
        _classes["torch.Tensor"] = (torch.Tensor, dict(vars(torch.Tensor)))
    _shell["sys"] = {k: getattr(sys, k) for k in ("stdout", "stderr")}


def snapshot_shell() -> None:
    from IPython import get_ipython

    ip = get_ipython()
    _shell["ip"] = ip
    _shell["attrs"] = set(vars(ip))
    _shell["class_dicts"] = [(cls, dict(vars(cls))) for cls in type(ip).__mro__ if cls.__module__.startswith(
        ("IPython", "ipykernel"))]
    _shell["custom_exceptions"] = ip.custom_exceptions
    _shell["CustomTB"] = ip.CustomTB
    _shell["transformers"] = {k: list(getattr(ip, k)) for k in (
        "input_transformers_cleanup", "input_transformers_post", "ast_transformers")}
    _shell["events"] = {name: list(cbs) for name, cbs in ip.events.callbacks.items()}
    _shell["sys"] = {k: getattr(sys, k) for k in ("stdout", "stderr")}


def _restore_dict(label: str, target, pristine: dict, restored: list[str]) -> None:
    current = vars(target)
    for key, value in pristine.items():
        if key in _VOLATILE or key.startswith("__") and key not in ("__import__", "__build_class__"):
            continue
        if current.get(key, _missing) is not value:
            try:
                setattr(target, key, value)
                restored.append(f"{label}.{key}")
            except (AttributeError, TypeError):
                pass


_missing = object()
# Rebound by IPython/ipykernel around every execution, not by students.
_VOLATILE = {"_", "input", "exit", "quit", "get_ipython", "display", "help"}


def restore(user_ns: dict | None = None) -> list[str]:
    """Put everything back; return what had been changed (and print it)."""
    restored: list[str] = []
    sys.settrace(None)
    sys.setprofile(None)
    for name, module in _modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            restored.append(f"sys.modules[{name!r}]")
        _restore_dict(name, module, _module_dicts[name], restored)
    for label, (cls, pristine) in _classes.items():
        _restore_dict(label, cls, pristine, restored)
    for key, value in _shell.get("sys", {}).items():
        if getattr(sys, key) is not value:
            setattr(sys, key, value)
            restored.append(f"sys.{key}")
    ip = _shell.get("ip")
    if ip is not None:
        _restore_shell(ip, restored)
        user_ns = ip.user_ns if user_ns is None else user_ns
    if user_ns is not None:
        _restore_namespace(user_ns, restored)
    if restored:
        print(MARKER, ", ".join(sorted(set(restored))))
    return restored


def _restore_shell(ip, restored: list[str]) -> None:
    for key in set(vars(ip)) - _shell["attrs"]:
        if callable(vars(ip)[key]):  # an instance attribute shadowing a method, e.g. ip.run_cell
            delattr(ip, key)
            restored.append(f"shell.{key}")
    for cls, pristine in _shell["class_dicts"]:
        _restore_dict(cls.__name__, cls, pristine, restored)
    if ip.custom_exceptions != _shell["custom_exceptions"] or ip.CustomTB is not _shell["CustomTB"]:
        ip.custom_exceptions, ip.CustomTB = _shell["custom_exceptions"], _shell["CustomTB"]
        restored.append("shell.set_custom_exc")
    for key, pristine in _shell["transformers"].items():
        if list(getattr(ip, key)) != pristine:
            getattr(ip, key)[:] = pristine
            restored.append(f"shell.{key}")
    for name, pristine in _shell["events"].items():
        if ip.events.callbacks.get(name) != pristine:
            ip.events.callbacks[name] = list(pristine)
            restored.append(f"shell.events[{name!r}]")


def _restore_namespace(user_ns: dict, restored: list[str]) -> None:
    """Names a test uses from the notebook's namespace: checkers and modules."""
    checks = _module_dicts.get("cvbook.grading.checks", {})
    for key in ("check_tensor", "check_equal", "check_close", "CheckFailed"):
        if key in user_ns and key in checks and user_ns[key] is not checks[key]:
            user_ns[key] = checks[key]
            restored.append(f"notebook name {key}")
    for alias, module_name in (("torch", "torch"), ("np", "numpy"), ("numpy", "numpy"), ("F", "torch.nn.functional")):
        module = _modules.get(module_name)
        if alias in user_ns and module is not None and user_ns[alias] is not module:
            if getattr(user_ns[alias], "__name__", None) in (module_name, None) or alias != "F":
                user_ns[alias] = module
                restored.append(f"notebook name {alias}")
    if user_ns.get("__builtins__") not in (builtins, vars(builtins)):
        user_ns["__builtins__"] = builtins
        restored.append("notebook __builtins__")


def hook_kernel(kernel) -> None:
    """Also restore before IPython sees a test cell's code: input transformers that a
    notebook installed would otherwise rewrite the test (and the PROLOGUE) away."""
    original = kernel.do_execute

    def do_execute(code, *args, **kwargs):
        if isinstance(code, str) and code.startswith(PROLOGUE):
            restore()
        return original(code, *args, **kwargs)

    kernel.do_execute = do_execute
