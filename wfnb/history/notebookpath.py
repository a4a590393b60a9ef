"""Which notebook a kernel runs, so that a workflow only ever holds steps of one notebook.

A kernel is not told which notebook it runs, but it can often find out:
Jupyter passes the notebook's path (``__session__``, ``JPY_SESSION_NAME``), VS
Code sets ``__vsc_ipynb_file__``, papermill injects ``PAPERMILL_INPUT_PATH``
as a parameter when asked (``--inject-paths``). A headless run by nbconvert or
nbclient passes nothing; there, the notebook is looked for among the
``.ipynb`` files of the working directory (where those tools run the kernel):
the one file whose code cells include every ``%%step`` and ``%%params`` cell
this kernel has run.

Several notebooks there may hold those cells: a copy beside the original
(``analysis-Copy1.ipynb``) holds them all. Then the one whose workflow the store
already has is taken, else the one whose name does not say it is a copy: a copy
never moves the original's headless runs into a new workflow.

When none of that names the notebook, the workflow gets a name of its own,
made up for this kernel (``notebook-20250105-141203-4242``), so that its steps
are never mixed with another notebook's; the session says once how to name it.

Two notebooks with one file name in different folders may share a store: the
workflow's name is the file's stem for the first, and for the other the stem
with as many of its folders as tell them apart (``exp2.analysis``), by the
notebook each workflow was recorded from (``workflow_name``).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfnb.cache.stepline import parse_step_line
from wfnb.errors import BadArgument, WfnbError

if TYPE_CHECKING:
    from wfnb.store import Store

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


def find_origin(
    namespace: Mapping[str, Any], environ: Mapping[str, str], ran: Iterable[str], known: Callable[[str], bool] = lambda _: False
) -> NotebookOrigin:
    """The notebook this kernel runs, from what its front end or runner said, else from the cells it ran.

    ``known(name)`` tells whether the store has a workflow of that name: among
    several notebooks holding the cells run, the one it knows is taken."""
    candidates = (
        ("VS Code", namespace.get("__vsc_ipynb_file__")),
        ("papermill", namespace.get("PAPERMILL_INPUT_PATH")),  # set for this run only: before an inherited session
        ("Jupyter", namespace.get("__session__")),
        ("Jupyter", environ.get("JPY_SESSION_NAME")),
    )
    for source, candidate in candidates:
        if isinstance(candidate, str) and candidate and _stem(candidate):
            return NotebookOrigin(_stem(candidate), _existing(candidate), source)
    found = _notebook_with_cells(Path.cwd(), [cell for cell in ran if cell.strip()], known)
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


def _notebook_with_cells(directory: Path, ran: list[str], known: Callable[[str], bool]) -> Path | None:
    """The notebook in ``directory`` whose code cells include every cell in ``ran``; None if none, or if several
    and neither the store (``known``) nor their names (a copy's) tell which."""
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
    for narrowed in (matches, [p for p in matches if known(_stem(p.name))], [p for p in matches if not _COPY.search(p.stem)]):
        if len(narrowed) == 1:
            return narrowed[0]
    return None


_COPY = re.compile(r"([-_ ]?copy\d*| \(\d+\)|-checkpoint)$", re.IGNORECASE)  # Jupyter's, a file manager's, a checkpoint


def notebook_workflow(store: Store, path: Path, stem: str) -> tuple[str, str | None]:
    """The workflow of notebook ``path`` in ``store`` (see ``workflow_name``), and, when that is not ``stem``,
    the other notebook that records ``stem`` (for the kernel to say so)."""

    def bound_to(name: str) -> str | None:
        try:
            data = store.refs.read(_notebook_ref(name))
        except WfnbError:
            return None
        return data.get("path") if isinstance(data, dict) and isinstance(data.get("path"), str) else None

    name = workflow_name(path, stem, _base_folder(store), bound_to)
    return name, (bound_to(stem) if name != stem else None)


def note_notebook(store: Store, workflow: str, path: Path) -> None:
    """Record that ``workflow`` is notebook ``path``'s (once, or again after that notebook moved)."""
    key = notebook_key(path, _base_folder(store))
    ref = _notebook_ref(workflow)
    try:
        data = store.refs.read(ref)
        if not isinstance(data, dict) or data.get("path") != key:
            store.refs.replace(ref, {"path": key})
    except WfnbError:
        pass  # a damaged or unwritable note: the workflow's name still holds for this kernel


def _notebook_ref(workflow: str) -> str:
    """The ref saying which notebook file a workflow is recorded from (``{"path": ...}``, see ``notebook_key``)."""
    return f"workflows/{workflow}/notebook"


def _base_folder(store: Store) -> Path | None:
    """The folder a notebook's path is recorded relative to: the local store's parent."""
    return store.root.parent if isinstance(store.root, Path) else None


def workflow_name(path: Path, stem: str, base: Path | None, bound_to: Callable[[str], str | None]) -> str:
    """The workflow for notebook ``path``: ``stem`` unless the store records it from another notebook that still
    exists; then the stem with the folders that tell the two apart, nearest first (``exp2.analysis``).

    ``bound_to(name)`` gives the notebook a workflow was recorded from (as ``notebook_key`` made it), or None.
    ``base`` is the folder the keys are relative to (the store's parent), when local.
    """
    key = notebook_key(path, base)
    folders = [re.sub(r"[^A-Za-z0-9_\-]", "_", part) for part in reversed(path.parent.parts) if part not in ("/", "")]
    name = stem
    for depth in range(len(folders) + 1):
        name = ".".join([*reversed(folders[:depth]), stem]) if depth else stem
        holder = bound_to(name)
        if holder is None or holder == key or not _still_there(holder, base):
            return name
    return name


def notebook_key(path: Path, base: Path | None) -> str:
    """How a store records which notebook a workflow is from: its path relative to ``base`` when inside it
    (the same wherever the project is copied), else absolute."""
    path = path.absolute()
    if base is not None:
        try:
            return path.relative_to(base.absolute()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _still_there(key: str, base: Path | None) -> bool:
    path = Path(key)
    if not path.is_absolute():
        if base is None:
            return False
        path = base / path
    return path.is_file()


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
