"""Fixtures for the history tests: real kernels on one folder and store, started as a user starts them."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/kernels.py

from kernels import CellRun, LiveKernel


class Notebook:
    """One real kernel running a notebook's cells in a shared folder; ``run`` fails the test on an error."""

    def __init__(self, kernel: LiveKernel) -> None:
        self.kernel = kernel

    def run(self, code: str, *, check: bool = True) -> CellRun:
        result = self.kernel.run(textwrap.dedent(code).strip("\n"))
        if check and not result.ok:
            raise AssertionError(f"cell failed: {result.error}\n{code}\n{result.traceback}")
        return result

    def value(self, expression: str) -> str:
        return self.kernel.value(expression)

    def restart(self) -> Notebook:
        self.kernel.restart()
        self.run("%load_ext wfnb")
        return self


@pytest.fixture
def notebooks(tmp_path):
    """``notebooks("prepare.ipynb")`` starts a kernel running that notebook (its workflow is the file's stem),
    with ``%load_ext wfnb`` done, in ``tmp_path`` on the store ``tmp_path/.wfnb``."""
    started: list[LiveKernel] = []

    def start(name: str = "nb.ipynb", **env: str) -> Notebook:
        kernel = LiveKernel(tmp_path, tmp_path / ".wfnb", name=name, **env)
        started.append(kernel)
        notebook = Notebook(kernel)
        notebook.run("%load_ext wfnb")
        return notebook

    yield start
    for kernel in started:
        try:
            kernel.shutdown()
        except Exception:  # noqa: BLE001 - a kernel that died already
            pass


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path
