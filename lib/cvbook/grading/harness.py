"""The grading kernel's side of a test: run the student's code on the grader's inputs.

While the grader checks a test cell, the kernel runs `serve(socket_path)` (one
execution, sent by the grader; the cell's own code never reaches the kernel). The
grader asks, one message at a time: call the notebook's `quantize` with these
arguments, get an attribute, an item, the length, the next item of an iterator. Each
answer goes back as data (cvbook.grading.codec), with what the call changed in place
(a tensor argument or a model modified, a generator advanced) and which graded references the
student's code tried to use.

Nothing here is trusted: a notebook may replace this module. It can then only answer
wrongly or not at all, which fails its own test; the verdict is the grader's.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import socket
import struct

from cvbook.grading import codec

_handles: dict[int, object] = {}
_handle_of: dict[int, int] = {}
USED_REFERENCES: list[str] = []


class ReferenceUnavailable(RuntimeError):
    """The library's reference of a graded part was called while grading."""


def reference_called(name: str):
    """Called by the stand-in of a graded part's reference (see cvbook.grading.references)."""
    USED_REFERENCES.append(name)
    return ReferenceUnavailable(
        f"{name} is the course library's answer to a graded part: it is not available while "
        f"your work is graded. Write this part yourself.")


def _handle(obj) -> int:
    key = id(obj)
    if key not in _handle_of:
        _handle_of[key] = len(_handles) + 1
        _handles[_handle_of[key]] = obj
    return _handle_of[key]


class _Unpickler(pickle.Unpickler):
    user_ns: dict = {}

    def persistent_load(self, pid):
        obj = _resolve(dict([pid]), self.user_ns)
        self.resolved.add(id(obj))  # the notebook's own object, not a copy of the grader's
        return obj


def send_frame(sock, data: bytes) -> None:
    sock.sendall(struct.pack(">Q", len(data)) + data)


def recv_frame(sock, limit: int = codec.MAX_MESSAGE_BYTES) -> bytes:
    size = struct.unpack(">Q", _recv_exactly(sock, 8))[0]
    if size > limit:
        raise ValueError(f"a message of {size} bytes is larger than the {limit} allowed")
    return _recv_exactly(sock, size)


def _recv_exactly(sock, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _is_module(x) -> bool:
    import torch

    return isinstance(x, torch.nn.Module)


def leaves(args, kwargs, skip: set | frozenset = frozenset()) -> list:
    """Tensors, arrays, generators and models (torch.nn.Module) among the arguments, in an
    order both sides agree on. `skip`: ids of the notebook's own objects that the grader
    passed back by handle (they are not the grader's copies)."""
    found: list = []

    def walk(x, depth=0):
        if depth > 4 or id(x) in skip:
            return
        kind = type(x).__name__
        if kind in ("Tensor", "Parameter", "ndarray", "Generator") or _is_module(x):
            found.append(x)
        elif isinstance(x, (list, tuple)):
            for i in x:
                walk(i, depth + 1)
        elif isinstance(x, dict):
            for k in sorted(x, key=repr):
                walk(x[k], depth + 1)

    walk(list(args))
    walk(dict(kwargs))
    return found


def _module_state(x) -> dict:
    """What a call can change in a model: its parameters and buffers, each parameter's
    requires_grad and each layer's train/eval mode."""
    return {"state": dict(x.state_dict()), "training": [bool(m.training) for m in x.modules()],
            "requires_grad": {k: bool(p.requires_grad) for k, p in x.named_parameters()}}


def _fingerprint(x):
    if _is_module(x):
        import torch

        digest = hashlib.sha1()
        state = _module_state(x)
        for key, value in state["state"].items():
            digest.update(repr((key, tuple(value.shape), str(value.dtype))).encode())
            data = value.detach().cpu().contiguous().reshape(-1)
            digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
        digest.update(repr((state["training"], state["requires_grad"])).encode())
        return ("m", digest.hexdigest())
    kind = type(x).__name__
    if kind in ("Tensor", "Parameter"):
        return ("t", x._version)
    if kind == "ndarray":
        return ("a", hashlib.sha1(x.tobytes()).hexdigest() if x.dtype != object else None)
    return ("g", hashlib.sha1(x.get_state().numpy().tobytes()).hexdigest())


def _resolve(target: dict, user_ns: dict):
    """A handle, a name in the notebook, or a function of cvbook.grading.fixtures."""
    if "handle" in target:
        return _handles[int(target["handle"])]
    if "fixture" in target:
        from cvbook.grading import fixtures

        return getattr(fixtures, str(target["fixture"])).__wrapped__
    name = str(target["name"])
    if name not in user_ns:
        raise NameError(f"name {name!r} is not defined")
    return user_ns[name]


def _answer(header: dict, payload: bytes | None, user_ns: dict) -> dict:
    op = header["op"]
    target = _resolve(header["target"], user_ns)
    unpickler = _Unpickler(io.BytesIO(payload or b""))
    unpickler.user_ns = user_ns
    unpickler.resolved = set()
    args, kwargs = unpickler.load() if payload else ((), {})
    before_leaves = leaves(args, kwargs, unpickler.resolved)
    before = [_fingerprint(x) for x in before_leaves]
    if op == "call":
        value = target(*args, **kwargs)
    elif op == "getattr":
        value = getattr(target, str(header["attr"]))
    elif op == "getitem":
        value = target[args[0]]
    elif op == "len":
        value = len(target)
    elif op == "iter":
        value = iter(target)
    elif op == "next":
        try:
            value = next(target)
        except StopIteration:
            return {"ok": True, "stop": True}
    elif op == "bool":
        value = bool(target)
    elif op == "repr":
        value = repr(target)[:500]
    else:
        raise ValueError(f"unknown operation {op!r}")
    mutated = [[i, codec.encode(_module_state(x) if _is_module(x) else x, _handle)]
               for i, (x, fp) in enumerate(zip(before_leaves, before)) if _fingerprint(x) != fp]
    return {"ok": True, "value": codec.encode(value, _handle, before_leaves), "mutated": mutated}


def serve(socket_path: str) -> None:
    """Answer the grader's questions until it says it is done (one test cell)."""
    from IPython import get_ipython

    user_ns = get_ipython().user_ns
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(socket_path)
    try:
        while True:
            header = json.loads(recv_frame(sock))
            if header.get("op") == "done":
                return
            payload = recv_frame(sock) if header.get("payload") else None
            del USED_REFERENCES[:]
            try:
                reply = _answer(header, payload, user_ns)
            except KeyboardInterrupt:
                raise
            except BaseException as err:  # noqa: BLE001 - the student's exception goes back as data
                reply = {"ok": False, "error": {"types": [c.__name__ for c in type(err).__mro__],
                                                "message": str(err)[:2000]}}
            reply["references"] = sorted(set(USED_REFERENCES))
            try:
                data = codec.dumps(reply)
            except (TypeError, ValueError) as err:
                data = codec.dumps({"ok": False, "references": reply["references"], "error": {
                    "types": ["TypeError", "Exception"], "message": f"the result cannot be sent back as data: {err}"}})
            send_frame(sock, data)
    finally:
        sock.close()
