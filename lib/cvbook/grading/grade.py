"""`cvbook grade`: autograde every submission of an assignment, in parallel, in a sandbox.

Design (why it is safe to run in parallel, and why nothing is lost or counted twice):

* Workers execute, the parent records. Each student is graded by a worker (a pool of
  `--jobs` forked processes) that runs nbgrader's autograde in a scratch course of its own (a copy of the
  gradebook, the student's submission), with nbgrader's Execute step replaced by
  `SandboxedExecute`: the notebook's cells run in the sandboxed kernel
  (cvbook.grading.sandbox: bubblewrap, an empty working folder, limits, the graded parts'
  references replaced by stand-ins), and each graded test cell runs in the worker itself
  (cvbook.grading.verdict), which asks the kernel only for what the student's code
  returns (both steps are in cvbook.grading.execution). A worker never touches the
  course's gradebook.
* The parent, alone, writes the course gradebook: for each finished worker it runs
  nbgrader's autograde in the course root with Execute replaced by `ReplayExecution`,
  which takes the outputs the worker produced. nbgrader's own sanitising (restoring
  locked test cells, de-duplicating cell ids) and SaveAutoGrades run unchanged, so a
  score is exactly what sequential `nbgrader autograde` would record, and re-running
  updates the same rows (force=True) instead of adding new ones.
* Anything that stops a notebook (time limit, kernel death, memory) turns the cells that
  did not run into errors, so they score zero: nbgrader gives full marks to a test cell
  without an error output, including one that never ran.

The per-student outcome (status, problems, references used, copies flagged, isolation, seconds) is
written to reports/grade/<assignment>.json in the course root.
"""

from __future__ import annotations

import contextlib
import copy
import json
import multiprocessing
import os
import shutil
import sqlite3
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from cvbook.files import atomic_write_text
from cvbook.grading import course, references as graded_refs, sandbox
from cvbook.grading.execution import KERNEL_NAME, ReplayExecution, SandboxedExecute, sanitizers
from cvbook.grading.sandbox import install_kernelspec

WORKER_OVERHEAD_S = 90  # kernel start and nbgrader bookkeeping, on top of the notebook's time limit
# A graded cell runs in seconds; an endless loop should cost a minute, not the notebook's whole limit.
DEFAULT_CELL_TIMEOUT_S = 60
NEEDS_REGRADE = "needs-regrade"  # the grader (not the notebook) failed twice: nothing recorded


# --------------------------------------------------------------------------- the worker


def _readable_notebooks(folder: Path) -> tuple[list[Path], list[str]]:
    good, problems = [], []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
            good.append(path)
        except Exception as err:  # noqa: BLE001 - any unreadable notebook is the student's problem, reported
            problems.append(f"{path.name}: not a valid notebook ({type(err).__name__}: {str(err)[:200]})")
    return good, problems


def copy_submission(src: Path, dest: Path, stand_ins: Path | None = None) -> list[str]:
    """Copy a submission folder without symlinks or unreadable notebooks; say what was left
    out. An unreadable notebook is replaced by its blank from `stand_ins` (the released
    exercise) when given, so that it is recorded with zero points instead of not at all."""
    if src.is_symlink():
        raise ValueError(f"{src} is a symbolic link, not a submission folder")
    _, problems = _readable_notebooks(src)
    bad = {p.split(":")[0] for p in problems}
    skipped = []

    def ignore(folder, names):
        out = {n for n in names if os.path.islink(os.path.join(folder, n))}
        skipped.extend(f"{n}: symbolic link, not copied" for n in sorted(out))
        if Path(folder) == src:
            out |= bad
        return out

    shutil.copytree(src, dest, ignore=ignore, dirs_exist_ok=True)
    for name in sorted(bad):
        if stand_ins is not None and (stand_ins / name).is_file():
            shutil.copy(stand_ins / name, dest / name)
            skipped.append(f"{name}: graded as a blank notebook")
    return problems + skipped


def run_worker(spec: dict) -> dict:
    """Grade one student in a scratch course (runs in its own process)."""
    start = time.perf_counter()
    main_root, scratch, student, assignment = (Path(spec["root"]), Path(spec["scratch"]),
                                               spec["student"], spec["assignment"])
    workdir, ipc_dir, jupyter = Path(spec["sandbox"]), Path(spec["ipc_dir"]), scratch / "jupyter"
    for d in (workdir, ipc_dir, jupyter / "kernels", scratch / "submitted"):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copy(spec["template_db"], scratch / "gradebook.db")
    source = main_root / "solutions" / assignment
    shutil.copytree(source, scratch / "solutions" / assignment, ignore=shutil.ignore_patterns("*.ipynb"),
                    dirs_exist_ok=True)
    problems = copy_submission(main_root / "submitted" / student / assignment,
                               scratch / "submitted" / student / assignment)
    # The kernel works in its own folder: the submission's other files, never a notebook
    # (the one being graded holds the hidden tests once nbgrader restored them).
    shutil.copytree(scratch / "submitted" / student / assignment, workdir,
                    ignore=shutil.ignore_patterns("*.ipynb", "timestamp.txt"), dirs_exist_ok=True)
    kernel_cfg = scratch / "kernel.json"
    cfg = sandbox.write_config(kernel_cfg, workdir=str(workdir), ipc_dir=str(ipc_dir), library=spec["library"],
                               memory_mb=spec["memory_mb"], cpu_s=int(spec["timeout"]) + 30,
                               unsandboxed=spec["unsandboxed"], preload=spec["preload"])
    sandbox.prepare_folders(cfg)
    install_kernelspec(jupyter / "kernels", kernel_cfg, KERNEL_NAME)
    os.environ["JUPYTER_PATH"] = str(jupyter)
    execute_report = scratch / "execute.json"
    config = course.course_config(main_root, scratch / "gradebook.db")
    config.CourseDirectory.root = str(scratch)
    config.Autograde.sanitize_preprocessors = sanitizers()
    config.Autograde.autograde_preprocessors = [SandboxedExecute]
    config.OverwriteCells.add_missing_cells = True
    config.SandboxedExecute.workdir = str(workdir)
    config.SandboxedExecute.ipc_dir = str(ipc_dir)
    config.SandboxedExecute.notebook_timeout = float(spec["timeout"])
    config.SandboxedExecute.timeout = int(spec["cell_timeout"])
    config.SandboxedExecute.report_file = str(execute_report)
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    with _quiet_gradebook():
        result = api.autograde(assignment, student, force=True, create=True)
    executed = json.loads(execute_report.read_text()) if execute_report.is_file() else {}
    # A notebook that is not valid JSON fails nbgrader here: the submission's fault, not the
    # grader's (the parent records it as a blank notebook, with zero points).
    unreadable = any(": not a valid notebook" in p for p in problems)
    return {"student": student, "ok": bool(result["success"]) or unreadable,
            "problems": problems + executed.get("problems", []),
            "references": executed.get("references", {}), "copies": _copies(scratch, student, assignment, spec),
            "isolation": "none (--unsandboxed)" if spec["unsandboxed"] else "bubblewrap",
            "log_tail": "" if result["success"] else _failure_log(result, ipc_dir),
            "seconds": time.perf_counter() - start}


def _failure_log(result: dict, ipc_dir: Path) -> str:
    """nbgrader's log and the kernel's own output, for the report when a notebook failed."""
    kernel_log = ipc_dir / "kernel.log"
    kernel = kernel_log.read_text(errors="replace")[-2000:] if kernel_log.is_file() else ""
    return ((result.get("log") or "") + (result.get("error") or ""))[-4000:] + "\n[kernel]\n" + kernel


def _copies(scratch: Path, student: str, assignment: str, spec: dict) -> list[str]:
    """Solution cells that repeat a graded reference's source (flagged, not scored)."""
    def solution_cells(nb) -> dict[str, str]:
        return {c.metadata["nbgrader"]["grade_id"]: course.solution_code(c) for c in nb.cells
                if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}

    flags = []
    for path in sorted((scratch / "submitted" / student / assignment).glob("*.ipynb")):
        source = Path(spec["root"]) / "solutions" / assignment / path.name
        ours = solution_cells(nbformat.read(source, as_version=4)) if source.is_file() else {}
        flags += graded_refs.flag_copies(solution_cells(nbformat.read(path, as_version=4)), spec["references"], ours)
    return flags


class _WorkerTimeout(BaseException):
    """Raised by SIGALRM in a worker; a BaseException so that no library swallows it."""


def _failure(student: str, why: str, seconds: float, log: str = "") -> dict:
    return {"student": student, "ok": False, "problems": [why], "references": {}, "copies": [], "isolation": "unknown",
            "log_tail": log, "seconds": seconds}


def _grade_in_worker(spec: dict, hard_limit: float) -> dict:
    """Pool task: one student, with a hard wall-clock limit (the kernel's own limits come first)."""
    import signal
    import traceback

    def on_alarm(signum, frame):
        raise _WorkerTimeout()

    start = time.perf_counter()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(hard_limit)))
    try:
        return run_worker(spec)
    except _WorkerTimeout:
        return _failure(spec["student"], f"grading stopped after {hard_limit:.0f} s", time.perf_counter() - start)
    except Exception:  # noqa: BLE001 - reported per student; the other students go on
        return _failure(spec["student"], "the grader failed on this submission", time.perf_counter() - start,
                        traceback.format_exc()[-2000:])
    finally:
        signal.alarm(0)


# --------------------------------------------------------------------------- the parent


@dataclass
class StudentResult:
    student: str
    status: str  # graded | graded-with-problems | needs-regrade
    score: float | None = None
    max_score: float | None = None
    problems: list[str] = field(default_factory=list)
    references: dict[str, list[str]] = field(default_factory=dict)  # test cell -> references its code called
    copies: list[str] = field(default_factory=list)  # solution cells that repeat a reference's source
    by_hand: list[str] = field(default_factory=list)  # answers in words awaiting a manual grade
    isolation: str = "unknown"
    log: str = ""  # the end of the grader's log or traceback, when something failed
    seconds: float = 0.0


def _record(api_config, run_dir: Path, assignment: str, student: str, root: Path) -> tuple[bool, str]:
    """Write one student's scores into the course gradebook (parent process only)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    staging = run_dir / "staging"
    dest = staging / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    copy_submission(root / "submitted" / student / assignment, dest, root / "exercises" / assignment)
    config = copy.deepcopy(api_config)
    config.CourseDirectory.submitted_directory = str(staging)
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)

    config.Autograde.autograde_preprocessors = [ReplayExecution, IgnorePattern, ClearMetadataPreprocessor,
                                                LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                                CheckCellMetadata]
    config.Autograde.sanitize_preprocessors = sanitizers()
    config.OverwriteCells.add_missing_cells = True
    config.ReplayExecution.executed_dir = str(run_dir / "scratch" / student / "autograded" / student / assignment)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    with _quiet_gradebook():
        result = api.autograde(assignment, student, force=True, create=True)
    return bool(result["success"]), (result.get("error") or result.get("log") or "")[-2000:]


@contextlib.contextmanager
def _quiet_gradebook():
    """nbgrader's gradebook makes SQLAlchemy warn about its own bookkeeping on every
    submission: noise the instructor can do nothing about."""
    import warnings

    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def _last_line(log: str) -> str:
    """The gist of an nbgrader log or traceback: its last line that says something."""
    lines = [l.strip() for l in log.splitlines() if l.strip() and not set(l.strip()) <= set("=-^~")]
    return lines[-1][:300] if lines else "(no log)"


def find_students(root: Path, assignment: str) -> list[str]:
    submitted = root / "submitted"
    if not submitted.is_dir():
        raise FileNotFoundError(f"{submitted} does not exist: collect submissions into submitted/<student>/{assignment}/")
    return sorted(d.name for d in submitted.iterdir() if (d / assignment).is_dir())


def _check_assignment(root: Path, assignment: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    db = root / "gradebook.db"
    if not db.is_file():
        raise FileNotFoundError(f"{db} does not exist: release the assignment first (`make release`)")
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"assignment {assignment!r} is not in {db}: release it first (`make release`)") from None


def grade_assignment(assignment: str, root: Path | str | None = None, jobs: int = 2, timeout: float = 300,
                     cell_timeout: float | None = None, memory_mb: int | None = 2048,
                     students: list[str] | None = None, unsandboxed: bool = False) -> list[StudentResult]:
    """Autograde submitted/<student>/<assignment> for every student (or `students`).

    Refuses to start (sandbox.SandboxUnavailable) when the sandbox cannot be built here,
    unless `unsandboxed`; then every result says so in its `isolation`."""
    root = course.course_root(root)
    if jobs < 1 or timeout <= 0:
        raise ValueError(f"jobs must be >= 1 and timeout > 0, got jobs={jobs}, timeout={timeout}")
    _check_assignment(root, assignment)
    from cvbook.grading import late

    late.policy(root)  # a bad late-work setting stops here, before any notebook runs
    if not unsandboxed:
        sandbox.check()
    notebooks = sorted((root / "solutions" / assignment).glob("*.ipynb"))
    references = [name for notebook in notebooks for name in graded_refs.graded_references(notebook)]
    preload = sandbox.modules_to_preload(notebooks)
    students = find_students(root, assignment) if students is None else students
    run_dir = Path(tempfile.mkdtemp(prefix="cvbook-grade-"))
    results: dict[str, StudentResult] = {}
    temp_dirs: list[str] = []

    def spec_for(student: str) -> dict:
        scratch = run_dir / "scratch" / student
        shutil.rmtree(scratch, ignore_errors=True)  # a retry starts from nothing
        temp_dirs.extend([tempfile.mkdtemp(prefix="cvbook-sandbox-"), tempfile.mkdtemp(prefix="cvb-")])
        return {"root": str(root), "scratch": str(scratch), "student": student, "assignment": assignment,
                "sandbox": temp_dirs[-2], "ipc_dir": temp_dirs[-1], "library": str(library),
                "references": references, "preload": preload, "unsandboxed": unsandboxed, "run_dir": str(run_dir),
                "template_db": str(template), "timeout": timeout,
                "cell_timeout": cell_timeout or min(timeout, DEFAULT_CELL_TIMEOUT_S), "memory_mb": memory_mb}

    try:
        template = run_dir / "template.db"
        with sqlite3.connect(root / "gradebook.db") as src, sqlite3.connect(template) as dst:
            src.backup(dst)  # a consistent copy, even if someone reads the gradebook meanwhile
        config = course.course_config(root)
        (run_dir / "scratch").mkdir()
        library = graded_refs.library_without(references, run_dir / "library")
        hard_limit = timeout + WORKER_OVERHEAD_S
        # A submission the grader itself failed on (a worker crash, an nbgrader exception, the
        # grader's own time limit; never the notebook's) is graded once more, alone in a fresh
        # pool; if that fails too it is marked "needs-regrade", never recorded as a zero.
        first_attempts: dict[str, dict] = {}
        for attempt, batch in enumerate((students, None)):
            if batch is None:
                batch = [s for s, out in first_attempts.items() if not out["ok"]]
            for spec, out in _run_pool([spec_for(s) for s in batch], jobs, hard_limit):
                student = spec["student"]
                if attempt == 0 and not out["ok"]:
                    first_attempts[student] = out
                    continue
                first_attempts.setdefault(student, out)
                earlier = first_attempts[student] if attempt else None
                results[student] = _finish(out, earlier, config, run_dir, assignment, root, unsandboxed)
    finally:  # also when interrupted: no scratch copy of a gradebook or submission is left behind
        shutil.rmtree(run_dir, ignore_errors=True)
        for folder in temp_dirs:
            shutil.rmtree(folder, ignore_errors=True)
    final = course.scores(root, assignment)
    for student, res in results.items():
        if student in final and res.status != NEEDS_REGRADE:
            res.score, res.max_score = final[student]["score"], final[student]["max_score"]
            res.by_hand = sorted(cell for cell, waits in final[student]["manual"].items() if waits)
    ordered = [results[s] for s in students]
    write_report(root, assignment, ordered, limits={
        "notebook_s": timeout, "cell_s": cell_timeout or min(timeout, DEFAULT_CELL_TIMEOUT_S),
        "memory_mb": memory_mb, "sandbox": "none (--unsandboxed)" if unsandboxed else "bubblewrap"})
    return ordered


def _run_pool(specs: list[dict], jobs: int, hard_limit: float):
    """Yield (spec, outcome) as workers finish. Forked workers start with nbgrader already
    imported (seconds of CPU each, otherwise); not torch: each worker imports it while its
    first kernel starts, in parallel."""
    if not specs:
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(_grade_in_worker, spec, hard_limit): spec for spec in specs}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                out = future.result()
            except Exception as err:  # noqa: BLE001 - a worker process died: report, go on
                out = _failure(spec["student"], f"the grader process died ({type(err).__name__}: {err})", 0.0)
            shutil.rmtree(spec["sandbox"], ignore_errors=True)
            shutil.rmtree(spec["ipc_dir"], ignore_errors=True)
            yield spec, out


def _finish(out: dict, earlier: dict | None, config, run_dir: Path, assignment: str, root: Path,
            unsandboxed: bool) -> StudentResult:
    """Record one student's outcome in the course gradebook (parent only: one writer) and say
    what the instructor should know. `earlier`: the failed first attempt, if this is a retry."""
    student = out["student"]
    history = f"[first attempt]\n{earlier['log_tail']}\n[second attempt]\n" if earlier else ""
    if not out["ok"]:
        why = _last_line(out["log_tail"]) if out["log_tail"] else "; ".join(out["problems"])
        return StudentResult(
            student, NEEDS_REGRADE, isolation=out["isolation"], seconds=round(out["seconds"], 2),
            problems=[f"not graded, nothing recorded: the grader failed twice; run `cvbook grade {assignment} "
                      f"--student {student}` again ({why}; the report keeps both logs)"],
            log=(history + out["log_tail"])[-8000:])
    try:
        recorded, log = _record(config, run_dir, assignment, student, root)
    except Exception:  # noqa: BLE001 - this student is reported, the others go on
        import traceback

        recorded, log = False, traceback.format_exc()
    problems = list(out["problems"])
    for test, refs in sorted(out["references"].items()):
        problems.append(f"{test}: used the library's answer {', '.join(refs)}: no points for this part")
    if unsandboxed:
        problems.append("graded WITHOUT the sandbox (--unsandboxed): the kernel could read and change course files")
    if earlier:
        problems.append("graded on the second attempt: the grader failed once (" + _last_line(earlier["log_tail"])
                        + "); the first attempt's log is kept in the report")
    if not recorded:
        problems.append("nbgrader could not record this submission: " + _last_line(log))
    status = NEEDS_REGRADE if not recorded else ("graded-with-problems" if problems else "graded")
    return StudentResult(student, status, problems=problems, references=out["references"], copies=out["copies"],
                         isolation=out["isolation"], seconds=round(out["seconds"], 2),
                         log=(history + out["log_tail"] + ("\n" + log if not recorded else ""))[-8000:])


def report_path(root: Path | str, assignment: str) -> Path:
    return Path(root) / "reports" / "grade" / f"{assignment}.json"


def write_report(root: Path, assignment: str, results: list[StudentResult], limits: dict | None = None) -> Path:
    """Update reports/grade/<assignment>.json: the students just graded replace their entries,
    everyone else's entry is kept (regrading one student must not erase the class). `limits`:
    the time, memory and isolation the latest run graded under."""
    path = report_path(root, assignment)
    entries = {}
    if path.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            entries = {e["student"]: e for e in json.loads(path.read_text())["students"]}
    entries.update({r.student: asdict(r) for r in results})
    report = {"assignment": assignment, "limits": limits or {},
              "students": [entries[s] for s in sorted(entries)]}
    atomic_write_text(path, json.dumps(report, indent=1))
    return path
