"""A lab for never-stale tests: a folder with files, a store, and real kernels that run cells in it.

Each ``lab.run(cells)`` starts a fresh kernel (what a restart gives), runs the
cells in order as a user would, and returns the session so that the test can
run more cells in the same kernel or read values from it. ``lab.plain(cells)``
runs the same cells without wfnb: the reference a hit must agree with.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/kernels.py

from kernels import CellRun, LiveKernel

LOAD = "%load_ext wfnb"


class Session:
    """One kernel and what each of its cells showed."""

    def __init__(self, kernel: LiveKernel) -> None:
        self.kernel = kernel
        self.cells: list[CellRun] = []

    def run(self, code: str, *, check: bool = True) -> CellRun:
        result = self.kernel.run(textwrap.dedent(code).strip("\n"))
        self.cells.append(result)
        if check and not result.ok:
            raise AssertionError(f"cell failed: {result.error}\n{code}\n{_strip_ansi(result.traceback)}")
        return result

    def value(self, expression: str) -> str:
        return self.kernel.value(expression)

    @property
    def last(self) -> CellRun:
        return self.cells[-1]

    def step(self, name: str) -> CellRun:
        """The last run of the cell whose status line names step ``name``."""
        for cell in reversed(self.cells):
            if any(s.startswith(f"step {name} ") for s in cell.statuses):
                return cell
        raise AssertionError(f"no status line for step {name}: {[c.statuses for c in self.cells]}")


class Lab:
    """A working folder shared by the kernels of one test; every kernel is shut down at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = root / ".wfnb"
        self._kernels: list[LiveKernel] = []

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def kernel(self, **env: str) -> LiveKernel:
        kernel = LiveKernel(self.root, self.store, **env)
        self._kernels.append(kernel)
        return kernel

    def run(self, cells: list[str], **env: str) -> Session:
        """A fresh kernel running ``%load_ext wfnb`` then ``cells``."""
        session = Session(self.kernel(**env))
        session.run(LOAD)
        for cell in cells:
            session.run(cell)
        return session

    def plain(self, cells: list[str], **env: str) -> Session:
        """A fresh kernel running ``cells`` as plain cells: no wfnb, no store."""
        session = Session(self.kernel(**env))
        for cell in cells:
            session.run(plain_cell(cell))
        return session

    def close(self) -> None:
        for kernel in self._kernels:
            try:
                kernel.shutdown()
            except Exception:  # noqa: BLE001 - a kernel that died already
                pass


def plain_cell(cell: str) -> str:
    """The cell as it would be without wfnb: the ``%%step``/``%%params`` line dropped."""
    text = textwrap.dedent(cell).strip("\n")
    first, _, rest = text.partition("\n")
    return rest if first.startswith(("%%step", "%%params")) else text


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture
def lab(tmp_path):
    the_lab = Lab(tmp_path)
    yield the_lab
    the_lab.close()
