"""Variants as a table: a DataFrame for Python (``wfnb.variants()``), text for a terminal, rows for JSON.

One row per variant, built once from the store, with parameters and metrics
kept apart (a parameter and a metric may share a name). The terminal table is
read like ``dvc exp show`` or MLflow's search results: it fits the width it is
given, dropping the least useful columns first and saying which; numbers are
right-aligned on their decimal point with the precision they were logged
with, and integers stay integers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfnb.cache.execution import warn
from wfnb.errors import BadArgument, CorruptObject
from wfnb.history.snapshots import current_number, list_variants, workflows

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store

BRANCH_PREFIX = "branch."  # the column of the branch a step took: "branch.strategy" (no parameter has a dot)
# "tags", as in --json and Variant.tags (the frame joins them with ", "); "tag" is still accepted in --columns
BASE_COLUMNS = ("workflow", "variant", "tags", "created", "parent", "changed_steps", "status", "pinned", "hash")
_DROP_FIRST = ("hash", "pinned", "parent", "created", "status", "changed_steps", "tags", "workflow")  # when the width is short
_ALIASES = {"tag": "tags"}  # the name the column had before
_TEXT_LIMIT = 28  # characters of a text cell (tags, changed steps) before it is cut with "…"
_MISSING = "-"


@dataclass(frozen=True)
class VariantRow:
    """What the listings show of one variant."""

    workflow: str
    variant: str
    number: int
    tags: tuple[str, ...]
    created: str
    parent: str
    changed_steps: tuple[str, ...]
    status: str
    hash: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    branches: Mapping[str, str] = field(default_factory=dict)  # step → the branch its choices took
    pinned: bool = False

    def as_json(self) -> dict[str, Any]:
        """The row for ``--json``: parameters and metrics as separate objects."""
        return {
            "workflow": self.workflow, "variant": self.variant, "tags": list(self.tags), "created": self.created,
            "parent": self.parent or None, "changed_steps": list(self.changed_steps), "status": self.status,
            "hash": self.hash, "params": dict(self.params), "metrics": dict(self.metrics), "branches": dict(self.branches),
            "pinned": self.pinned,
        }


def variant_rows(store: Store, workflow: str | None = None) -> list[VariantRow]:
    """Every variant of ``workflow`` (of every workflow if None), oldest first within each workflow."""
    rows = []
    from wfnb.history.retention import values_let_go

    for name in [workflow] if workflow else workflows(store):
        current = _current(store, name)
        let_go = values_let_go(store, name)
        for v in list_variants(store, name):
            rows.append(VariantRow(
                workflow=v.workflow, variant=v.name, number=v.number, tags=tuple(v.tags), created=v.created,
                parent=f"v{v.parent}" if v.parent is not None else "", changed_steps=tuple(v.changed_steps),
                status="current" if v.number == current else "values let go" if v.number in let_go else "complete", hash=v.identity[:12],
                params=dict(v.params), metrics=dict(v.metrics), branches=v.steps.branches(), pinned=v.pinned,
            ))
    return rows


def _current(store: Store, workflow: str) -> int | None:
    """The number HEAD names; a damaged HEAD must not hide the list, nor be hidden: it is said, left as it is,
    and ``wfnb verify`` reports it (and sets it aside)."""
    try:
        return current_number(store, workflow)
    except CorruptObject as error:
        warn(f"no variant of {workflow} is marked current: {error}")
        return None


def variants_frame(store: Store, workflow: str | None = None) -> pd.DataFrame:
    """One row per variant: number, tag, created, parent, changed steps, status, then the branch each choice
    step took (``branch.STEP``: group by it with ``frame.groupby("branch.STEP")``), parameters and metrics.

    A parameter or metric named like an earlier column gets a ``param ``/``metric ``
    prefix. A column of whole numbers stays integer even where some variants lack it.
    """
    import pandas as pd

    rows = variant_rows(store, workflow)
    names = _all_columns(rows)
    table = {name: [_frame_value(row, name) for row in rows] for name in names}
    frame = pd.DataFrame({name: _typed(pd, values) for name, values in table.items()}, columns=names)
    if rows:
        frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    return frame


def _frame_value(row: VariantRow, name: str) -> Any:
    if name == "tags":
        return ", ".join(row.tags)
    if name == "changed_steps":
        return list(row.changed_steps)
    if name in BASE_COLUMNS:
        return getattr(row, name)
    return _value(row, name)


def _typed(pd: Any, values: list[Any]) -> Any:
    """A column that keeps whole numbers whole (nullable ``Int64``) and booleans boolean, despite gaps."""
    present = [v for v in values if v is not None]
    if present and len(present) < len(values):
        if all(type(v) is int for v in present):
            return pd.array(values, dtype="Int64")
        if all(type(v) is bool for v in present):
            return pd.array(values, dtype="boolean")
    return values


# -- the terminal table ----------------------------------------------------------


def select_rows(
    rows: Sequence[VariantRow], *, sort_by: str | None = None, descending: bool = False, limit: int | None = None
) -> list[VariantRow]:
    """Sort by a column (missing values last), then keep ``limit`` rows: the first ones when sorted, else the newest."""
    chosen = list(rows)
    sort_by = _ALIASES.get(sort_by, sort_by) if sort_by else sort_by
    if sort_by:
        known = _all_columns(chosen)
        if sort_by not in known:
            raise BadArgument(f"--sort-by {sort_by}: no such column; the columns are: {', '.join(known)}.")
        present = [row for row in chosen if _value(row, sort_by) is not None]
        missing = [row for row in chosen if _value(row, sort_by) is None]
        present.sort(key=lambda row: _sort_key(_value(row, sort_by)), reverse=descending)
        chosen = present + missing
    if limit is not None:
        chosen = chosen[:limit] if sort_by else chosen[-limit:] if limit else []
    return chosen


def render_table(
    rows: Sequence[VariantRow],
    *,
    width: int | None = None,
    columns: Sequence[str] | None = None,
    only_changed: bool = False,
) -> str:
    """The rows as aligned text at most ``width`` characters wide (None: no limit).

    ``columns`` chooses the columns and their order (``variant`` is always
    first). Without it: the base columns, then each parameter, then each metric;
    with ``only_changed``, only the parameters and metrics whose values differ
    between the rows. Columns that do not fit are left out, least useful first,
    and a last line names them.
    """
    if not rows:
        return ""
    names = _chosen_columns(rows, columns, only_changed)
    cells = {name: _column_cells(rows, name) for name in names}
    hidden: list[str] = []
    if width is not None:
        for name in _drop_order(names, chosen=columns is not None):
            if _table_width(cells) <= width:
                break
            hidden.append(name)
            del cells[name]
    lines = ["  ".join(text for text in line).rstrip() for line in zip(*cells.values())]
    if hidden:
        import textwrap

        note = (f"({len(hidden)} column{'s' if len(hidden) > 1 else ''} left out to fit {width} characters: "
                f"{', '.join(hidden)}; choose columns with --columns, or widen the terminal)")
        lines.extend(textwrap.wrap(note, width=max(width or 0, 40)))
    return "\n".join(lines)


def _chosen_columns(rows: Sequence[VariantRow], columns: Sequence[str] | None, only_changed: bool) -> list[str]:
    known = _all_columns(rows)
    if columns:
        columns = [_ALIASES.get(c, c) if c not in known else c for c in columns]
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise BadArgument(f"--columns: no column {', '.join(unknown)}; the columns are: {', '.join(known)}.")
        return ["variant", *[c for c in columns if c != "variant"]]
    several = len({row.workflow for row in rows}) > 1
    pinned = any(row.pinned for row in rows)
    base = [c for c in BASE_COLUMNS if c != "hash" and (c != "workflow" or several) and (c != "pinned" or pinned)]
    base.insert(0, base.pop(base.index("variant")))
    extra = [c for c in known if c not in BASE_COLUMNS]
    # a branch column is news only where the rows took different branches
    extra = [c for c in extra if not c.startswith(BRANCH_PREFIX) or len({_value(row, c) for row in rows}) > 1]
    if only_changed:
        extra = [c for c in extra if len({repr(_value(row, c)) for row in rows}) > 1]
    return base + extra + ["hash"]


def _all_columns(rows: Sequence[VariantRow]) -> list[str]:
    """Every column name: the base ones, the steps' branches, then parameters, then metrics (prefixed where names collide)."""
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    branches: dict[str, None] = {}
    for row in rows:
        params.update(dict.fromkeys(row.params))
        metrics.update(dict.fromkeys(row.metrics))
        branches.update(dict.fromkeys(row.branches))
    shown_params = [f"param {p}" if p in BASE_COLUMNS else p for p in params]
    shown_metrics = [f"metric {m}" if m in BASE_COLUMNS or m in params else m for m in metrics]
    return [*BASE_COLUMNS, *(f"{BRANCH_PREFIX}{b}" for b in branches), *shown_params, *shown_metrics]


def _value(row: VariantRow, column: str) -> Any:
    if column.startswith(BRANCH_PREFIX):
        return row.branches.get(column[len(BRANCH_PREFIX):])
    if column.startswith("param ") and column[6:] in row.params:
        return row.params[column[6:]]
    if column.startswith("metric ") and column[7:] in row.metrics:
        return row.metrics[column[7:]]
    if column == "pinned":
        return "pinned" if row.pinned else None
    if column in BASE_COLUMNS:
        value = getattr(row, column)
        return ", ".join(value) if isinstance(value, tuple) else (value or None)
    if column in row.params:
        return row.params[column]
    return row.metrics.get(column)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def _column_cells(rows: Sequence[VariantRow], name: str) -> list[str]:
    """The header and one cell per row, padded to one width: numbers right-aligned on their decimal point."""
    values = [_value(row, name) for row in rows]
    if name == "created":
        values = [v[:16].replace("T", " ") if v else None for v in values]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)
    if numeric and any(v is not None for v in values):
        texts = _aligned_numbers(values)
        size = max(len(name), *(len(t) for t in texts))
        return [name.rjust(size), *(t.rjust(size) for t in texts)]
    texts = [_MISSING if v is None else _cut(str(v)) for v in values]
    size = max(len(name), *(len(t) for t in texts))
    return [name.ljust(size), *(t.ljust(size) for t in texts)]


def _aligned_numbers(values: Sequence[Any]) -> list[str]:
    """Each number as it was logged (``repr``), padded after it so that the decimal points line up."""
    texts = [_MISSING if v is None else repr(v) for v in values]
    decimals = [len(t) - t.index(".") if "." in t and "e" not in t else 0 for t in texts]
    widest = max(decimals)
    return [t + " " * (widest - d) for t, d in zip(texts, decimals)]


def _cut(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _drop_order(names: Sequence[str], chosen: bool) -> list[str]:
    """Which columns go first when the table is too wide: never ``variant``; chosen ones from the right."""
    if chosen:
        return [n for n in reversed(names) if n != "variant"]
    base = [n for n in _DROP_FIRST if n in names]
    branches = [n for n in names if n.startswith(BRANCH_PREFIX)]
    extra = [n for n in reversed(names) if n not in BASE_COLUMNS and n not in branches]
    return base + branches + extra


def _table_width(cells: Mapping[str, list[str]]) -> int:
    return sum(len(column[0]) for column in cells.values()) + 2 * (len(cells) - 1)
