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
    from wfnb.history.snapshots import RecordedVariant

ColumnKind = Literal["base", "param", "metric"]
RowStatus = Literal["current", "stale", "complete"]
ChangeKind = Literal["code", "params", "inputs", "new"]
ANY_TAG = ""  # the tag filter that keeps every variant
TAGGED = "*"  # the tag filter that keeps the tagged ones
# A text column sorts A→Z on its first click; a number or a date is most useful largest/newest first.
_ASCENDING_FIRST = {"workflow", "tag", "changed", "status"}
SIGNIFICANT = 5  # digits a metric shows at most (its full value is in the cell's tooltip)
MAX_DECIMALS = 6  # past this a column's small numbers switch to scientific notation
BASE_COLUMNS = ("variant", "workflow", "tag", "age", "changed", "status")


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

    @property
    def name(self) -> str:
        return f"v{self.number}"


def make_row(variant: RecordedVariant, status: RowStatus) -> Row:
    """A row for ``variant``, reading only its manifest (no step record is loaded)."""
    words = [variant.workflow, *variant.tags, *variant.notes.values(), *variant.changed_steps, status, "pinned" if variant.pinned else ""]
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
    )


def columns_for(rows: Sequence[Row], every_workflow: bool) -> list[Column]:
    """The fixed columns, then one per parameter and one per metric seen in ``rows``, in first-seen order."""
    columns = [Column("variant", "variant")]
    if every_workflow:
        columns.append(Column("workflow", "workflow"))
    columns += [Column("tag", "tag"), Column("age", "age"), Column("changed", "changed steps"), Column("status", "status")]
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for row in rows:
        params.update(dict.fromkeys(row.params))
        metrics.update(dict.fromkeys(row.metrics))
    columns += [Column(f"param:{name}", name, "param") for name in params]
    columns += [Column(f"metric:{name}", name, "metric") for name in metrics]
    return columns


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
        return row.status
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
