"""Run notebooks in fresh, real kernels (nbclient) the way the tests need them.

Every kernel talks over unix sockets (ZeroMQ's ``ipc`` transport) in a folder of
its own, never over TCP: with TCP, jupyter_client picks five free ports, lets them
go, and the kernel binds them a moment later; on a busy machine another process
took one in between now and then, and the kernel died with "Address already in use".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from nbclient import NotebookClient
from traitlets.config import Config

# A unix socket's path holds at most 107 bytes: the sockets go under /tmp, never under a test's
# deep tmp_path (nor $TMPDIR, which may be long).
SOCKETS_ROOT = "/tmp" if os.path.isdir("/tmp") else None


class SocketFolder:
    """A fresh short folder for one kernel's unix sockets; ``config`` tells a kernel manager to use it."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix="wfnb-k", dir=SOCKETS_ROOT)
        self.config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(self.path, "k")}})

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def run_retrying_port_races(command: list[str], attempts: int = 3, **options) -> subprocess.CompletedProcess:
    """``subprocess.run`` for a program that starts a kernel over TCP itself (papermill's command line,
    ``make demo``): run it again when the kernel lost one of its ports to another process.

    ``options`` go to ``subprocess.run`` (``capture_output=True, text=True`` are set).
    """
    for _ in range(attempts):
        done = subprocess.run(command, capture_output=True, text=True, **options)
        if done.returncode == 0 or "Address already in use" not in done.stdout + done.stderr:
            return done
    return done


def run_notebook(notebook, directory: Path, store: Path, *, name: str | None = None, timeout: int = 300, **env: str):
    """Execute ``notebook`` in a fresh kernel working in ``directory`` on ``store``; return it executed.

    ``name`` is the notebook's file name as Jupyter would tell the kernel (it names the workflow);
    ``env`` adds environment variables. Raises CellExecutionError when a cell fails.
    """
    variables = {**os.environ, "WFNB_STORE": str(store), "WFNB_FSYNC": "0", **env}
    if name is not None:
        variables["JPY_SESSION_NAME"] = str(Path(directory) / name)
    sockets = SocketFolder()
    try:
        client = NotebookClient(
            notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(directory)}}, config=sockets.config
        )
        client.execute(env=variables)
    finally:
        sockets.remove()
    return notebook


def wfnb_frames(text: str) -> list[str]:
    """The wfnb source files a traceback shows frames of (``wfnb/history/session.py``, ...).

    It looks for the package's own module paths, not for "wfnb/": a clone in a folder named
    wfnb has that in every path of its .venv, so a test must not depend on where the clone lives.
    """
    import wfnb

    package = Path(wfnb.__file__).parent
    modules = {f"wfnb/{path.relative_to(package).as_posix()}" for path in package.rglob("*.py")}
    return sorted(module for module in modules if module in text.replace("\\", "/"))


def status_outputs(notebook) -> list[str]:
    """wfnb's status lines (text) in a notebook's outputs, in order."""
    return [
        output["data"]["text/plain"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("wfnb") == "status"
    ]


class LiveKernel:
    """One real kernel driven cell by cell, as a user does in Jupyter; ``restart()`` gives a fresh one.

    ``run(code)`` returns what the cell showed; ``value(expr)`` the text repr of an expression.
    """

    def __init__(self, directory: Path, store: Path | None = None, *, name: str = "nb.ipynb", **env: str) -> None:
        from jupyter_client.manager import KernelManager

        self.directory = Path(directory)
        variables = {**os.environ, "WFNB_FSYNC": "0", "JPY_SESSION_NAME": str(self.directory / name), **env}
        if store is not None:
            variables["WFNB_STORE"] = str(store)
        self._sockets = SocketFolder()
        self._manager = KernelManager(kernel_name="python3", config=self._sockets.config)
        try:
            self._manager.start_kernel(cwd=str(self.directory), env=variables)
            self._connect()
        except BaseException:  # a kernel that never became ready is stopped, not left running
            if self._manager.has_kernel:
                self._manager.shutdown_kernel(now=True)
            self._sockets.remove()
            raise

    def _connect(self) -> None:
        self._client = self._manager.client()
        self._client.start_channels()
        self._client.wait_for_ready(timeout=60)

    def restart(self) -> LiveKernel:
        self._client.stop_channels()
        self._manager.restart_kernel(now=True)
        self._connect()
        return self

    def run(self, code: str, *, timeout: int = 120) -> CellRun:
        messages: list[dict] = []
        reply = self._client.execute_interactive(code, timeout=timeout, output_hook=messages.append)
        return CellRun(messages, reply["content"])

    def run_interrupted(self, code: str, once: str, *, timeout: int = 120) -> CellRun:
        """Run ``code``, interrupt the kernel (Ctrl-C, as Jupyter's ■ does) once the cell has printed ``once``,
        and return what the cell showed."""
        import time

        messages: list[dict] = []
        msg_id = self._client.execute(code)
        interrupted = False
        deadline = time.monotonic() + timeout
        while True:
            message = self._client.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(message)
            if not interrupted and _kind(message) == "stream" and once in message["content"]["text"]:
                time.sleep(0.5)  # let the print that said so return: the interrupt is for the code after it
                self._manager.interrupt_kernel()
                interrupted = True
            if _kind(message) == "status" and message["content"]["execution_state"] == "idle":
                break
        while True:
            reply = self._client.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                return CellRun(messages, reply["content"])

    def value(self, expression: str) -> str:
        """The text repr of ``expression`` evaluated in the kernel (raises if it fails)."""
        reply = self._client.execute_interactive("", user_expressions={"v": expression}, timeout=60)
        result = reply["content"]["user_expressions"]["v"]
        if result["status"] != "ok":
            raise AssertionError(f"{expression!r} failed in the kernel: {result.get('ename')}: {result.get('evalue')}")
        return result["data"]["text/plain"]

    def complete(self, code: str) -> list[str]:
        """What Tab offers at the end of ``code``, as Jupyter asks the kernel for it."""
        reply = self._client.complete(code, cursor_pos=len(code), reply=True, timeout=60)
        return list(reply["content"]["matches"])

    def shutdown(self) -> None:
        try:
            self._client.stop_channels()
            self._manager.shutdown_kernel(now=True)
        finally:
            self._sockets.remove()

    def __enter__(self) -> LiveKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()


class CellRun:
    """What one cell showed in a real kernel: text streams, wfnb's status lines, displays, and its error."""

    def __init__(self, messages: list[dict], reply: dict) -> None:
        self.messages = messages
        self.ok = reply["status"] == "ok"
        self.error = None if self.ok else f"{reply.get('ename')}: {reply.get('evalue')}"
        self.stdout = "".join(m["content"]["text"] for m in messages if _kind(m) == "stream" and m["content"]["name"] == "stdout")
        self.stderr = "".join(m["content"]["text"] for m in messages if _kind(m) == "stream" and m["content"]["name"] == "stderr")
        shown = [m["content"] for m in messages if _kind(m) in ("display_data", "execute_result")]
        self.statuses = [c["data"]["text/plain"] for c in shown if c.get("metadata", {}).get("wfnb") == "status"]
        self.displays = [c["data"] for c in shown if c.get("metadata", {}).get("wfnb") != "status"]
        self.traceback = "\n".join(line for m in messages if _kind(m) == "error" for line in m["content"]["traceback"])

    @property
    def status(self) -> str:
        """The (last) status line; a cell with a step shows exactly one."""
        return self.statuses[-1] if self.statuses else ""

    @property
    def cached(self) -> bool:
        return " · cached · " in self.status

    @property
    def ran(self) -> bool:
        return " · ran " in self.status

    def __repr__(self) -> str:
        return f"CellRun(ok={self.ok}, status={self.status!r}, stdout={self.stdout!r}, stderr={self.stderr!r}, error={self.error!r})"


def _kind(message: dict) -> str:
    return message["header"]["msg_type"]
