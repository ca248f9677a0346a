"""The grader's side of a test: stand-ins for the student's functions and classes.

A test cell runs in the grader's own process (cvbook.grading.verdict). There, each name
the student defines (`quantize`, `BasicBlock`, ...) is a `Remote`: calling it sends the
arguments to the student's kernel (pickled: the grader's inputs, which the kernel may
read), the kernel runs the student's code (cvbook.grading.harness) and answers with
data (cvbook.grading.codec). Objects that are not data (a module the student built)
come back as further `Remote`s, so `block = BasicBlock(4, 8)`, `block.load_state_dict(sd)`,
`block(x)` work as in the student's own kernel, but every value the test compares is a
plain tensor or number made here.

What a call changed in place comes back too and is applied to the grader's copy (a tensor,
an array, a generator's state, a model's weights and train/eval mode): a test
that checks "the input must not be modified" or "the generator must be used" sees what
the student's code did.
"""

from __future__ import annotations

import builtins
import io
import json
import pickle
import socket

from cvbook.grading import codec
from cvbook.grading.harness import leaves, recv_frame, send_frame


class KernelUnreachable(RuntimeError):
    """The student's kernel stopped answering (time limit, crash, or a broken harness)."""


_EXCEPTIONS: dict[str, type] = {}


def _student_exception(types: list[str], message: str) -> BaseException:
    """An exception the test can catch as it would in-process (`except ValueError`), of a
    class made here: the student's exception object itself never leaves the kernel."""
    for name in types:
        base = getattr(builtins, name, None)
        if isinstance(base, type) and issubclass(base, Exception) and base not in (Exception, BaseException):
            if name not in _EXCEPTIONS:
                _EXCEPTIONS[name] = type(name, (base,), {"__module__": "builtins"})
            return _EXCEPTIONS[name](message)
    return RuntimeError(f"{types[0] if types else 'Exception'}: {message}")


class Connection:
    """The grader's line to one notebook's kernel: a socket per test cell (`attach`)."""

    def __init__(self):
        self.sock: socket.socket | None = None
        self.references: set[str] = set()
        self.calls = 0

    def attach(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.sock.settimeout(timeout)
        self.references = set()

    def ask(self, op: str, target: dict, attr: str | None = None, args=(), kwargs=None):
        kwargs = kwargs or {}
        header = {"op": op, "target": target, "attr": attr, "payload": bool(args or kwargs)}
        sent_leaves = leaves(args, kwargs)
        if self.sock is None:
            raise KernelUnreachable("the notebook's kernel is not connected")
        try:
            send_frame(self.sock, json.dumps(header).encode())
            if header["payload"]:
                send_frame(self.sock, _dumps((tuple(args), dict(kwargs))))
            reply = codec.loads(recv_frame(self.sock))
        except (OSError, ConnectionError, ValueError) as err:
            raise KernelUnreachable(f"the notebook's kernel did not answer ({err})") from None
        self.calls += 1
        if not isinstance(reply, dict):
            raise KernelUnreachable("the notebook's kernel answered something that is not a reply")
        refs = reply.get("references") or []
        self.references.update(str(r)[:200] for r in refs if isinstance(r, str))
        if not reply.get("ok"):
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            types = [str(t) for t in error.get("types", [])][:20]
            raise _student_exception(types, str(error.get("message", ""))[:2000])
        if reply.get("stop"):
            raise StopIteration
        for index, tree in reply.get("mutated") or []:
            _apply_change(sent_leaves[int(index)], codec.decode(tree, self.proxy))
        return codec.decode(reply.get("value"), self.proxy, sent_leaves)

    def proxy(self, handle: int, type_name: str) -> "Remote":
        return Remote(self, {"handle": handle}, type_name)

    def detach(self) -> None:
        if self.sock is None:
            return
        try:
            send_frame(self.sock, json.dumps({"op": "done"}).encode())
        except OSError:
            pass
        self.sock.close()
        self.sock = None


def _apply_change(local, new) -> None:
    """Bring the grader's copy of an argument up to date with what the kernel did to it."""
    import numpy as np
    import torch

    if isinstance(local, torch.Generator) and isinstance(new, torch.Generator):
        local.set_state(new.get_state())
    elif isinstance(local, torch.Tensor) and isinstance(new, torch.Tensor) and local.shape == new.shape:
        with torch.no_grad():
            local.copy_(new)
    elif isinstance(local, np.ndarray) and isinstance(new, np.ndarray) and local.shape == new.shape:
        np.copyto(local, new, casting="unsafe")
    elif isinstance(local, torch.nn.Module) and isinstance(new, dict):
        _apply_module_change(local, new)


def _apply_module_change(local, new: dict) -> None:
    """A model the kernel changed (see harness._module_state): its modes, requires_grad flags,
    parameters and buffers, added and removed ones included, made the same here."""
    import torch

    modules = list(local.modules())
    training = new.get("training")
    if isinstance(training, list) and len(training) == len(modules):
        for module, mode in zip(modules, training):
            module.training = mode is True
    state = new.get("state") if isinstance(new.get("state"), dict) else {}
    mine = local.state_dict(keep_vars=True)
    with torch.no_grad():
        for key, value in state.items():
            if not isinstance(key, str) or not isinstance(value, torch.Tensor):
                continue
            if key in mine and mine[key] is not None:
                if mine[key].shape == value.shape and mine[key].dtype == value.dtype:
                    mine[key].copy_(value)
                else:
                    mine[key].data = value.detach().clone()
                continue
            owner, _, name = key.rpartition(".")
            try:
                module = local.get_submodule(owner)
                if name not in module._parameters and name not in module._buffers and not hasattr(module, name):
                    module.register_buffer(name, value.detach().clone())
                else:  # an attribute of that name replaced a parameter: keep its new value in the state
                    module._buffers[name] = value.detach().clone()
                    module._parameters.pop(name, None)
            except (AttributeError, KeyError, TypeError, ValueError):
                pass
        for key in mine.keys() - state.keys():
            owner, _, name = key.rpartition(".")
            try:
                module = local.get_submodule(owner)
            except AttributeError:
                continue
            module._parameters.pop(name, None)
            module._buffers.pop(name, None)
    flags = new.get("requires_grad")
    if isinstance(flags, dict):
        for key, parameter in local.named_parameters():
            if key in flags:
                parameter.requires_grad_(flags[key] is True)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Remote):
            kind, = obj._target
            return (kind, obj._target[kind])
        return None


def _dumps(value) -> bytes:
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except (pickle.PicklingError, AttributeError, TypeError) as err:
        raise RuntimeError(f"the test passes a value the kernel cannot receive ({err}); tests give "
                           "student code only data, torch objects and cvbook classes") from None
    return buffer.getvalue()


class Remote:
    """A student's function, class or object, living in the kernel."""

    __slots__ = ("_conn", "_target", "_type")

    def __init__(self, conn: Connection, target: dict, type_name: str = "object"):
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_type", type_name)

    def __call__(self, *args, **kwargs):
        return self._conn.ask("call", self._target, args=args, kwargs=kwargs)

    def __getattribute__(self, name):
        if name in ("__module__", "__name__", "__qualname__", "__doc__"):  # the student's, not this class's
            return object.__getattribute__(self, "_conn").ask("getattr", object.__getattribute__(self, "_target"),
                                                              attr=name)
        return object.__getattribute__(self, name)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._conn.ask("getattr", self._target, attr=name)

    def __getitem__(self, key):
        return self._conn.ask("getitem", self._target, args=(key,))

    def __len__(self):
        n = self._conn.ask("len", self._target)
        if type(n) is not int:
            raise TypeError("len() of a student object did not give an int")
        return n

    def __iter__(self):
        it = self._conn.ask("iter", self._target)
        if not isinstance(it, Remote):
            return iter(it)
        return _RemoteIterator(it)

    def __bool__(self):
        return bool(self._conn.ask("bool", self._target) is True)

    def __repr__(self):
        name = self._target.get("name")
        return name if name else f"<{self._type}>"


class _RemoteIterator:
    def __init__(self, remote: Remote):
        self.remote = remote

    def __iter__(self):
        return self

    def __next__(self):
        return self.remote._conn.ask("next", self.remote._target)


def student_names(conn: Connection, names) -> dict[str, Remote]:
    return {name: Remote(conn, {"name": name}, "student code") for name in names}


# The connection of the test cell being checked, while the grader runs one (else None).
CURRENT: Connection | None = None


def runs_in_kernel(function):
    """For test helpers that must run next to the student's objects (autograd through
    their loss, a training step of their module): called while the grader checks a test
    cell, the helper runs in the student's kernel and its result comes back as data;
    anywhere else (the student's own JupyterLab) it runs where it is called."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if CURRENT is None:
            return function(*args, **kwargs)
        return CURRENT.ask("call", {"fixture": function.__name__}, args=args, kwargs=kwargs)

    return wrapper
