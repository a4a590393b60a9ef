"""`make demo`: run the prices notebook twice, each time in a fresh kernel, and show what the cache did.

The first run computes every step, on a scratch store of its own (a temporary
directory, removed at the end: the variants you made with the notebooks in
``notebooks/.wfnb`` are never touched); the second one, in a new kernel, must
run none of them and still show every output. ``--keep`` keeps the scratch
store and prints where it is.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

HERE = Path(__file__).parent
NOTEBOOK = HERE / "prices.ipynb"


def run_notebook(path: Path, store: Path, sockets: Path) -> list[tuple[str, str]]:
    """Execute a notebook in a fresh kernel on ``store``; return (cell first line, status line) per step."""
    notebook = nbformat.read(path, as_version=4)
    env = {**os.environ, "JPY_SESSION_NAME": str(path), "WFNB_STORE": str(store)}
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}},
                            config=_unix_sockets(sockets))
    client.execute(env=env)
    steps = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("wfnb") == "status":
                steps.append((cell.source.splitlines()[0], output["data"]["text/plain"]))
    return steps


def _unix_sockets(folder: Path) -> Config:
    """The kernel over unix sockets (ZeroMQ's ipc transport) where there are some: no TCP port to lose to
    another program, and no warning about unencrypted TCP in the demo's output."""
    if os.name != "posix":
        return Config()
    folder.mkdir(parents=True, exist_ok=True)
    return Config({"KernelManager": {"transport": "ipc", "ip": str(folder / "k")}})


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="wfnb-demo-"))
    store = scratch / "store"
    try:
        executed_second_time = 0
        for run in (1, 2):
            print(f"run {run}, fresh kernel: {NOTEBOOK.name}")
            for _, status in run_notebook(NOTEBOOK, store, scratch / f"k{run}"):
                print(f"  {status}")
                if run == 2 and " · cached · " not in status:
                    executed_second_time += 1
        kept = "kept" if "--keep" in sys.argv else "a scratch store, removed now"
        print(f"store: {store} ({kept}) — second run executed {executed_second_time} step(s)")
    finally:
        if "--keep" not in sys.argv:
            shutil.rmtree(scratch, ignore_errors=True)
    return 1 if executed_second_time else 0


if __name__ == "__main__":
    sys.exit(main())
