"""Which of a notebook file's ``%%step`` cells differ from a variant's steps, read from the saved file.

After a kernel restart the notebook has run nothing, so the session cannot
say which cells differ from a variant being restored; the saved file can.
Code is compared as Python's syntax tree (IPython's own syntax turned into
calls first), so comments, blank lines and layout do not count, as for the
cache key; a cell that does not parse is compared as text.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from wfnb.cache.stepline import step_options
from wfnb.errors import WfnbError

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant


def step_cells(path: Path) -> dict[str, str] | None:
    """Step name → the code under its ``%%step`` line, from the saved notebook; None if it cannot be read."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except (OSError, ValueError, nbformat.ValidationError):
        return None
    found: dict[str, str] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or not cell.source.startswith("%%step"):
            continue
        line, _, body = cell.source.partition("\n")
        try:
            name = step_options(line[len("%%step"):].strip()).name
        except (WfnbError, SystemExit):
            continue
        found[name] = body
    return found


def differing_steps(path: Path, variant: RecordedVariant) -> tuple[list[str], list[str]] | None:
    """(steps whose cell shows other code than the variant's, the variant's steps with no cell in the file);
    None when the file cannot be read."""
    cells = step_cells(path)
    if cells is None:
        return None
    other, missing = [], []
    for record in variant.steps:
        if record.step not in cells:
            missing.append(record.step)
        elif _shape(cells[record.step]) != _shape(record.code):
            other.append(record.step)
    return other, missing


def _shape(code: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.dump(ast.parse(TransformerManager().transform_cell(code)))
    except (SyntaxError, ValueError):
        return code.strip()
