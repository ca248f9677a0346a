"""The grading kernel's sandbox: bubblewrap, an allow-list of what the kernel may see.

`cvbook grade` starts each student's kernel through the kernelspec that
`install_kernelspec` writes: `python -m cvbook.grading.sandbox launch CONFIG -f FILE`.
`launch` (the grader's side) builds a bubblewrap (`bwrap`) command and replaces itself
with it. Inside, the kernel sees only:

* the system's read-only files (/usr, /etc, the Python installation and the course's
  environment), the dataset folder, and the course library with the graded parts'
  references replaced by stand-ins (cvbook.grading.references);
* its own writable working folder (the submission's files, never a notebook), a private
  /tmp and /dev/shm of limited size, and the folder of its Jupyter sockets.

Course files (gradebook, solutions, source, other students, .git, the grader's scratch
folders) are simply not there. The kernel has its own PID, IPC, UTS and network
namespaces (no network; its loopback reaches nothing but itself), its own /proc, no
capabilities (it cannot mount or unmount), and runs as an unprivileged user of its own
when the grader is root. Limits: memory, processes, file size, CPU time. When the
kernel ends, bubblewrap ends, and the PID namespace takes every process it started
with it (`--die-with-parent` covers the grader dying).

`init` runs inside, before any student code: limits, the unprivileged user, a clean
environment, then the IPython kernel. If the sandbox cannot be built, `check()` says
why and what to install, and `cvbook grade` stops before running any notebook;
`--unsandboxed` runs kernels with the limits only, and every grade is marked so.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

from cvbook.grading import seccomp

FILE_SIZE_LIMIT = 256 << 20  # bytes one file may grow to
OUTPUT_LIMIT = 1 << 20  # characters of output one cell may print
TMP_SIZE = 256 << 20  # bytes of the private /tmp and /dev/shm
PROCESS_ALLOWANCE = 64  # processes and threads the kernel may add
PRELOADABLE = ("numpy", "torch", "torchvision")  # in this order: each imports the one before
UID_BASE = 1_000_000  # kernels run as UID_BASE + the grading worker's pid when the grader is root


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be built on this machine; the message says what to do."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap") or (os.path.exists("/usr/bin/bwrap") and "/usr/bin/bwrap") or None


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]


def bwrap_command(cfg: dict, inner: list[str]) -> list[str]:
    """The bubblewrap command line for `cfg` (see `write_config`), running `inner`."""
    cmd = [bwrap_path() or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "grader",
           "--cap-drop", "ALL"]
    if os.geteuid() == 0:  # init needs these two to become the kernel's own user; it then has none
        cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user", "--disable-userns"]
    cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "lib", "lib32", "lib64", "libx32", "sbin"):
        if os.path.islink(f"/{link}"):
            cmd += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            cmd += ["--ro-bind", f"/{link}", f"/{link}"]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(TMP_SIZE), "--perms", "1777", "--tmpfs", "/tmp",
            "--size", str(TMP_SIZE), "--perms", "1777", "--tmpfs", "/dev/shm"]
    if os.path.isdir("/sys/devices/system/cpu"):  # torch reads the CPU's topology
        cmd += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    binds = [(p, p, "ro") for p in cfg["read_only"]] + [(cfg["library"], cfg["package_dir"], "ro")]
    binds += [(src, dest, "ro") for dest, src in cfg.get("data", {}).items()]
    binds += [(cfg["workdir"], cfg["workdir"], "rw"), (cfg["ipc_dir"], cfg["ipc_dir"], "rw")]
    made: set[str] = {"/", "/usr", "/etc", "/tmp", "/dev", "/proc"}
    for _, dest, _ in binds:  # parents that bubblewrap would otherwise create as 0700, unreadable
        for parent in _parents(dest):
            if parent not in made:
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", parent]
    for src, dest, mode in binds:
        cmd += ["--ro-bind" if mode == "ro" else "--bind", src, dest]
    cmd += ["--chdir", cfg["workdir"], "--clearenv"]
    for key, value in kernel_environment(cfg).items():
        cmd += ["--setenv", key, value]
    return cmd + inner


def kernel_environment(cfg: dict) -> dict[str, str]:
    home = os.path.join(cfg["workdir"], ".home")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": "/tmp",
           "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "IPYTHONDIR": os.path.join(home, ".ipython"),
           "MPLCONFIGDIR": os.path.join(home, ".mpl"), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "NBGRADER_EXECUTION": "autograde", "JUPYTER_RUNTIME_DIR": cfg["ipc_dir"]}
    if cfg.get("data"):
        env["CVBOOK_DATA"] = "/data"
    return env


def write_config(path: Path | str, *, workdir: str, ipc_dir: str, library: str, memory_mb: int | None,
                 cpu_s: int | None, unsandboxed: bool = False, preload: list[str] = ()) -> dict:
    """The kernel's sandbox settings, as `launch` reads them. `preload`: modules the kernel
    imports before it starts (see `modules_to_preload`)."""
    import cvbook
    from cvbook.data.locate import find_dataset_dir

    read_only = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    data = {}
    found = find_dataset_dir("fashion-mnist", required=False)  # the exercises' dataset, read-only
    if found is not None:
        data["/data/fashion-mnist"] = str(Path(found).resolve())
    cfg = {"workdir": workdir, "ipc_dir": ipc_dir, "library": library,
           "package_dir": str(Path(cvbook.__file__).resolve().parent), "read_only": read_only, "data": data,
           "memory_mb": memory_mb, "cpu_s": cpu_s, "unsandboxed": unsandboxed, "preload": list(preload),
           "uid": UID_BASE + os.getpid() if os.geteuid() == 0 else None}
    Path(path).write_text(json.dumps(cfg, indent=1))
    return cfg


def modules_to_preload(notebooks: list[Path]) -> list[str]:
    """Which of the slow-to-import libraries (PRELOADABLE) these notebooks' code imports."""
    import ast

    import nbformat

    used = set()
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    used.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    used.add(node.module.split(".")[0])
    if "cvbook" in used:
        used.add("torch")  # the library imports it
    return [m for m in PRELOADABLE if m in used]


def prepare_folders(cfg: dict) -> None:
    """The kernel's user owns its working folder and socket folder, and nothing else."""
    for folder in (cfg["workdir"], cfg["ipc_dir"]):
        os.makedirs(folder, exist_ok=True)
        if cfg.get("uid") is not None:
            for dirpath, dirnames, filenames in os.walk(folder):
                for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                    os.lchown(name, cfg["uid"], cfg["uid"])
        os.chmod(folder, 0o711)  # bubblewrap (root without capabilities) must enter it; nobody may list it


def _process_limit(uid: int | None) -> int:
    """The kernel's own processes and threads, plus what the grader's user already runs
    when the kernel shares its user (the limit counts every process of a user)."""
    if uid is not None:
        return PROCESS_ALLOWANCE
    me, tasks = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == me:
                    tasks += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
    return tasks + PROCESS_ALLOWANCE


def check(timeout: float = 30) -> None:
    """Raise SandboxUnavailable, saying why and what to do, if bubblewrap cannot run here."""
    if bwrap_path() is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed: install it (Debian/Ubuntu: `sudo apt-get install bubblewrap`; "
            "`make setup` does it), or grade with --unsandboxed and accept unisolated kernels")
    probe = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent", "--ro-bind", "/usr", "/usr",
             "--proc", "/proc", "--dev", "/dev"]
    if os.geteuid() != 0:
        probe = ["--unshare-user"] + probe
    for link in ("bin", "lib", "lib64"):
        if os.path.islink(f"/{link}"):
            probe += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            probe += ["--ro-bind", f"/{link}", f"/{link}"]
    try:
        proc = subprocess.run([bwrap_path(), *probe, "true"], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SandboxUnavailable(f"bubblewrap could not be started: {err}") from None
    if proc.returncode != 0:
        hint = ("enable unprivileged user namespaces (`sudo sysctl kernel.unprivileged_userns_clone=1`, "
                "or in a container allow them), or run the grader as root" if os.geteuid() != 0 else
                "the machine (or its container) forbids new namespaces; allow them")
        raise SandboxUnavailable(f"bubblewrap cannot build a sandbox here ({proc.stderr.strip()[:300]}): {hint}; "
                                 "or grade with --unsandboxed and accept unisolated kernels")


def launch(config_file: str, connection_file: str) -> None:
    """(The grader's side.) Replace this process with the sandboxed kernel."""
    cfg = json.loads(Path(config_file).read_text())
    inner = [sys.executable, "-m", "cvbook.grading.sandbox", "init", config_file, "-f", connection_file]
    log = os.open(os.path.join(cfg["ipc_dir"], "kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if cfg.get("unsandboxed"):
        os.chdir(cfg["workdir"])
        os.execve(sys.executable, inner, {**os.environ, **kernel_environment(cfg), "CVBOOK_UNSANDBOXED": "1"})
    # The sandbox reads its config from inside: put a copy where it can be read.
    inside = os.path.join(cfg["ipc_dir"], "sandbox.json")
    Path(inside).write_text(json.dumps(cfg))
    inner[4] = inside
    if cfg.get("uid") is not None:  # the kernel's user reads the connection file (0600, written by root)
        os.chown(connection_file, cfg["uid"], cfg["uid"])
    command = bwrap_command(cfg, inner)
    program = seccomp.no_network_filter()
    if program is not None:
        fd = os.memfd_create("cvbook-seccomp", 0)  # inherited by bubblewrap, which reads it
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
        os.set_inheritable(fd, True)
        command[1:1] = ["--seccomp", str(fd)]
    os.execv(bwrap_path(), command)


def init(config_file: str, connection_file: str) -> None:
    """(Inside the sandbox.) Limits, the kernel's own user, then the IPython kernel."""
    cfg = json.loads(Path(config_file).read_text())
    if cfg.get("memory_mb"):
        limit = int(cfg["memory_mb"]) << 20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    if cfg.get("cpu_s"):
        resource.setrlimit(resource.RLIMIT_CPU, (int(cfg["cpu_s"]), int(cfg["cpu_s"]) + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = _process_limit(cfg.get("uid") if os.geteuid() == 0 else None)
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    if os.geteuid() == 0 and cfg.get("uid") is not None and not cfg.get("unsandboxed"):
        os.setgroups([])
        os.setgid(int(cfg["uid"]))
        os.setuid(int(cfg["uid"]))  # every capability goes with root
    os.makedirs(os.environ.get("HOME", cfg["workdir"]), exist_ok=True)
    # Import the heavy modules the notebook uses while the kernel starts, so that no cell's
    # time limit is spent on seconds of importing (more on a busy machine).
    for module in cfg.get("preload", []):
        importlib.import_module(module)
    from ipykernel.kernelapp import IPKernelApp

    sys.argv = [sys.argv[0]]
    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file, "--HistoryManager.hist_file=:memory:"])
    _cap_output(app.shell)
    app.start()


def _cap_output(shell, limit: int = OUTPUT_LIMIT) -> None:
    """At most `limit` characters of printed output per cell leave the kernel: a print loop
    must not flood the grader (which also cuts what it receives)."""
    written = {"n": 0}
    shell.events.register("pre_execute", lambda: written.update(n=0))
    for stream in (sys.stdout, sys.stderr):
        original = stream.write

        def write(text, original=original):
            before = written["n"]
            written["n"] += len(text)
            if written["n"] <= limit:
                return original(text)
            if before <= limit:
                original(text[: max(0, limit - before)] + f"\n[output cut: more than {limit:,} characters]\n")
            return len(text)

        stream.write = write


def install_kernelspec(kernels_dir: Path | str, config_file: Path | str, name: str = "cvbook-grader") -> str:
    """Write a kernelspec `name` under kernels_dir (a JUPYTER_PATH/kernels folder)."""
    spec_dir = Path(kernels_dir) / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "cvbook.grading.sandbox", "launch", str(config_file),
                     "-f", "{connection_file}"],
            "display_name": "cvbook grader (sandboxed)", "language": "python",
            # An interrupt travels as a message: a signal would reach bubblewrap, not the kernel.
            "interrupt_mode": "message"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return name


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) != 4 or argv[0] not in ("launch", "init") or argv[2] != "-f":
        raise SystemExit("usage: python -m cvbook.grading.sandbox launch|init CONFIG -f CONNECTION_FILE")
    (launch if argv[0] == "launch" else init)(argv[1], argv[3])


if __name__ == "__main__":
    main()
