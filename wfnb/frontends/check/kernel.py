"""Run a list of cells in a fresh, real kernel (nbclient) and keep what a user would see.

Each run gets its own kernel, so that a "restart" is exact; kernels talk over
jupyter_client's IPC transport (unix sockets in the check's own temporary
folder), so that checks running side by side never race for TCP ports and no
socket file lands in the notebook's folder. After the last cell, one more cell
hashes every user variable with wfnb's own value hasher: the end state of the
notebook, compared between a cached and a plain run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_VALUES_MARK = "__wfnb_check_values__:"
_COUNTER = itertools.count(1)

# Runs in the kernel after the notebook: a hash of each user variable (else its repr, addresses masked).
# IPython's own names (In, Out, _, _i1, exit, quit, get_ipython) are in user_ns_hidden or start with "_".
_VALUES_CELL = r'''
def __wfnb_check_values():
    import json, re, types
    shell = get_ipython()
    hidden = set(shell.user_ns_hidden) | {"In", "Out", "exit", "quit", "get_ipython"}
    skipped = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
    try:
        from wfnb.cache.hashing import hash_value
    except Exception:
        hash_value = None
    values = {}
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_") or name in hidden or isinstance(value, skipped):
            continue
        try:
            values[name] = "hash " + hash_value(value)
        except Exception:
            try:
                text = repr(value)
            except Exception as error:
                text = f"<repr failed: {type(error).__name__}>"
            values[name] = "repr " + re.sub(r"0x[0-9a-fA-F]{6,}", "0x…", text)[:400]
    workflow = None
    registry = shell.magics_manager.registry.get("WorkflowMagics")
    if registry is not None:
        workflow = registry.session.workflow
    print("MARK" + json.dumps({"values": values, "workflow": workflow}))
__wfnb_check_values()
del __wfnb_check_values
'''.replace("MARK", _VALUES_MARK)

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_CELL_FILE = re.compile(r"\S*ipykernel_\d+[/\\]\d+\.py|\b\d{6,}\.py\b")  # a warning's path; a SyntaxError's "(3311942670.py, line 1)"
_WFNB_FAILED = re.compile(r"^UsageError: step \S+ failed ")  # wfnb's line after a step's own traceback
_TEXT_KINDS = ("text/plain", "text/html", "text/markdown", "text/latex")


@dataclass(frozen=True)
class Shown:
    """What one executed cell showed, normalised for comparison (wfnb's status lines kept apart)."""

    cell: int  # index of the cell in the notebook
    stdout: str = ""
    stderr: str = ""
    displays: tuple[tuple[tuple[str, str], ...], ...] = ()  # each display: (mime, normalised content) pairs
    error: str | None = None
    statuses: tuple[str, ...] = ()


@dataclass
class Run:
    """One run of a notebook: what each executed cell showed, the values at the end, where it stopped."""

    label: str
    shown: list[Shown] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    values_read: bool = False  # the values cell ran and printed them
    workflow: str | None = None
    failed_at: int | None = None  # notebook index of the cell that failed or timed out
    failure: str | None = None
    seconds: float = 0.0

    def statuses(self) -> dict[int, list[str]]:
        """Status lines by cell (a cell run twice has two)."""
        found: dict[int, list[str]] = {}
        for shown in self.shown:
            found.setdefault(shown.cell, []).extend(shown.statuses)
        return found


def run_cells(
    cells: list[tuple[int, str]],
    directory: Path,
    scratch: Path,
    *,
    label: str,
    timeout: float,
    env: dict[str, str] | None = None,
    on_past_errors: bool = False,
) -> Run:
    """Execute ``cells`` ((notebook index, source) pairs, in order) in a fresh kernel working in ``directory``.

    Stops at the first cell that fails, as Run All does, unless ``on_past_errors``
    (as running the cells one by one does); a cell that runs longer than ``timeout``
    seconds always stops the run. ``scratch`` holds the kernel's sockets.
    """
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    number = next(_COUNTER)
    scratch.mkdir(parents=True, exist_ok=True)
    manager = AsyncKernelManager(  # nbclient awaits it: a blocking manager would ignore the timeout
        kernel_name="python3", transport="ipc",
        connection_file=str(scratch / f"kernel-{os.getpid()}-{number}.json"), ip=str(scratch / f"k{number}"),
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for _, source in cells]
    notebook.cells.append(nbformat.v4.new_code_cell(_VALUES_CELL))
    client = NotebookClient(
        notebook, km=manager, timeout=int(timeout), kernel_name="python3", allow_errors=on_past_errors,
        shutdown_kernel="immediate", resources={"metadata": {"path": str(directory)}},
    )
    run = Run(label)
    started = time.perf_counter()
    variables = {**os.environ, "PYTHONHASHSEED": "0", "WFNB_FSYNC": "0", **(env or {})}
    try:
        with client.setup_kernel(env=variables, cleanup_kc=True):  # we made the manager: nbclient would leave it running
            for position, cell in enumerate(notebook.cells):
                index = cells[position][0] if position < len(cells) else None
                try:
                    client.execute_cell(cell, position)
                except CellTimeoutError:
                    run.failed_at, run.failure = index, f"cell {index} timed out after {timeout:g} s"
                except CellExecutionError as error:
                    line = _error_line(cell.outputs) or str(error).strip().splitlines()[-1]
                    run.failed_at, run.failure = index, f"cell {index} failed: {line}"
                if index is None:  # the values cell: a failure there leaves the values unknown, not the run failed
                    run.failed_at = run.failure = None
                    _read_values(cell.outputs, run)
                elif index >= 0:  # cells the check put first (%load_ext wfnb) are not the notebook's
                    run.shown.append(_shown(index, cell.outputs))
                if run.failed_at is not None:
                    break
    except DeadKernelError as error:
        run.failure = f"the kernel died: {error}"
        run.failed_at = run.shown[-1].cell if run.shown else None
    finally:
        run.seconds = time.perf_counter() - started
    return run


def _shown(index: int, outputs: list[dict[str, Any]]) -> Shown:
    streams = {"stdout": [], "stderr": []}
    displays, statuses, error = [], [], None
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            streams.setdefault(output.get("name", "stdout"), []).append(output.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {})
            if (output.get("metadata") or {}).get("wfnb") == "status":
                statuses.append(str(data.get("text/plain", "")))
            else:
                displays.append(_normalised(data))
        elif kind == "error" and error is None:  # the step's own error; wfnb's UsageError about it may follow
            error = f"{output.get('ename')}: {_masked(str(output.get('evalue')))}"
    stderr = "".join(line for line in "".join(streams["stderr"]).splitlines(keepends=True) if not _WFNB_FAILED.match(line))
    return Shown(
        index, _masked("".join(streams["stdout"])), _masked(stderr),
        tuple(displays), error, tuple(statuses),
    )


def _normalised(data: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    parts = []
    for mime in sorted(data):
        content = data[mime]
        if mime in _TEXT_KINDS:
            parts.append((mime, _masked(content if isinstance(content, str) else "".join(content))))
        elif mime == "image/png":
            parts.append((mime, _pixels(content)))
    return tuple(parts)


def _pixels(encoded: str) -> str:
    """A PNG as its size and a digest of its decoded pixels (two encoders may write the same pixels differently)."""
    raw = base64.b64decode(encoded if isinstance(encoded, str) else "".join(encoded))
    try:
        from PIL import Image

        with Image.open(io.BytesIO(raw)) as image:
            pixels = image.convert("RGBA")
            return f"PNG {pixels.width}x{pixels.height} pixels {hashlib.sha256(pixels.tobytes()).hexdigest()[:12]}"
    except Exception:  # noqa: BLE001 - no PIL, or not an image PIL reads: the bytes themselves
        return f"PNG bytes {hashlib.sha256(raw).hexdigest()[:12]}"


def _masked(text: str) -> str:
    """Memory addresses (``0x7f3a…``) and the file names ipykernel gives cells (``/tmp/ipykernel_8584/61218.py``,
    in warnings) differ in every process: they are no difference a user would care about."""
    return _CELL_FILE.sub("<cell>", _ADDRESS.sub("0x…", text))


def _error_line(outputs: list[dict[str, Any]]) -> str | None:
    for output in outputs:
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"
    return None


def _read_values(outputs: list[dict[str, Any]], run: Run) -> None:
    text = "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream")
    for line in text.splitlines():
        if line.startswith(_VALUES_MARK):
            found = json.loads(line[len(_VALUES_MARK):])
            run.values, run.workflow, run.values_read = found["values"], found["workflow"], True
