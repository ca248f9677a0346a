"""Hostile and broken submissions, graded in one `cvbook grade` run of the toy assignment.

For each: the student gets exactly the score their honest parts earn (worked out below
from what each test cell checks), the grader moves on, the honest student's result is
untouched, the course's files are unchanged, nothing the kernel started outlives it, and
the report tells the instructor what happened. Cheats that use the course library's
references are tried on a real assignment in test_grading_cheats.py."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from pathlib import Path

import nbformat
import pytest

from cvbook.grading import grade, sandbox
import toy_course as toy

pytestmark = pytest.mark.slow

RIGHT = {"double": 2, "square": 1, "total": 3}  # points of each part's test cell
WRONG_DOUBLE = "def double(x):\n    return 3 * x"
WRONG_SQUARE = "def square(x):\n    return x + x"  # same shape and dtype: only the values differ
WRONG_TOTAL = "def total(xs):\n    return 0.0"

# student -> (answers per solution cell, the parts whose tests must pass)
HOSTILE = {
    "honest": ({}, {"double", "square", "total"}),
    "infinite_loop": ({"double": "while True:\n    pass\ndef double(x):\n    return 2 * x"}, {"square", "total"}),
    "loop_in_function": ({"square": "def square(x):\n    while True:\n        pass"}, {"double", "total"}),
    "ignores_interrupt": ({"total": "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"},
                          {"double", "square"}),
    "os_exit": ({"square": "import os\nos._exit(3)"}, {"double"}),
    "segfault": ({"total": "import ctypes\nctypes.string_at(0)"}, {"double", "square"}),
    "memory_hog": ({"square": "def square(x):\n    hog = bytearray(8 << 30)\n    return x * x"}, {"double", "total"}),
    "prints_fake_pass": ({"double": WRONG_DOUBLE + "\nprint('All tests passed! 6/6')",
                          "square": WRONG_SQUARE + "\nprint('test_square passed')"}, {"total"}),
    "replaces_exception_handling": ({"double": WRONG_DOUBLE + "\nget_ipython().set_custom_exc((BaseException,), "
                                                              "lambda *a, **k: None)"}, {"square", "total"}),
    "replaces_execute": ({"total": WRONG_TOTAL + "\nip = get_ipython()\nip.run_cell = lambda *a, **k: None\n"
                                                 "ip.kernel.do_execute = lambda *a, **k: {'status': 'ok'}"},
                         {"double", "square"}),
    # A harness that answers the public test's question itself: the hidden checks still fail.
    "fake_harness": ({"double": "import cvbook.grading.harness as h, json, socket\n"
                                "def fake(path):\n    s = socket.socket(socket.AF_UNIX); s.connect(path)\n"
                                "    while json.loads(h.recv_frame(s)).get('op') != 'done':\n"
                                "        h.send_frame(s, json.dumps({'ok': True, 'value': 4}).encode())\n"
                                "h.serve = fake"}, set()),
    # Warnings and other stderr from correct code: nbgrader alone would score the test 0.
    "writes_to_stderr": ({"total": "import sys, warnings\ndef total(xs):\n    warnings.warn('total: a slow path')\n"
                                   "    print('debug', file=sys.stderr)\n    return float(np.sum(xs))"},
                         {"double", "square", "total"}),
    "prints_500_mb": ({"double": "def double(x):\n    return 2 * x\nfor _ in range(500):\n    print('x' * (1 << 20))"},
                      {"double", "square", "total"}),
    "monkeypatches": ({
        "double": WRONG_DOUBLE + "\nimport cvbook.grading.checks as c\nc.check_equal = lambda *a, **k: None\n"
                                 "check_equal = lambda *a, **k: None",
        "square": WRONG_SQUARE + "\nimport torch\ntorch.allclose = lambda *a, **k: True\n"
                                 "check_tensor = lambda *a, **k: None",
        "total": WRONG_TOTAL + "\nimport numpy, sys, types\nnumpy.allclose = lambda *a, **k: True\n"
                               "sys.modules['cvbook.grading.checks'] = types.SimpleNamespace(check_close=lambda *a, **k: None)\n"
                               "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"}, set()),
    # Its own later cells become `pass`: their functions are never defined, so they earn nothing.
    "input_transformer": ({"double": WRONG_DOUBLE + "\nget_ipython().input_transformers_cleanup.append("
                                                    "lambda lines: ['pass\\n'])"}, set()),
}


ESCAPES = """import ctypes, json, os, socket, subprocess, sys
report = {}
libc = ctypes.CDLL(None, use_errno=True)
mounts = [line.split()[4] for line in open('/proc/self/mountinfo')]
report['unmounted'] = [m for m in reversed(mounts) if libc.umount2(m.encode(), 2) == 0]
report['remounted'] = libc.mount(None, b'/', None, 32 | 4096, None) == 0
found = []
for base in ['', '/proc/1/root', '/proc/%d/root' % os.getppid()]:
    for t in ['/gradebook.db', '/solutions/toy/functions.ipynb', '/.git/config']:
        try:
            found.append(open(base + __ROOT__ + t, errors='ignore').read())
        except OSError:
            pass
report['leaked'] = any('hidden_probe_7919' in t or 'git_secret_4111' in t for t in found)
for key, family, address in (('socket', socket.AF_INET, ('127.0.0.1', __PORT__)), ('socket6', socket.AF_INET6, ('::1', __PORT__))):
    try:
        socket.socket(family).connect(address)
        report[key] = 'connected'
    except OSError as e:
        report[key] = type(e).__name__
try:
    open('/dev/shm/cvbook_shm_7411', 'w').write('x')
    report['shm'] = 'written'
except OSError as e:
    report['shm'] = type(e).__name__
subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(20)  # setsid_marker_5153'], start_new_session=True)
for name in ['other.ipynb', 'gradebook_link.db']:
    try:
        open(name).read()
        report[name] = 'read'
    except OSError as e:
        report[name] = type(e).__name__
print('REPORT', json.dumps(report))
def double(x):
    return 2 * x"""
FORK_BOMB = """import os
children = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.execv('/bin/sh', ['sh', '-c', 'sleep 60; : fork_marker_6131'])
    children += 1
print('FORKED', children)
def total(xs):
    return float(np.sum(xs))"""
graded_listener: list = []


def _hash_tree(root) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("solutions", "exercises", "submitted") for p in sorted((root / sub).rglob("*")) if p.is_file()}


def _edit(path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = toy.make_course(tmp_path_factory.mktemp("hostile"))
    for student, (answers, _) in HOSTILE.items():
        toy.submit(root, student, answers or None)
    # Reads hidden tests (gradebook, source notebook, its own restored notebook) and writes
    # outside its folder (gradebook, solutions, another student's submission, the course root, /).
    snoop_code = (
        "import glob, os\nfound, written = [], []\n"
        f"for p in [{str(root / 'gradebook.db')!r}, {str(root / 'solutions' / 'toy' / 'functions.ipynb')!r},"
        f" {str(root / 'autograded')!r}, '../functions.ipynb', 'functions.ipynb']"
        " + glob.glob('/tmp/**/*.db', recursive=True) + glob.glob('/tmp/**/*.ipynb', recursive=True):\n"
        "    try:\n        found.append(open(p, errors='ignore').read())\n    except OSError:\n        pass\n"
        f"print('LEAKED' if any({toy.HIDDEN_MARKER!r} in t for t in found) else 'nothing found')\n"
        f"for p in [{str(root / 'gradebook.db')!r}, {str(root / 'solutions' / 'toy' / 'functions.ipynb')!r},"
        f" {str(root / 'submitted' / 'honest' / 'toy' / 'functions.ipynb')!r}, {str(root / 'evil.txt')!r},"
        " '../../evil.txt', '/evil.txt']:\n"
        "    try:\n        open(p, 'w').write('overwritten')\n        written.append(p)\n    except OSError:\n        pass\n"
        "print('wrote', written)\n"
        "def double(x):\n    return 2 * x")
    toy.submit(root, "snoops", {"double": snoop_code})
    graded_listener[:] = [socket.socket(socket.AF_INET, socket.SOCK_STREAM)]
    graded_listener[0].bind(("127.0.0.1", 0))
    graded_listener[0].listen(1)
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n# git_secret_4111\n")
    escape_code = ESCAPES.replace("__ROOT__", repr(str(root))).replace("__PORT__", str(graded_listener[0].getsockname()[1]))
    folder = toy.submit(root, "escapes", {"double": escape_code}).parent
    os.symlink(root / "submitted" / "honest" / "toy" / toy.NOTEBOOK, folder / "other.ipynb")
    os.symlink(root / "gradebook.db", folder / "gradebook_link.db")
    toy.submit(root, "fork_bomb", {"total": FORK_BOMB})
    # Deleted and edited test cells: nbgrader restores both (OverwriteCells, add_missing_cells).
    path = toy.submit(root, "edits_tests", {"square": WRONG_SQUARE})

    def edit_tests(nb):
        nb.cells = [c for c in nb.cells if _grade_id(c) != "test_double"]
        for c in nb.cells:
            if _grade_id(c) == "test_square":
                c.source = "pass"
    _edit(path, edit_tests)
    # Duplicated cells: the copies must not earn points twice.
    path = toy.submit(root, "duplicates_cells")

    def duplicate(nb):
        i = next(i for i, c in enumerate(nb.cells) if _grade_id(c) == "test_double")
        nb.cells[i + 1:i + 1] = [nbformat.from_dict(json.loads(json.dumps(nb.cells[i]))) for _ in range(2)]
    _edit(path, duplicate)
    # Invalid notebook JSON.
    (root / "submitted" / "invalid_json").mkdir()
    (root / "submitted" / "invalid_json" / "toy").mkdir()
    (root / "submitted" / "invalid_json" / "toy" / toy.NOTEBOOK).write_text('{"cells": [ not json')
    before = _hash_tree(root)
    gradebook_before = (root / "gradebook.db").stat().st_ino
    results = grade.grade_assignment(toy.ASSIGNMENT, root, jobs=2, timeout=60, cell_timeout=20, memory_mb=1500)
    return root, {r.student: r for r in results}, before, gradebook_before


def _expected(parts: set[str]) -> float:
    return float(sum(RIGHT[p] for p in parts))


@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_each_student_gets_the_score_their_code_earns(graded, student):
    _, results, _, _ = graded
    r = results[student]
    assert r.status != "failed", f"{student}: {r.problems}"
    assert r.max_score == toy.MAX_SCORE
    assert r.score == _expected(HOSTILE[student][1]), f"{student}: {r.score} ({r.problems}, {r.references})"


def test_stopped_notebooks_are_reported_to_the_instructor(graded):
    _, results, _, _ = graded
    for student, words in {"infinite_loop": "time limit", "loop_in_function": "time limit",
                           "ignores_interrupt": "interrupt", "os_exit": "kernel died", "segfault": "kernel died"}.items():
        assert any(words in p for p in results[student].problems), f"{student}: {results[student].problems}"
    assert results["honest"].status == "graded" and not results["honest"].problems


def test_tampering_earns_nothing_and_leaves_no_trace(graded):
    _, results, _, _ = graded
    for student in ("monkeypatches", "replaces_exception_handling", "replaces_execute", "fake_harness",
                    "prints_fake_pass", "input_transformer"):
        assert results[student].score == _expected(HOSTILE[student][1]), student
    assert results["honest"].status == "graded" and not results["honest"].problems


def test_printing_500_mb_is_cut_and_costs_nothing(graded):
    root, results, _, _ = graded
    path = root / "autograded" / "prints_500_mb" / "toy" / toy.NOTEBOOK
    assert path.stat().st_size < 4 << 20, f"{path.stat().st_size} bytes kept"
    nb = nbformat.read(path, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if _grade_id(c) == "double" for o in c.outputs)
    assert "output cut" in printed


def test_the_sandbox_holds(graded):
    """Unmounting, /proc/1/root, /proc/<ppid>/root, .git, sockets, /dev/shm, setsid children,
    a fork bomb and symlinked files: nothing reaches the course or outlives the kernel."""
    root, results, before, gradebook_before = graded
    assert results["escapes"].isolation == "bubblewrap"
    assert results["escapes"].score == toy.MAX_SCORE  # trying did not cost or earn anything
    nb = nbformat.read(root / "autograded" / "escapes" / "toy" / toy.NOTEBOOK, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if _grade_id(c) == "double" for o in c.outputs)
    report = json.loads(printed.split("REPORT ", 1)[1].splitlines()[0])
    assert report["unmounted"] == [] and report["remounted"] is False
    assert report["leaked"] is False
    assert report["socket"] == "PermissionError" and report["socket6"] == "PermissionError"
    assert report["other.ipynb"] == "FileNotFoundError" and report["gradebook_link.db"] == "FileNotFoundError"
    assert report["shm"] == "written" and not Path("/dev/shm/cvbook_shm_7411").exists()  # its own /dev/shm
    assert any("symbolic link, not copied" in p for p in results["escapes"].problems)
    listener = graded_listener[0]
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected to the grader's loopback
    forked = int(printed_of(root, "fork_bomb", "total").split("FORKED ", 1)[1].split()[0])
    assert forked < sandbox.PROCESS_ALLOWANCE
    assert results["fork_bomb"].score == toy.MAX_SCORE
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if b"setsid_marker_5153" in cmdline or b"fork_marker_6131" in cmdline:
            leftovers.append((pid, uid, cmdline[:80]))
    assert leftovers == []


def printed_of(root, student: str, grade_id: str) -> str:
    nb = nbformat.read(root / "autograded" / student / "toy" / toy.NOTEBOOK, as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if _grade_id(c) == grade_id for o in c.outputs)


def test_structural_damage_is_repaired_or_reported(graded):
    root, results, _, _ = graded
    # test_double was deleted and test_square emptied: both restored, so the wrong square loses its point
    assert results["edits_tests"].score == RIGHT["double"] + RIGHT["total"]
    assert results["duplicates_cells"].score == toy.MAX_SCORE  # the copies earned nothing extra
    assert any("not a valid notebook" in p for p in results["invalid_json"].problems)
    assert results["invalid_json"].score == 0


def test_grading_refuses_to_start_without_a_sandbox(tmp_path, monkeypatch, capsys):
    """No bubblewrap, or a machine that forbids namespaces: no notebook runs, and the
    instructor is told why and what to do."""
    from cvbook import cli

    root = toy.make_course(tmp_path / "course")
    toy.submit(root, "honest")
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        grade.grade_assignment(toy.ASSIGNMENT, root, jobs=1)
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: str(fake))
    assert cli.main(["grade", toy.ASSIGNMENT, "--root", str(root), "--jobs", "1"]) == 2
    said = capsys.readouterr().out
    assert "no notebook was run" in said and "No permissions to create new namespace" in said
    assert not (root / "autograded").exists()


def test_unsandboxed_grades_are_marked_everywhere(tmp_path):
    from cvbook.grading import dashboard, feedback

    root = toy.make_course(tmp_path / "course")
    toy.submit(root, "honest")
    [result] = grade.grade_assignment(toy.ASSIGNMENT, root, jobs=1, unsandboxed=True)
    assert result.score == toy.MAX_SCORE and result.isolation.startswith("none")
    assert any("WITHOUT the sandbox" in p for p in result.problems)
    [page] = feedback.write_feedback(root, toy.ASSIGNMENT)
    assert "Graded without the sandbox" in page.read_text()
    assert any("WITHOUT the sandbox" in p for p in dashboard.dashboard_data(root)["problems"][toy.ASSIGNMENT]["honest"])
