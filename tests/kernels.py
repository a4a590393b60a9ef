"""Run notebooks in fresh, real kernels (nbclient) the way the tests need them."""

from __future__ import annotations

import os
from pathlib import Path

from nbclient import NotebookClient


def run_notebook(notebook, directory: Path, store: Path, *, name: str | None = None, timeout: int = 300, **env: str):
    """Execute ``notebook`` in a fresh kernel working in ``directory`` on ``store``; return it executed.

    ``name`` is the notebook's file name as Jupyter would tell the kernel (it names the workflow);
    ``env`` adds environment variables. Raises CellExecutionError when a cell fails.
    """
    variables = {**os.environ, "WFNB_STORE": str(store), "WFNB_FSYNC": "0", **env}
    if name is not None:
        variables["JPY_SESSION_NAME"] = str(Path(directory) / name)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(directory)}})
    client.execute(env=variables)
    return notebook


def status_outputs(notebook) -> list[str]:
    """wfnb's status lines (text) in a notebook's outputs, in order."""
    return [
        output["data"]["text/plain"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("wfnb") == "status"
    ]
