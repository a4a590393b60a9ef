"""The variant table as plain data: one row per variant, its columns, sorting, paging, number formats.

Kept apart from the model so that the rules an analyst relies on (where missing
values sort, how an age or a metric reads, how many decimals a column shows)
are plain functions over plain rows, cheap enough for thousands of variants per
keystroke. What a filter matches is ``query``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from wfnb.history.attempts import FailedAttempt
    from wfnb.history.snapshots import RecordedVariant

ColumnKind = Literal["base", "param", "metric"]
# current: the notebook is at it; stale: the notebook has left it; freed: `wfnb gc` let its values go
# (a replay computes them); failed: an attempt (a replay, a sweep's point) that failed; "": a variant kept as made.
RowStatus = Literal["current", "stale", "freed", "failed", ""]
ChangeKind = Literal["code", "params", "inputs", "new"]
ANY_TAG = ""  # the tag filter that keeps every variant
TAGGED = "*"  # the tag filter that keeps the tagged ones
# A text column sorts A→Z on its first click; a number or a date is most useful largest/newest first.
_ASCENDING_FIRST = {"workflow", "tag", "changed", "status", "branch"}
SIGNIFICANT = 5  # digits a metric shows at most (its full value is in the cell's tooltip)
MAX_DECIMALS = 6  # past this a column's small numbers switch to scientific notation
BASE_COLUMNS = ("variant", "workflow", "status", "tag", "branch", "changed", "age")


@dataclass(frozen=True)
class Column:
    """One column of the table: ``key`` addresses the row's value, ``label`` is its header."""

    key: str
    label: str
    kind: ColumnKind = "base"

    @property
    def name(self) -> str:
        """The parameter's or metric's own name (the key without its kind)."""
        return self.key.split(":", 1)[1] if self.kind != "base" else self.key


@dataclass(frozen=True)
class Row:
    """What the table shows of one variant; the Variant itself stays in the model's cache."""

    ref: str  # "workflow/v3": unique across the store
    workflow: str
    number: int
    tags: tuple[str, ...]
    notes: Mapping[str, str]
    created: datetime | None
    parent: int | None
    changed: tuple[str, ...]
    status: RowStatus
    identity: str
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    text: str = field(repr=False, compare=False)  # lower-case words a bare filter word searches
    pinned: bool = False  # wfnb gc keeps what it needs
    branches: Mapping[str, str] = field(default_factory=dict)  # step → the branch its choices took
    error: str = ""  # a failed attempt's error (its row has no variant behind it)

    @property
    def name(self) -> str:
        return f"v{self.number}" if not self.failed else "failed"

    @property
    def failed(self) -> bool:
        """A failed attempt: no variant behind the row, only the parameters tried and the error."""
        return self.status == "failed"


def make_row(variant: RecordedVariant, status: RowStatus) -> Row:
    """A row for ``variant``, reading only its manifest (no step record is loaded)."""
    branches = variant.steps.branches() if hasattr(variant.steps, "branches") else {}
    words = [variant.workflow, *variant.tags, *variant.notes.values(), *variant.changed_steps, status, "pinned" if variant.pinned else "", *branches.values()]
    return Row(
        ref=f"{variant.workflow}/{variant.name}",
        workflow=variant.workflow,
        number=variant.number,
        tags=tuple(variant.tags),
        notes=dict(variant.notes),
        created=parse_time(variant.created),
        parent=variant.parent,
        changed=tuple(variant.changed_steps),
        status=status,
        identity=variant.identity,
        params=dict(variant.params),
        metrics=dict(variant.metrics),
        text=" ".join(str(word) for word in words).lower(),
        pinned=variant.pinned,
        branches=branches,
    )


def failed_row(attempt: FailedAttempt) -> Row:
    """A row for a failed attempt: the parameters tried, the step that failed (as its changed step), the error."""
    words = [attempt.workflow, "failed", attempt.step, attempt.error, attempt.label]
    return Row(
        ref=f"{attempt.workflow}/failed/{attempt.ident}",
        workflow=attempt.workflow,
        number=attempt.replayed if attempt.replayed is not None else 0,
        tags=(),
        notes={},
        created=parse_time(attempt.at),
        parent=attempt.replayed,
        changed=(attempt.step,),
        status="failed",
        identity="",
        params=dict(attempt.params),
        metrics={},
        text=" ".join(words).lower(),
        error=attempt.error,
    )


def columns_for(rows: Sequence[Row], every_workflow: bool) -> list[Column]:
    """The variant, then one column per metric and one per parameter seen in ``rows`` (first-seen
    order), then status, tag, branch (when some step took one), changed steps and age.

    Metrics lead: they are what a table of experiments is read for, and at a laptop's width with
    JupyterLab's file panel open the columns after the first few are off-screen.
    """
    columns = [Column("variant", "variant")]
    if every_workflow:
        columns.append(Column("workflow", "workflow"))
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    branched = False
    for row in rows:
        params.update(dict.fromkeys(row.params))
        metrics.update(dict.fromkeys(row.metrics))
        branched = branched or bool(row.branches)
    columns += [Column(f"metric:{name}", name, "metric") for name in metrics]
    columns += [Column(f"param:{name}", name, "param") for name in params]
    columns += [Column("status", "status"), Column("tag", "tag")]
    if branched:
        columns.append(Column("branch", "branch"))
    columns += [Column("changed", "changed steps"), Column("age", "age")]
    return columns


def branch_text(branches: Mapping[str, str]) -> str:
    """The branches a variant's steps took: 'else' for one step, 'trend: else · fit: if …' for several."""
    if len(branches) == 1:
        return next(iter(branches.values()))
    return " · ".join(f"{step}: {taken}" for step, taken in branches.items())


def filter_by_tag(rows: Sequence[Row], tag: str) -> list[Row]:
    """Rows with tag ``tag`` (``TAGGED``: any tag; ``ANY_TAG``: every row)."""
    if tag == ANY_TAG:
        return list(rows)
    if tag == TAGGED:
        return [row for row in rows if row.tags]
    return [row for row in rows if tag in row.tags]


def sort_rows(rows: Sequence[Row], key: str, descending: bool) -> list[Row]:
    """Rows ordered by column ``key``; rows without a value come last either way, ties newest first."""
    present = [row for row in rows if cell_value(row, key) is not None]
    missing = [row for row in rows if cell_value(row, key) is None]
    present.sort(key=_newest, reverse=True)
    present.sort(key=lambda row: _order_key(cell_value(row, key)), reverse=descending)  # stable: ties stay newest first
    missing.sort(key=_newest, reverse=True)
    return present + missing


def first_click_descending(key: str) -> bool:
    return key not in _ASCENDING_FIRST


def cell_value(row: Row, key: str) -> Any:
    """The value a column sorts by (None: no value)."""
    if key == "variant":
        return row.number
    if key == "age":
        return row.created
    if key == "workflow":
        return row.workflow
    if key == "tag":
        return ", ".join(row.tags) or None
    if key == "changed":
        return ", ".join(row.changed) or None
    if key == "status":
        return row.status or None
    if key == "branch":
        return branch_text(row.branches) or None
    kind, _, name = key.partition(":")
    source = row.params if kind == "param" else row.metrics if kind == "metric" else {}
    return source.get(name)


def cell_text(row: Row, key: str, now: datetime, decimals: int | None = None) -> str:
    """The text a column shows for ``row`` (``decimals``: the column's, from ``column_decimals``)."""
    if key == "variant":
        return row.name
    if key == "age":
        return format_age(row.created, now)
    value = cell_value(row, key)
    return "" if value is None else format_value(value, decimals)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def column_decimals(values: Sequence[Any]) -> int | None:
    """How many decimals a column of numbers shows, so that its decimal points line up.

    Enough for ``SIGNIFICANT`` digits of each value, at most ``MAX_DECIMALS``;
    None when the column holds no float (integers and text show as they are).
    """
    floats = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    if not floats:
        return None
    needed = 0
    for value in floats:
        text = f"{value:.{SIGNIFICANT}g}"
        if "e" in text:
            continue  # shown in scientific notation whatever the column does
        needed = max(needed, len(text.partition(".")[2]))
    return min(needed, MAX_DECIMALS)


def format_value(value: Any, decimals: int | None = None) -> str:
    """A parameter or metric as an analyst reads it: floats to 4 significant digits (or the column's
    decimals), lists and dicts as JSON-like text, no quotes around a string."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if decimals is not None and value != 0 and (abs(value) >= 1e9 or abs(value) < 10 ** -decimals / 2):
            return f"{value:.{SIGNIFICANT - 1}e}"  # would show as 0.000 or a wall of digits
        return f"{value:.{decimals}f}" if decimals is not None else f"{value:.{SIGNIFICANT}g}"
    if isinstance(value, str):
        return value
    return repr(value)


def format_age(created: datetime | None, now: datetime) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago', then the date."""
    if created is None:
        return ""
    seconds = (now - created).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    if seconds < 14 * 86400:
        days = round(seconds / 86400)
        return f"{days} day{'s' if days != 1 else ''} ago"
    return created.strftime("%Y-%m-%d")


def page_of(rows: Sequence[Row], page: int, size: int) -> list[Row]:
    return list(rows[page * size : (page + 1) * size])


def page_count(total: int, size: int) -> int:
    return max(1, math.ceil(total / size))


def text_table(rows: Sequence[Row], columns: Sequence[Column], now: datetime, limit: int = 15) -> str:
    """A plain-text table of the first ``limit`` rows, for a terminal or a notebook without widgets."""
    shown = [[column.label for column in columns]]
    shown += [[cell_text(row, column.key, now) for column in columns] for row in rows[:limit]]
    widths = [min(24, max(len(line[i]) for line in shown)) for i in range(len(columns))]
    lines = ["  ".join(text[:24].ljust(width) for text, width in zip(line, widths)).rstrip() for line in shown]
    if len(rows) > limit:
        lines.append(f"… and {len(rows) - limit} more")
    return "\n".join(lines)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def parse_time(text: str) -> datetime | None:
    """An ISO time as an aware datetime (UTC when it names no zone); None when unreadable."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _order_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, so that a column mixing both still sorts (and never raises)."""
    if is_number(value):
        return (0, value if not (isinstance(value, float) and math.isnan(value)) else math.inf)
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, datetime):
        return (0, value.timestamp())
    return (1, str(value).lower())


def _newest(row: Row) -> tuple[float, int]:
    return (row.created.timestamp() if row.created else 0.0, row.number)
