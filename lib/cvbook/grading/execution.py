"""How `cvbook grade` runs a notebook: nbgrader's Execute step split between the sandboxed
kernel and the grader (`SandboxedExecute`, in a worker), its replay in the course root
(`ReplayExecution`, in the parent), and the sanitising steps both use. See
cvbook.grading.grade for how workers and the parent fit together."""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Unicode

from cvbook.grading import verdict

KERNEL_NAME = "cvbook-grader"
OUTPUT_LIMIT = 1 << 20  # characters of output kept per cell; a runaway print loop costs nothing more
NOT_RUN = "NotRun"


def error_output(ename: str, message: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class SandboxedExecute(Execute):
    """nbgrader's Execute, split in two: the notebook's own cells run in the sandboxed
    kernel; each graded test cell runs here (cvbook.grading.verdict), asking the kernel
    only for what the student's code returns. Cells that cannot run become errors."""

    workdir = Unicode(help="the kernel's working folder").tag(config=True)
    ipc_dir = Unicode(help="the folder of the kernel's sockets").tag(config=True)
    notebook_timeout = Float(300.0, help="seconds for the whole notebook").tag(config=True)
    report_file = Unicode(help="JSON file receiving what happened").tag(config=True)

    def preprocess(self, nb, resources, km=None):
        from jupyter_client.manager import AsyncKernelManager
        from nbclient import NotebookClient

        info = resources["nbgrader"]
        grader = verdict.Grader(verdict.source_cells(info["db_url"], info["notebook"], info["assignment"]))
        km = AsyncKernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=os.path.join(self.ipc_dir, "k"),
                                connection_file=os.path.join(self.ipc_dir, "kernel.json"))
        NotebookClient.__init__(self, nb, km)
        self.owns_km = True  # so that nbclient stops the kernel (it leaves alone a manager it was given)
        self.shutdown_kernel = "immediate"  # nothing in the kernel is worth a graceful goodbye
        self._output_sizes: dict[int, int] = {}
        self.reset_execution_trackers()
        resources = dict(resources)
        resources["metadata"] = dict(resources.get("metadata", {}), path=self.workdir)
        self._check_assign_resources(resources)
        self.kernel_name = KERNEL_NAME
        stopped, problems, references = None, [], {}
        cell_timeout = self.timeout
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            nb.metadata["language_info"] = info["content"]["language_info"]
            # The notebook's clock starts once its kernel is up: a busy machine's slow start
            # (the sandbox, importing torch) is not the student's time.
            deadline = time.monotonic() + self.notebook_timeout
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if stopped is None and time.monotonic() >= deadline:
                    stopped = f"the notebook's time limit ({self.notebook_timeout:.0f} s) was reached"
                    problems.append(f"cell {index}: {stopped}")
                if stopped is not None:
                    cell.outputs = [error_output(NOT_RUN, f"not run: {stopped}")]
                    cell.execution_count = None
                    continue
                self.timeout = max(1, int(min(cell_timeout or 1e9, deadline - time.monotonic())))
                try:
                    if grader.is_test(grade_id):
                        outcome = self._check(grader, grade_id, cell, index)
                        problems += outcome["problems"]
                        if outcome["references"]:
                            references[grade_id] = outcome["references"]
                    else:
                        self.preprocess_cell(cell, resources, index)
                except DeadKernelError:
                    stopped = f"the kernel died in cell {index} (it exited, crashed or ran out of memory)"
                    problems.append(stopped)
                    cell.outputs.append(error_output("DeadKernelError", stopped))
                except CellTimeoutError:
                    stopped = f"cell {index} ignored the interrupt after its time limit"
                    problems.append(stopped)
                    cell.outputs.append(error_output("CellTimeoutError", stopped))
                finally:
                    self.timeout = cell_timeout
                for out in cell.outputs:
                    if out.output_type == "error" and out.ename in ("CellTimeoutError", "KeyboardInterrupt"):
                        problems.append(f"cell {index}: interrupted at its time limit")
        self.set_widgets_metadata()
        if self.report_file:
            Path(self.report_file).write_text(json.dumps({"problems": list(dict.fromkeys(problems)),
                                                          "references": references}))
        return nb, self.resources

    def output(self, outs, msg, display_id, cell_index):
        """nbclient's output handling, with at most OUTPUT_LIMIT characters kept per cell."""
        if msg["msg_type"] in ("stream", "display_data", "execute_result", "error", "update_display_data"):
            size = len(json.dumps(msg["content"]))
            seen = self._output_sizes.get(cell_index, 0)
            self._output_sizes[cell_index] = seen + size
            if seen + size > OUTPUT_LIMIT:
                if seen <= OUTPUT_LIMIT:
                    outs.append(nbformat.v4.new_output("stream", name="stderr", text=(
                        f"[output cut: more than {OUTPUT_LIMIT:,} characters]\n")))
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _check(self, grader: verdict.Grader, grade_id: str, cell, index: int) -> dict:
        """One test cell: the kernel serves the student's code over a socket while the
        grader runs the test; the cell's outputs are the grader's."""
        import socket
        import threading

        setup_problems = grader.setup_until(grade_id)  # the grader's own imports: not the student's time
        path = os.path.join(self.ipc_dir, f"rpc-{index}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(1)
        listener.settimeout(self.timeout)
        result: dict = {}

        def run_test():
            try:
                sock, _ = listener.accept()
            except OSError:
                result["outputs"] = [error_output("KernelUnreachable", "the notebook's kernel did not start the test "
                                                   "(did the notebook replace cvbook.grading.harness?)")]
                result["outcome"] = {"references": [], "problems": []}
                return
            try:
                result["outputs"], result["outcome"] = grader.check(grade_id, sock, self.timeout)
            except Exception:  # noqa: BLE001 - the grader's own failure: reported, never a silent pass
                import traceback

                result["outputs"] = [error_output("GraderError", "the grader failed on this test")]
                result["outcome"] = {"references": [], "problems": [
                    f"{grade_id}: the grader failed: {traceback.format_exc()[-1500:]}"]}

        worker = threading.Thread(target=run_test, daemon=True)
        worker.start()
        serve = nbformat.v4.new_code_cell(f"__import__('cvbook.grading.harness', fromlist=['_']).serve({path!r})")
        try:
            self.execute_cell(serve, index, store_history=False)
        finally:
            self.nb.cells[index] = cell  # nbclient stores the cell it ran in the notebook
            listener.close()
            worker.join(self.timeout + 30)
            with contextlib.suppress(OSError):
                os.unlink(path)
        # What the kernel printed while serving the test stays visible, but as stdout: nbgrader
        # scores any stderr in a test cell as a failure, and the student's warnings (or the
        # last words of processes they started) are not the verdict; the grader's error is.
        printed = [nbformat.v4.new_output("stream", name="stdout", text=o.text)
                   for o in serve.outputs if o.output_type == "stream"]
        interrupted = [o for o in serve.outputs if o.output_type == "error" and o.ename == "KeyboardInterrupt"]
        outputs = result["outputs"] if "outputs" in result else [error_output("GraderError", "the test did not finish")]
        if interrupted:  # the student's code ran past the cell's time limit: that is the verdict
            outputs = [o for o in outputs if o.output_type != "error"] + [error_output(
                "KeyboardInterrupt", f"your code was interrupted at the time limit ({self.timeout} s per cell)")]
        cell.outputs = printed + outputs
        cell.execution_count = serve.execution_count
        outcome = result.get("outcome") or {"references": [], "problems": []}
        return dict(outcome, problems=setup_problems + outcome["problems"])


class ReplayExecution(NbGraderPreprocessor):
    """Stands in for Execute in the parent: the outputs come from the worker's executed
    notebook, cell by cell; a cell without a matching executed twin becomes an error."""

    executed_dir = Unicode(help="folder of the worker's executed notebooks").tag(config=True)

    def preprocess(self, nb, resources):
        path = Path(self.executed_dir) / f"{resources['unique_key']}.ipynb"
        executed = nbformat.read(path, as_version=4).cells if path.is_file() else []
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            twin = executed[index] if index < len(executed) else None
            if twin is None or twin.cell_type != "code" or twin.source != cell.source:
                cell.outputs = [error_output(NOT_RUN, "not run: the grader has no result for this cell")]
                cell.execution_count = None
                continue
            cell.outputs, cell.execution_count = twin.outputs, twin.execution_count
            if cell.execution_count is None and not any(o.output_type == "error" for o in cell.outputs):
                cell.outputs = [error_output(NOT_RUN, "not run")]
        return nb, resources


class DropEmptyNbgraderMetadata(NbGraderPreprocessor):
    """After DeduplicateIds: it empties the metadata of duplicated cells, which nbgrader's
    own CheckCellMetadata then rejects ("old metadata format"), failing the whole
    notebook. Dropping it leaves the copies as plain cells that earn nothing."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources


def sanitizers() -> list:
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells,
                                        OverwriteKernelspec)

    return [ClearOutput, DeduplicateIds, DropEmptyNbgraderMetadata, OverwriteKernelspec, OverwriteCells,
            CheckCellMetadata]

