"""The variant table as one HTML table: grouped headers, aligned numbers, sideways scroll, clickable rows.

One HTML widget holds a whole page of rows, so a page paints at once whatever
the number of variants. Clicks go through ``bridge``: a row selects its
variant, the ☐ cell ticks it for comparison, a header sorts. Headers never
truncate: the table scrolls sideways instead, with the tick and variant
columns pinned on the left, under a header row grouping "parameters" and
"metrics". Numbers are right-aligned, each column with one number of decimals
so that the points line up (the full value is in the cell's tooltip).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from wfnb.frontends.browser import bridge, grouping, icons, table
from wfnb.frontends.browser.render import status_html, tag_html

CHANGE_MARKS = {
    "code": ("✎", "its code changed"),
    "params": ("⚙", "same code, other parameters"),
    "inputs": ("↓", "same code and parameters, other data from an earlier step"),
    "new": ("", "first variant"),
}
CHANGE_LEGEND = "changed steps: ✎ code changed · ⚙ parameters only · ↓ inputs from an earlier step"


@dataclass(frozen=True)
class TableView:
    """What one drawing of the table needs besides the rows and columns."""

    selected: str
    ticked: Sequence[str]
    sort_by: str
    descending: bool
    decimals: Mapping[str, int | None]
    change_kinds: Callable[[str], Mapping[str, str]]
    now: datetime
    empty: str = "No variant matches the filter."


def table_html(rows: Sequence[table.Row], columns: Sequence[table.Column], view: TableView) -> str:
    """The page of ``rows`` under grouped, sortable headers."""
    groups = _group_row(columns)
    starts = {c.key for i, c in enumerate(columns) if c.kind != "base" and (i == 0 or columns[i - 1].kind != c.kind)}
    headers = "".join(_header(column, view, starts) for column in columns)
    body = "".join(_row(row, columns, view, starts) for row in rows)
    if not rows:
        body = f'<tr><td class="wfnb-empty-row" colspan="{len(columns) + 1}">{escape(view.empty)}</td></tr>'
    tick = '<th class="wfnb-tick wfnb-pin0" title="tick to compare side by side">☐</th>'
    return _scrolling_table("wfnb-table", f"{groups}<tr>{tick}{headers}</tr>", body)


def _group_row(columns: Sequence[table.Column]) -> str:
    """'parameters' over the parameter columns, 'metrics' over the metric ones."""
    cells, run = ['<th class="wfnb-pin0"></th>'], []
    for column in columns:
        if run and run[-1][0] == column.kind:
            run[-1][1] += 1
        else:
            run.append([column.kind, 1])
    for index, (kind, span) in enumerate(run):
        label = {"param": "parameters", "metric": "metrics"}.get(kind, "")
        pin = " wfnb-pin1" if index == 0 else ""
        rule = " wfnb-group" if kind != "base" else ""
        cells.append(f'<th class="wfnb-group-head wfnb-g-{kind}{rule}{pin}" colspan="{span}">{label}</th>')
    return f'<tr class="wfnb-groups">{"".join(cells)}</tr>'


def _header(column: table.Column, view: TableView, starts: set[str]) -> str:
    sorted_here = column.key == view.sort_by
    arrow = (" ▼" if view.descending else " ▲") if sorted_here else ""
    kind = {"param": "parameter ", "metric": "metric "}.get(column.kind, "")
    aria = f' aria-sort="{"descending" if view.descending else "ascending"}"' if sorted_here else ""
    tip = f"sort by {kind}{column.label}" + (f" · {CHANGE_LEGEND}" if column.key == "changed" else "")
    return (
        f'<th class="{_classes(column, starts)} wfnb-sortable" title="{escape(tip)}"{aria} {bridge.act("sort", column.key)}>'
        f"{escape(column.label)}{arrow}</th>"
    )


def _row(row: table.Row, columns: Sequence[table.Column], view: TableView, starts: set[str]) -> str:
    if row.failed:
        return _failed_row(row, columns, view, starts)
    picked = row.ref == view.selected
    ticked = row.ref in view.ticked
    classes = "wfnb-row" + (" wfnb-selected" if picked else "") + (" wfnb-ticked" if ticked else "")
    tick = (
        f'<td class="wfnb-tick wfnb-pin0" title="{"untick" if ticked else "tick"} {escape(row.name)} to compare side by side" '
        f'{bridge.act("tick", row.ref)}>{"☑" if ticked else "☐"}</td>'
    )
    cells = "".join(_cell(row, column, view, _classes(column, starts)) for column in columns)
    selected = ' aria-selected="true"' if picked else ""
    return f'<tr class="{classes}" data-ref="{escape(row.ref)}"{selected} {bridge.act("select", row.ref)}>{tick}{cells}</tr>'


def _cell(row: table.Row, column: table.Column, view: TableView, classes: str) -> str:
    key = column.key
    if key == "variant":
        return f'<td class="{classes}"><span class="wfnb-variant">{escape(row.name)}</span></td>'
    if key == "tag":
        pin = f'<span class="wfnb-pin" title="pinned: wfnb gc keeps what it needs">{icons.icon("pin")}</span>' if row.pinned else ""
        return f'<td class="{classes}">{pin}{"".join(tag_html(tag) for tag in row.tags)}</td>'
    if key == "status":
        return f'<td class="{classes}">{status_html(row.status)}</td>'
    if key == "changed":
        return f'<td class="{classes}">{_changed(row, view)}</td>'
    if key == "age":
        stamp = f' title="{row.created:%Y-%m-%d %H:%M:%S} UTC"' if row.created is not None else ""
        return f'<td class="{classes}"{stamp}>{escape(table.format_age(row.created, view.now))}</td>'
    value = table.cell_value(row, key)
    if value is None:
        return f'<td class="{classes}"></td>'
    text = table.format_value(value, view.decimals.get(key))
    if table.is_number(value):
        return f'<td class="{classes} wfnb-num" title="{escape(repr(value))}">{escape(text)}</td>'
    return f'<td class="{classes} wfnb-text" title="{escape(text)}">{escape(text)}</td>'


def _failed_row(row: table.Row, columns: Sequence[table.Column], view: TableView, starts: set[str]) -> str:
    """A failed attempt, dimmed: the parameters tried, ``failed`` with the error, the step that failed, when."""
    tried = f"a replay of v{row.parent}" if row.parent is not None else "a run"
    cells = []
    for column in columns:
        classes = _classes(column, starts)
        if column.key == "variant":
            cells.append(f'<td class="{classes}" title="{escape(tried)} that failed: no variant was made"><span class="wfnb-variant">✖ failed</span></td>')
        elif column.key == "status":
            cells.append(f'<td class="{classes}" title="{escape(row.error)}">{status_html("failed")}</td>')
        elif column.key == "changed":
            step = row.changed[0] if row.changed else ""
            cells.append(f'<td class="{classes} wfnb-error" title="{escape(row.error)}">step {escape(step)}: {escape(row.error)}</td>')
        elif column.key in ("variant", "tag", "branch") or column.kind == "metric":
            cells.append(f'<td class="{classes}"></td>')
        else:
            cells.append(_cell(row, column, view, classes))
    tick = '<td class="wfnb-tick wfnb-pin0"></td>'
    return f'<tr class="wfnb-row wfnb-failed-row" data-ref="{escape(row.ref)}" title="{escape(tried)} failed in step {escape(", ".join(row.changed))}: {escape(row.error)}">{tick}{"".join(cells)}</tr>'


def _changed(row: table.Row, view: TableView) -> str:
    """Each changed step with its kind of change; a first variant says so instead of listing every step."""
    if row.parent is None:
        return '<span class="wfnb-muted">first variant</span>'
    if not row.changed:
        return '<span class="wfnb-muted">none</span>'
    kinds = view.change_kinds(row.ref)
    parts = []
    for step in row.changed:
        kind = kinds.get(step, "")
        mark, meaning = CHANGE_MARKS.get(kind, ("", "changed"))
        parts.append(f'<span class="wfnb-change wfnb-change-{kind or "unknown"}" title="{escape(step)}: {meaning}">{mark}{escape(step)}</span>')
    return " ".join(parts)


def _classes(column: table.Column, starts: set[str]) -> str:
    classes = [f"wfnb-col-{column.kind}"]
    if column.key in starts:
        classes.append("wfnb-group-start")
    if column.key == "variant":
        classes.append("wfnb-pin1")
    return " ".join(classes)


def groups_html(groups: Sequence[grouping.Group], by: Sequence[str], metrics: Sequence[str], view: TableView) -> str:
    """One row per group: its parameters, how many variants, each metric's mean ± std (min–max under it).
    A click on a group lists its members (``expand``)."""
    head = (
        '<tr class="wfnb-groups"><th class="wfnb-pin0"></th>'
        '<th class="wfnb-group-head wfnb-g-base wfnb-pin1"></th>'
        + (f'<th class="wfnb-group-head wfnb-g-metric wfnb-group" colspan="{len(metrics)}">metrics: mean ± std (min – max)</th>' if metrics else "")
        + (f'<th class="wfnb-group-head wfnb-g-param wfnb-group" colspan="{len(by)}">grouped by</th>' if by else "")
        + "</tr>"
    )
    cells = ['<th class="wfnb-tick wfnb-pin0"></th>', f'<th class="wfnb-col-base wfnb-pin1 wfnb-sortable" {bridge.act("sort", "count")}>variants</th>']
    for kind, names in (("metric", metrics), ("param", by)):
        for index, name in enumerate(names):
            key = f"{kind}:{name}"
            arrow = (" ▼" if view.descending else " ▲") if key == view.sort_by else ""
            start = " wfnb-group-start" if index == 0 else ""
            cells.append(f'<th class="wfnb-col-{kind}{start} wfnb-sortable" title="sort the groups by {escape(name)}" {bridge.act("sort", key)}>{escape(name)}{arrow}</th>')
    body = "".join(_group_row_html(group, by, metrics, view) for group in groups)
    if not groups:
        body = f'<tr><td class="wfnb-empty-row" colspan="{len(by) + len(metrics) + 2}">{escape(view.empty)}</td></tr>'
    return _scrolling_table("wfnb-table wfnb-grouped", f'{head}<tr>{"".join(cells)}</tr>', body)


def _scrolling_table(classes: str, head: str, body: str) -> str:
    """A table that scrolls sideways in its own box, whose clicks go through the bridge."""
    return (
        f'<div class="wfnb-table-scroll" {bridge.on_click_attribute()}><table class="{classes}">'
        f"<thead>{head}</thead><tbody>{body}</tbody></table></div>"
    )


def _group_row_html(group: grouping.Group, by: Sequence[str], metrics: Sequence[str], view: TableView) -> str:
    count = f"{group.size} variant{'s' if group.size != 1 else ''}"
    cells = [f'<td class="wfnb-tick wfnb-pin0">▸</td><td class="wfnb-col-base wfnb-pin1"><span class="wfnb-variant">{count}</span></td>']
    for index, name in enumerate(metrics):
        start = " wfnb-group-start" if index == 0 else ""
        stats = group.stats.get(name)
        if stats is None:
            cells.append(f'<td class="wfnb-col-metric{start}"></td>')
            continue
        decimals = view.decimals.get(f"metric:{name}")
        spread = f"{table.format_value(stats.low, decimals)} – {table.format_value(stats.high, decimals)}" if stats.low != stats.high else ""
        tip = f"{name}: mean {stats.mean!r}, std {stats.std!r}, min {stats.low!r}, max {stats.high!r} over {stats.count}"
        cells.append(
            f'<td class="wfnb-col-metric wfnb-num{start}" title="{escape(tip)}">{escape(grouping.format_stats(stats, decimals))}'
            + (f'<div class="wfnb-range">{escape(spread)}</div>' if spread else "") + "</td>"
        )
    for index, name in enumerate(by):
        start = " wfnb-group-start" if index == 0 else ""
        value = group.params.get(name)
        text = "" if value is None else table.format_value(value)
        align = " wfnb-num" if table.is_number(value) else " wfnb-text"
        cells.append(f'<td class="wfnb-col-param{align}{start}">{escape(text)}</td>')
    title = f"list the {count} of this group"
    return f'<tr class="wfnb-row wfnb-group-row" data-group="{escape(group.key)}" title="{escape(title)}" {bridge.act("expand", group.key)}>{"".join(cells)}</tr>'
