"""The automatic edits the check makes to a notebook's copy, each a change a user makes every day.

Each finder looks for a place where its edit makes sense (a numeric literal in
a step, in a local module the notebook imports, a value in a CSV file it
reads) and returns an ``EditPlan``: what it changes, and how, as a new notebook
model and the file contents to write in the copy. ``None`` means the edit does
not apply to this notebook; the report says so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from wfnb.frontends.check.prepare import CheckedNotebook

EditKind = Literal["cell literal", "module literal", "data file", "new file", "cell twice"]
EDIT_KINDS: tuple[EditKind, ...] = ("cell literal", "module literal", "data file", "new file", "cell twice")
NEW_FILE = "wfnb-check-new-file.txt"
_DATA_LIMIT = 5 << 20  # a data file larger than this is not edited (the check copies and rewrites it)
_NUMBER_FIELD = re.compile(r"^(\s*)(-?\d+)(\.\d+)?(\s*)$")
_MUTATING_CALLS = re.compile(r"\.(append|extend|update|insert|pop|remove|add|sort|fillna|drop|rename)\(|inplace\s*=\s*True")


@dataclass(frozen=True)
class EditPlan:
    """One edit, ready to apply: the notebook model after it, the files to write, the cell order to run."""

    kind: EditKind
    detail: str
    notebook: CheckedNotebook
    files: dict[str, bytes] = field(default_factory=dict)  # path relative to the notebook's folder -> new bytes
    order: list[int] | None = None  # positions in notebook.cells, a cell repeated (cell twice)


def plan_edit(kind: EditKind, notebook: CheckedNotebook, folder: Path, failing: frozenset[int] = frozenset(),
              attempt: int = 0) -> EditPlan | None:
    """The edit ``kind`` for this notebook, in its copy at ``folder``, or None where it does not apply.

    ``failing`` are the cells that raise in a plain run: no cell edit is made there.
    ``attempt`` 1, 2, ... asks for another literal than the first (the first one broke the
    notebook: a year that a later cell looks up); edits with one place only give None then.
    """
    steps = [p for p, cell in enumerate(notebook.cells) if cell.step and cell.index not in failing]
    if attempt and kind not in _RETRIED:
        return None
    finder = _FINDERS[kind]
    return finder(notebook, folder, steps, attempt) if kind in _RETRIED else finder(notebook, folder, steps)  # type: ignore[operator]  # the retried finders take the attempt too


def _cell_literal(notebook: CheckedNotebook, folder: Path, steps: list[int], attempt: int = 0) -> EditPlan | None:
    for position in steps:
        cell = notebook.cells[position]
        count = _literal_count(cell.body)
        if attempt >= count:
            attempt -= count
            continue
        body, what = _literal_edit(cell.body, attempt)  # type: ignore[misc]  # attempt < its count: there is such an edit
        return EditPlan("cell literal", f"cell {cell.index} (step {cell.step}): {what}",
                        notebook.with_cell(position, cell.with_body(body)))
    return None


def _module_literal(notebook: CheckedNotebook, folder: Path, steps: list[int], attempt: int = 0) -> EditPlan | None:
    code = "\n".join(cell.body for cell in notebook.cells)
    for path in sorted(folder.glob("*.py")):
        if not re.search(rf"^\s*(from|import)\s+{re.escape(path.stem)}\b", code, re.MULTILINE):
            continue
        source = path.read_text(encoding="utf-8", errors="replace")
        count = _literal_count(source)
        if attempt >= count:
            attempt -= count
            continue
        text, what = _literal_edit(source, attempt)  # type: ignore[misc]  # attempt < its count: there is such an edit
        return EditPlan("module literal", f"{path.name}: {what}", notebook, {path.name: text.encode("utf-8")})
    return None


def _data_file(notebook: CheckedNotebook, folder: Path, steps: list[int]) -> EditPlan | None:
    code = "\n".join(cell.body for cell in notebook.cells)
    for path in sorted(folder.rglob("*.csv")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or path.stat().st_size > _DATA_LIMIT:
            continue
        if path.name not in code:
            continue
        data = path.read_bytes()
        changed = _changed_csv(data)
        if changed:
            text, what = changed
            return EditPlan("data file", f"{relative.as_posix()}: {what}", notebook, {relative.as_posix(): text})
    return None


def _new_file(notebook: CheckedNotebook, folder: Path, steps: list[int]) -> EditPlan | None:
    if not notebook.steps:
        return None
    return EditPlan("new file", f"added {NEW_FILE} beside the notebook", notebook,
                    {NEW_FILE: b"a file the check added: no step reads it\n"})


def _cell_twice(notebook: CheckedNotebook, folder: Path, steps: list[int]) -> EditPlan | None:
    if not steps:
        return None
    chosen = next((p for p in steps if _changes_in_place(notebook.cells[p].body)), steps[0])
    order = list(range(len(notebook.cells)))
    order.insert(chosen + 1, chosen)
    cell = notebook.cells[chosen]
    return EditPlan("cell twice", f"cell {cell.index} (step {cell.step}) run twice in a row", notebook, order=order)


_RETRIED = frozenset({"cell literal", "module literal"})
_FINDERS = {
    "cell literal": _cell_literal,
    "module literal": _module_literal,
    "data file": _data_file,
    "new file": _new_file,
    "cell twice": _cell_twice,
}


def _literal_count(source: str) -> int:
    return len(_literals(source))


def _literals(source: str) -> list[ast.Constant]:
    """The numeric literals of the code's assignments that an edit may change, the likeliest first: those
    assigned as they are (``n = 5``), in order, then those inside an assigned expression."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (!cmd, %magic): leave the cell alone
        return []
    direct, nested = [], []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
            for inner in ast.walk(node.value):
                if isinstance(inner, ast.Constant) and type(inner.value) in (int, float):
                    (direct if inner is node.value else nested).append(inner)
    found = sorted(direct, key=_position) + sorted(nested, key=_position)
    return [node for node in found if node.end_lineno == node.lineno and node.end_col_offset is not None]


def _literal_edit(source: str, attempt: int = 0) -> tuple[str, str] | None:
    """``source`` with one numeric literal of an assignment changed a little (the ``attempt``-th candidate),
    and what changed; None if there is no such literal."""
    candidates = _literals(source)
    if attempt >= len(candidates):
        return None
    literal = candidates[attempt]
    old = literal.value
    new = (old + 1 if old != 0 else 1) if isinstance(old, int) else (round(old * 1.1, 6) if old else 0.5)
    lines = source.splitlines(keepends=True)
    line = lines[literal.lineno - 1].encode("utf-8")
    start, end = literal.col_offset, literal.end_col_offset
    lines[literal.lineno - 1] = (line[:start] + repr(new).encode() + line[end:]).decode("utf-8")
    return "".join(lines), f"line {literal.lineno}: {line[start:end].decode()} → {new!r}"


def _position(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _changed_csv(data: bytes) -> tuple[bytes, str] | None:
    """The CSV with one number of its last row changed (+1), else with its last row repeated."""
    text = data.decode("utf-8", errors="surrogateescape")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(newline)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) < 2:
        return None
    fields = lines[-1].split(",")
    for number, value in enumerate(fields):
        found = _NUMBER_FIELD.match(value)
        if found:
            lead, whole, decimals, trail = found.groups()
            fields[number] = f"{lead}{int(whole) + 1}{decimals or ''}{trail}"
            lines[-1] = ",".join(fields)
            edited = newline.join(lines) + newline
            return edited.encode("utf-8", errors="surrogateescape"), f"last row, field {number + 1}: {value.strip()} → {fields[number].strip()}"
    lines.append(lines[-1])
    return (newline.join(lines) + newline).encode("utf-8", errors="surrogateescape"), "last row repeated"


def _changes_in_place(body: str) -> bool:
    """Whether a step's code likely changes a value it read (``x += 1``, ``df["c"] = ...``, ``.append(...)``)."""
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign):
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets):
            return True
    return bool(_MUTATING_CALLS.search(body))
