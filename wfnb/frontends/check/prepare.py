"""A notebook as the check runs it: each code cell with its ``%%step`` line, cached or plain.

The *cached* form is the notebook as written; a notebook without any ``%%step``
cell is checked as if every code cell were a step (``%%step cellN``, with
``%load_ext wfnb`` first), so that any third-party notebook can be checked.
The *plain* form is the same code without wfnb: the ``%%step``, ``%%params``,
``%load_ext wfnb`` and ``%wfnb`` lines are left out and ``wfnb.log`` records
nothing, which is what a user would get without the cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from wfnb.cache.stepline import parse_step_line
from wfnb.errors import BadArgument

# Line magics that set up the kernel rather than compute: a cell using one stays a plain cell when the
# check makes steps of a notebook's cells (a step would replay their effect, or not at all).
_SET_UP_MAGICS = frozenset({"load_ext", "reload_ext", "unload_ext", "matplotlib", "config", "autoreload", "aimport", "pylab", "env", "cd"})
_WFNB_LINE = re.compile(r"^\s*%(?:(?:re)?load_ext\s+wfnb\b|wfnb\b)")
_LINE_MAGIC = re.compile(r"^\s*%(?!%)(\w+)")
# wfnb's own API outside a step (wfnb.replay, wfnb.variants, ...): a plain run has no store to answer it
_WFNB_CALL = re.compile(r"\bwfnb\.(?!log\b)[A-Za-z_]\w*\s*\(")

LOAD_CELL = "%load_ext wfnb"
# Run first in plain kernels: wfnb.log outside a step would raise, and without the cache it records nothing.
PLAIN_PRELUDE = "import wfnb as __wfnb_check\n__wfnb_check.log = lambda **values: None\ndel __wfnb_check"


@dataclass(frozen=True)
class Cell:
    """One code cell: its code without the ``%%step``/``%%params`` line, and that line if it has one."""

    index: int  # position in the notebook (markdown cells count)
    body: str
    header: str | None = None  # "%%step load --deps x", "%%params"
    step: str | None = None  # the step's name, for a %%step cell

    def cached(self) -> str:
        return f"{self.header}\n{self.body}" if self.header else self.body

    @property
    def uses_wfnb(self) -> bool:
        """Whether the cell calls wfnb's own API or has a ``%wfnb`` line: what it shows is wfnb's, not the notebook's."""
        return self.step is None and (bool(_WFNB_CALL.search(self.body)) or any(_WFNB_LINE.match(line) for line in self.body.splitlines()))

    def plain(self) -> str:
        if self.step is None and _WFNB_CALL.search(self.body):
            return "pass  # a cell using wfnb's own API: nothing to run without wfnb"
        return "\n".join("" if _WFNB_LINE.match(line) else line for line in self.body.splitlines())

    def with_body(self, body: str) -> Cell:
        return replace(self, body=body)


@dataclass(frozen=True)
class CheckedNotebook:
    """The code cells of a notebook, as the check runs them."""

    path: Path
    cells: tuple[Cell, ...]
    made_steps: bool  # the notebook had no %%step cell: the check made one of each code cell it could

    @property
    def steps(self) -> list[str]:
        return [cell.step for cell in self.cells if cell.step]

    @property
    def wfnb_cells(self) -> set[int]:
        """Cells whose outputs are wfnb's own (``%wfnb``, ``wfnb.replay(...)``): not compared."""
        return {cell.index for cell in self.cells if cell.uses_wfnb}

    def wfnb_names(self) -> set[str]:
        """Names bound by cells calling wfnb's API (``v2 = wfnb.replay(...)``): a plain run has none of them."""
        import ast

        names: set[str] = set()
        for cell in self.cells:
            if cell.step is None and _WFNB_CALL.search(cell.body):
                try:
                    tree = ast.parse(cell.body)
                except SyntaxError:
                    continue
                names |= {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
        return names

    def step_of(self, index: int | None) -> str | None:
        return next((cell.step for cell in self.cells if cell.index == index), None)

    def cached_cells(self, order: list[int] | None = None) -> list[tuple[int, str]]:
        """(index, source) to execute with the cache; ``order`` lists positions in ``cells`` (a cell may repeat)."""
        chosen = [self.cells[i] for i in (order if order is not None else range(len(self.cells)))]
        prelude = [(-1, LOAD_CELL)] if self.made_steps else []
        return prelude + [(cell.index, cell.cached()) for cell in chosen]

    def plain_cells(self, order: list[int] | None = None) -> list[tuple[int, str]]:
        chosen = [self.cells[i] for i in (order if order is not None else range(len(self.cells)))]
        return [(-1, PLAIN_PRELUDE)] + [(cell.index, cell.plain()) for cell in chosen]

    def with_cell(self, position: int, cell: Cell) -> CheckedNotebook:
        cells = list(self.cells)
        cells[position] = cell
        return replace(self, cells=tuple(cells))

    def to_notebook(self, original: object) -> object:
        """``original`` (an nbformat notebook) with these cells' cached sources, to save where the kernel runs."""
        import copy

        notebook = copy.deepcopy(original)
        by_index = {cell.index: cell for cell in self.cells}
        for index, cell in enumerate(notebook.cells):
            if index in by_index:
                cell.source = by_index[index].cached()
                cell.outputs, cell.execution_count = [], None
        if self.made_steps:
            import nbformat

            notebook.cells.insert(0, nbformat.v4.new_code_cell(LOAD_CELL))
        return notebook


def read_checked(path: Path) -> tuple[CheckedNotebook, object]:
    """The notebook at ``path`` as the check runs it, and the nbformat notebook it was read from."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat fails in many ways on a file that is no notebook
        raise BadArgument(f"{path} cannot be read as a notebook ({type(error).__name__}: {error}). "
                          "Give the path of a Jupyter notebook (.ipynb).") from None
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        first, _, rest = cell.source.lstrip("\n").partition("\n")
        if first.startswith("%%step"):
            name = parse_step_line(first[len("%%step"):]).name
            cells.append(Cell(index, rest, first.rstrip(), name))
        elif first.startswith("%%params"):
            cells.append(Cell(index, rest, first.rstrip()))
        else:
            cells.append(Cell(index, cell.source))
    if any(cell.step for cell in cells):
        return CheckedNotebook(path, tuple(cells), made_steps=False), notebook
    made = tuple(Cell(c.index, c.body, f"%%step cell{c.index}", f"cell{c.index}") if _can_be_step(c.body) else c for c in cells)
    return CheckedNotebook(path, made, made_steps=True), notebook


def _can_be_step(source: str) -> bool:
    """A code cell that can become a step: no cell magic, no set-up magic (``!cmd`` is fine: the step runs every time)."""
    lines = source.lstrip("\n").splitlines()
    if not lines or lines[0].startswith("%%"):
        return False
    for line in lines:
        found = _LINE_MAGIC.match(line)
        if found and found.group(1) in _SET_UP_MAGICS:
            return False
    return True
