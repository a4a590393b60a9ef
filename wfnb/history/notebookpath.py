"""Which notebook a kernel runs, so that a workflow only ever holds steps of one notebook.

A kernel is not told which notebook it runs, but it can often find out:
Jupyter passes the notebook's path (``__session__``, ``JPY_SESSION_NAME``), VS
Code sets ``__vsc_ipynb_file__``, papermill injects ``PAPERMILL_INPUT_PATH``
as a parameter when asked (``--inject-paths``). A headless run by nbconvert or
nbclient passes nothing; there, the notebook is looked for among the
``.ipynb`` files of the working directory (where those tools run the kernel):
the one file whose code cells include every ``%%step`` and ``%%params`` cell
this kernel has run.

When none of that names the notebook, the workflow gets a name of its own,
made up for this kernel (``notebook-20250105-141203-4242``), so that its steps
are never mixed with another notebook's; the session says once how to name it.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from wfnb.cache.stepline import parse_step_line
from wfnb.errors import BadArgument

_SEARCH_LIMIT = 50  # notebooks in the working directory worth reading to find the one running
_SIZE_LIMIT = 50 << 20  # a notebook file larger than this is not read for that


@dataclass(frozen=True)
class NotebookOrigin:
    """What this kernel knows about its notebook."""

    name: str  # the workflow's default name
    path: Path | None  # the notebook file, when known
    source: str  # how it was found: "Jupyter", "VS Code", "papermill", "the working directory", or "" (made up)

    @property
    def known(self) -> bool:
        return bool(self.source)


def find_origin(namespace: Mapping[str, Any], environ: Mapping[str, str], ran: Iterable[str]) -> NotebookOrigin:
    """The notebook this kernel runs, from what its front end or runner said, else from the cells it ran."""
    candidates = (
        ("VS Code", namespace.get("__vsc_ipynb_file__")),
        ("papermill", namespace.get("PAPERMILL_INPUT_PATH")),  # set for this run only: before an inherited session
        ("Jupyter", namespace.get("__session__")),
        ("Jupyter", environ.get("JPY_SESSION_NAME")),
    )
    for source, candidate in candidates:
        if isinstance(candidate, str) and candidate and _stem(candidate):
            return NotebookOrigin(_stem(candidate), _existing(candidate), source)
    found = _notebook_with_cells(Path.cwd(), [cell for cell in ran if cell.strip()])
    if found is not None:
        return NotebookOrigin(_stem(found.name), found, "the working directory")
    made_up = f"notebook-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    return NotebookOrigin(made_up, None, "")


def saved_step_names(path: Path) -> frozenset[str] | None:
    """The names of the ``%%step`` cells in the notebook file as last saved; None if it cannot be read."""
    try:
        cells = _code_cells(path)
    except (OSError, ValueError):
        return None
    names = set()
    for source in cells:
        first = source.lstrip("\n").partition("\n")[0]
        if first.startswith("%%step"):
            name = _step_name(first[len("%%step") :])
            if name:
                names.add(name)
    return frozenset(names)


def _step_name(line: str) -> str:
    """The step name in a ``%%step`` line, parsed as the magic parses it; "" if it does not parse."""
    try:
        return parse_step_line(line).name
    except BadArgument:
        return ""


def _stem(path_text: str) -> str:
    """A workflow name from a notebook's path: its file stem, with unsafe characters replaced."""
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", Path(path_text).stem)
    return stem if stem.strip(".") else ""


def _existing(path_text: str) -> Path | None:
    """The notebook file a front end named: as given (relative to the kernel's directory), else by its name there."""
    path = Path(path_text)
    path = path if path.is_absolute() else Path.cwd() / path
    if path.is_file():
        return path
    beside = Path.cwd() / path.name  # older Jupyter gave a path relative to the server's root
    return beside if beside.is_file() else None


def _notebook_with_cells(directory: Path, ran: list[str]) -> Path | None:
    """The one notebook in ``directory`` whose code cells include every cell in ``ran``; None if none or several."""
    if not ran:
        return None
    try:
        files = sorted(directory.glob("*.ipynb"))[:_SEARCH_LIMIT]
    except OSError:
        return None
    ours = [cell for cell in ran if cell.lstrip().startswith(("%%step", "%%params"))]
    wanted = {cell.strip() for cell in ours or ran}  # wfnb's cells if any: a runner may inject cells of its own
    matches = []
    for path in files:
        try:
            if path.stat().st_size > _SIZE_LIMIT:
                continue
            cells = {cell.strip() for cell in _code_cells(path)}
        except (OSError, ValueError):
            continue
        if wanted <= cells:
            matches.append(path)
    return matches[0] if len(matches) == 1 else None


def _code_cells(path: Path) -> list[str]:
    """The sources of a notebook file's code cells (nbformat 4 JSON)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook.get("cells", []) if isinstance(notebook, dict) else []
    found = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            found.append("".join(source) if isinstance(source, list) else str(source))
    return found
