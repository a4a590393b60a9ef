"""`make demo`: run the prices notebook twice, each time in a fresh kernel, and show what the cache did.

The first run computes every step (on a fresh store); the second one, in a new
kernel, must run none of them and still show every output.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
NOTEBOOK = HERE / "prices.ipynb"


def run_notebook(path: Path) -> list[tuple[str, str]]:
    """Execute a notebook in a fresh kernel; return (cell first line, status line) per step."""
    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, "JPY_SESSION_NAME": str(path)}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}})
    client.execute(env=env)
    steps = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("wfnb") == "status":
                steps.append((cell.source.splitlines()[0], output["data"]["text/plain"]))
    return steps


def main() -> int:
    store = HERE / ".wfnb"
    if "--keep" not in sys.argv:
        shutil.rmtree(store, ignore_errors=True)
    executed_second_time = 0
    for run in (1, 2):
        print(f"run {run}, fresh kernel: {NOTEBOOK.name}")
        for _, status in run_notebook(NOTEBOOK):
            print(f"  {status}")
            if run == 2 and " · cached · " not in status:
                executed_second_time += 1
    print(f"store: {store} — second run executed {executed_second_time} step(s)")
    return 1 if executed_second_time else 0


if __name__ == "__main__":
    sys.exit(main())
