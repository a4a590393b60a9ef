"""The tests' own kernels (tests/kernels.py) talk over unix sockets: none can lose a TCP port to another process."""

from __future__ import annotations

import json

from nbformat.v4 import new_code_cell, new_notebook

from kernels import LiveKernel, run_notebook

ASK = "from ipykernel import get_connection_info; print(get_connection_info())"


def test_a_live_kernel_listens_on_unix_sockets_also_after_a_restart(tmp_path):
    with LiveKernel(tmp_path) as kernel:
        assert json.loads(kernel.run(ASK).stdout)["transport"] == "ipc"
        assert json.loads(kernel.restart().run(ASK).stdout)["transport"] == "ipc"


def test_a_notebook_runs_in_a_kernel_on_unix_sockets(tmp_path):
    notebook = run_notebook(new_notebook(cells=[new_code_cell(ASK)]), tmp_path, tmp_path / "store")
    info = json.loads(notebook.cells[0].outputs[0]["text"])
    assert info["transport"] == "ipc" and len(info["ip"]) < 60  # a unix socket's path holds at most 107 bytes
