"""What may differ from one plain run of a notebook to the next: the cells and names two plain runs
disagree on, and everything computed from them.

Two plain runs show which cells draw from an unseeded generator or read the clock. A value
computed from such a draw can still agree between two runs by chance and differ in a third:
a Gaussian mixture fitted from a random start finds the same clusters with their labels
permuted, so the largest probability of each point (``probs.max(1)``) is the same twice, and
not after the next fit, which lands in another optimum. A cached run restores one run's draws,
a plain run makes new ones: a difference downstream of a draw is the draw's, not the cache's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from wfnb.frontends.check.prepare import Cell


def downstream(cells: Iterable[Cell], unsteady_cells: set[int], unsteady_names: set[str]) -> tuple[set[int], set[str]]:
    """The cells and names that may differ between plain runs, given those seen to differ.

    In notebook order, a cell that reads a name that may differ may differ too, and so may
    the names it assigns. A cell seen to differ only in what it showed (a figure a pixel
    taller, a timing) passes nothing on: its names were compared at the end like any other.
    """
    found, names = set(unsteady_cells), set(unsteady_names)
    for cell in cells:
        loads, stores = _names(cell.body)
        if loads & names:
            found.add(cell.index)
            names |= stores
    return found, names


def _names(source: str) -> tuple[set[str], set[str]]:
    """The names a cell's code reads, and those it assigns (anywhere in it, functions included)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        tree = ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # noqa: BLE001 - code that does not parse reads and assigns nothing we can tell
        return set(), set()
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
    return loads, stores
