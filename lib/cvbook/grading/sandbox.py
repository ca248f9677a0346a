"""The grading kernel: an IPython kernel started inside limits, for running one
student's notebook.

Launched by the kernelspec that `install_kernelspec` writes, as
`python -m cvbook.grading.sandbox --config FILE -f CONNECTION_FILE`. Before the kernel
runs any student code it:

* makes the whole filesystem read-only except its working folder, and hides the
  course's secrets (gradebook, solutions, other students' work, the grader's scratch
  folders, /tmp) behind empty tmpfs mounts, in a private mount namespace (Linux; unprivileged through a user namespace), so a notebook
  can neither read hidden tests from disk nor write outside its own working folder;
* caps its memory (RLIMIT_DATA: allocations past it raise MemoryError), file sizes and
  CPU time, and dies with its parent (the grader) so a runaway kernel never outlives it;
* starts from a scrubbed environment (no paths into the course, one thread per kernel);
* snapshots the modules that tests rely on (cvbook's checks, torch, numpy, builtins),
  so that `guard.restore()` can undo monkeypatching before each test cell.

The config file is JSON: {"workdir", "memory_mb", "cpu_s", "hide": [...], "status_file", "log_file"}. What isolation was achieved is written to
status_file before any student code runs (the file is out of the kernel's reach).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
FILE_SIZE_LIMIT = 256 << 20  # bytes one file may grow to
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "NBGRADER_EXECUTION", "SYSTEMROOT")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _enter_private_namespace() -> None:
    """A mount namespace of our own; through a user namespace when not root."""
    uid, gid = os.geteuid(), os.getegid()
    if uid == 0:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    else:
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare(CLONE_NEWUSER|CLONE_NEWNS)")
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    # Mounts made from here on must not propagate back to the host.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


# Per-mount options that a user namespace may not drop ("locked"): kept when remounting.
_KEEP_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": 8, "noatime": 1024, "nodiratime": 2048,
                 "relatime": 1 << 21}


def _mount_points() -> list[tuple[str, int]]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = fields[4].replace("\\040", " ")
        flags = sum(_KEEP_OPTIONS.get(o, 0) for o in fields[5].split(","))
        if not point.startswith(("/proc", "/sys", "/dev")):
            points.append((point, flags))
    return points


def isolate_filesystem(workdir: str, hide: list[str], keep: list[str]) -> list[str]:
    """(Inside a private mount namespace.) Make the whole filesystem read-only, cover each
    path of `hide` with an empty tmpfs (or /dev/null for a file), and give back a
    writable `workdir` and the files of `keep` (e.g. the kernel's connection file).
    Returns the mount points that could not be made read-only."""
    kept = {p: Path(p).read_bytes() for p in keep if Path(p).is_file()}
    # Opened inside the new namespace: a bind source must belong to the caller's namespace.
    work_fd = os.open(workdir, os.O_PATH | os.O_DIRECTORY)
    writable = []
    for point, flags in _mount_points():
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            writable.append(point)
    for path in hide:
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
        elif os.path.isfile(path):
            _mount("/dev/null", path, None, MS_BIND)
            # Read-only too: writes to a hidden file must fail, not vanish into /dev/null.
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    # The working folder may have been covered by a hidden parent: bind it back, writable.
    os.makedirs(workdir, exist_ok=True)
    _mount(f"/proc/self/fd/{work_fd}", workdir, None, MS_BIND)
    _mount(None, workdir, None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV)  # a bind copies "read-only"
    os.close(work_fd)
    for path, data in kept.items():
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).write_bytes(data)
    os.chdir(workdir)
    return writable


def namespaces_available() -> bool:
    """Whether this machine lets the grader isolate kernels (tried in a throwaway child)."""
    pid = os.fork()
    if pid == 0:
        try:
            _enter_private_namespace()
            os._exit(0)
        except BaseException:  # noqa: BLE001 - the child only reports success or failure
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def apply_limits(memory_mb: int | None, cpu_s: int | None) -> None:
    if memory_mb:
        limit = int(memory_mb) << 20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    if cpu_s:
        resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Die with the grader: a kernel stuck in C code must not outlive a killed worker.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def scrub_environment(workdir: str) -> None:
    kept = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    os.environ.clear()
    os.environ.update(kept)
    private = os.path.join(workdir, ".kernel-home")
    os.makedirs(private, exist_ok=True)
    os.environ.update({
        "HOME": private, "TMPDIR": private, "IPYTHONDIR": os.path.join(private, ".ipython"),
        "MPLCONFIGDIR": os.path.join(private, ".mpl"), "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--config" not in argv or "-f" not in argv:
        raise SystemExit("usage: python -m cvbook.grading.sandbox --config FILE -f CONNECTION_FILE")
    config_path = argv[argv.index("--config") + 1]
    connection_file = os.path.abspath(argv[argv.index("-f") + 1])
    cfg = json.loads(Path(config_path).read_text())
    workdir = cfg["workdir"]
    status = {"isolation": "none", "isolation_error": None}
    # Opened now, written once isolated: the file itself is hidden from the kernel by then.
    status_fh = open(cfg["status_file"], "w") if cfg.get("status_file") else None
    if cfg.get("log_file"):  # the kernel's own stdout/stderr (not the notebook's outputs) go to a log
        log_fd = os.open(cfg["log_file"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
    try:
        _enter_private_namespace()
    except OSError as err:  # no namespaces here (container policy, old kernel): limits still apply
        status["isolation_error"] = str(err)
        os.chdir(workdir)
    else:
        # Past this point a failure is fatal: a half-isolated kernel must not run student code.
        writable = isolate_filesystem(workdir, cfg.get("hide", []), [connection_file])
        status["isolation"] = "mount-namespace"
        if writable:
            status["isolation"] += f" (still writable: {', '.join(writable)})"
    # Written before student code runs; with isolation on, the file is hidden from it afterwards.
    if status_fh is not None:
        status_fh.write(json.dumps(status))
        status_fh.close()
    scrub_environment(workdir)
    apply_limits(cfg.get("memory_mb"), cfg.get("cpu_s"))
    from cvbook.grading import guard

    guard.snapshot_modules()
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [sys.argv[0]]
    app = IPKernelApp.instance()
    app.initialize([
        "-f", connection_file, "--HistoryManager.hist_file=:memory:",
        "--IPKernelApp.exec_lines=['__import__(\"cvbook.grading.guard\").grading.guard.snapshot_shell()']",
    ])
    guard.hook_kernel(app.kernel)
    app.start()


def install_kernelspec(kernels_dir: Path | str, config_file: Path | str, name: str = "cvbook-grader") -> str:
    """Write a kernelspec `name` under kernels_dir (a JUPYTER_PATH/kernels folder)."""
    spec_dir = Path(kernels_dir) / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "cvbook.grading.sandbox", "--config", str(config_file),
                     "-f", "{connection_file}"],
            "display_name": "cvbook grader (sandboxed)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return name


if __name__ == "__main__":
    main()
