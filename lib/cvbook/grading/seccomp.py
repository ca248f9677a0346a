"""A seccomp filter for the grading kernel: no network sockets at all.

The kernel's network namespace already reaches nothing outside; this filter also takes
away its loopback: `socket()` for IPv4, IPv6 and raw packets fails with EACCES (Unix
sockets, which Jupyter's messages use, still work), and io_uring, which could open
sockets past the filter, is not available. bubblewrap installs it (`--seccomp FD`)
just before the kernel starts. Written as raw BPF: ten instructions need no library.
"""

from __future__ import annotations

import errno
import platform
import struct

# (audit architecture, socket(), io_uring_setup()) per machine.
ARCHITECTURES = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}
DENIED_FAMILIES = (2, 10, 17)  # AF_INET, AF_INET6, AF_PACKET
X32_SYSCALL_BIT = 0x40000000

_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def no_network_filter(machine: str | None = None) -> bytes | None:
    """The BPF program for this machine, or None where its system call numbers are unknown."""
    arch = ARCHITECTURES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, nr_socket, nr_io_uring = arch
    deny = _insn(_RET, _ERRNO | errno.EACCES)
    allow = _insn(_RET, _ALLOW)
    checks = [_insn(_JEQ, family, jt=len(DENIED_FAMILIES) - i) for i, family in enumerate(DENIED_FAMILIES)]
    program = [
        _insn(_LD_ABS, 4),                             # arch
        _insn(_JEQ, audit_arch, jf=len(checks) + 6),   # another ABI (e.g. int 0x80): deny
        _insn(_LD_ABS, 0),                             # the system call's number
        _insn(_JGE, X32_SYSCALL_BIT, jt=len(checks) + 4),  # x32 calls: deny
        _insn(_JEQ, nr_io_uring, jt=len(checks) + 3),  # io_uring_setup: deny
        _insn(_JEQ, nr_socket, jf=len(checks) + 1),    # socket(): check the family; else allow
        _insn(_LD_ABS, 16),                            # args[0], the address family
        *checks,
        allow,
        deny,
    ]
    return b"".join(program)
