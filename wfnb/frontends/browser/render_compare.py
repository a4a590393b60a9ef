"""HTML for variants compared: the code of two step by step, and two or more side by side.

The code diff puts each version in its own column with the changed words
marked; the side-by-side table has a column per variant with every parameter
and metric (differences highlighted, each metric's lowest and highest marked)
and the figures of each step in a grid. Pure functions of ``details``' data.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from wfnb.frontends.browser import details, grouping, table
from wfnb.frontends.browser.render import highlight, image_html, maybe_html, tag_html

DIFF_CONTEXT = 3  # unchanged lines kept around a change; longer runs fold into one line
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")  # words, spaces, single symbols: the units a changed line is marked in
SIMILAR = 0.5  # lines at least this alike (difflib ratio) are shown as one edited line, characters marked
GROUPS_COMPARED = 12  # groups side by side in Compare, at most
_ID_NAMES = re.compile(r"(?:^|_)(id|ids|idx|index|key|uid)$", re.IGNORECASE)
# A click opens a figure over the whole window (on <body>: a notebook panel's containment would otherwise
# hold a fixed overlay inside the panel), and a click on it closes it.
ZOOM = (
    "var o=document.createElement('div');o.className='wfnb-lightbox';o.title='click to close';"
    "o.style.cssText='position:fixed;inset:0;z-index:100000;display:flex;align-items:center;justify-content:center;"
    "padding:16px;background:rgba(20,20,20,0.88);cursor:zoom-out';"
    "var i=this.querySelector('img').cloneNode();i.style.cssText='width:100%;height:100%;object-fit:contain;background:white';"
    "o.appendChild(i);o.onclick=function(){o.remove()};document.body.appendChild(o);"
)

def comparison_html(comparison: details.Comparison | None) -> str:
    """The code of two variants step by step: changed steps open, with the changed words marked."""
    if comparison is None:
        return '<div class="wfnb-empty">Select a variant, then pick the one to compare its code with.</div>'
    old, new = escape(comparison.old), escape(comparison.new)
    changed = [s.step for s in comparison.steps if s.changed]
    rerun = [s.step for s in comparison.steps if s.rerun]
    summary = f"code changed in {escape(', '.join(changed))}" if changed else "same code in every step"
    if rerun:
        summary += f"; same code, other inputs or parameters: {escape(', '.join(rerun))}"
    branched = [f"{s.step} ({s.old_branch or '—'} → {s.new_branch or '—'})" for s in comparison.steps if s.old_branch != s.new_branch and s.old_code is not None and s.new_code is not None]
    if branched:
        summary += f"; another branch taken in {escape(', '.join(branched))}"
    steps = "".join(_step_comparison(step, old, new) for step in comparison.steps)
    return (
        f'<div class="wfnb-compare"><div class="wfnb-title">Code: {old} → {new} <span class="wfnb-muted">'
        f"({escape(comparison.workflow)}) · {summary}</span></div>{steps}</div>"
    )


def side_by_side_html(compared: details.SideBySide | None) -> str:
    """A column per variant: parameters, metrics (differences highlighted, change from the first shown,
    lowest and highest of each metric marked), steps changed from the first, then the figures in a grid."""
    if compared is None:
        return '<div class="wfnb-empty">Tick two or more variants in the table (the ☐ column) to compare them side by side.</div>'
    names = compared.variants
    head = "".join(f'<th>{escape(v.name)} {"".join(tag_html(t) for t in v.tags)}</th>' for v in names)
    rows = [f'<tr><th class="wfnb-corner"></th>{head}</tr>']
    for caption, values in (("parameters", compared.params), ("metrics", compared.metrics)):
        if values:
            rows.append(f'<tr class="wfnb-section"><td colspan="{len(names) + 1}">{caption}</td></tr>')
            rows += [_side_row(row, marked=caption == "metrics") for row in values]
    changed = "".join(
        f'<td>{", ".join(escape(s) for s in steps) or "none"}</td>' if i else '<td class="wfnb-muted">(reference)</td>'
        for i, steps in enumerate(compared.changed)
    )
    rows.append(f'<tr class="wfnb-section"><td colspan="{len(names) + 1}">steps that differ from {escape(names[0].name)}</td></tr>')
    rows.append(f"<tr><th></th>{changed}</tr>")
    table_html = f'<div class="wfnb-scroll"><table class="wfnb-side">{"".join(rows)}</table></div>'
    return f'<div class="wfnb-compare">{table_html}{_figure_grid(compared)}</div>'


def _side_row(row: details.ValueRow, marked: bool) -> str:
    """One parameter or metric across the variants; no change in % for an id or a category (a seed
    going from 1 to 2 is not +100%)."""
    measured = marked or not is_identifier(row.name)
    numbers = [v for v in row.values if table.is_number(v)]
    low, high = (min(numbers), max(numbers)) if marked and len(numbers) > 1 and min(numbers) != max(numbers) else (None, None)
    decimals = table.column_decimals(list(row.values))
    cells = []
    for i, value in enumerate(row.values):
        text = maybe_html(value) if value is None else escape(table.format_value(value, decimals))
        change = delta(row.values[0], value) if i and row.values[0] is not None and value is not None else ""
        extra = f' <span class="wfnb-delta">{escape(change)}</span>' if change and measured and table.is_number(value) else ""
        mark = " wfnb-high" if high is not None and value == high else " wfnb-low" if low is not None and value == low else ""
        title = f' title="the {"highest" if mark == " wfnb-high" else "lowest"} of the compared"' if mark else ""
        cells.append(f'<td class="wfnb-num{mark}"{title}>{text}{extra}</td>')
    differs = ' class="wfnb-changed"' if row.differs else ""
    return f"<tr{differs}><th>{escape(row.name)}</th>{''.join(cells)}</tr>"


def is_identifier(name: str) -> bool:
    """A parameter that names something rather than measures it: a seed, a repeat, an id, an index."""
    return bool(grouping.SEED_NAMES.search(name) or _ID_NAMES.search(name))


def groups_side_by_side_html(groups: Sequence[grouping.Group], by: Sequence[str], metrics: Sequence[str]) -> str:
    """The groups of the table (at most ``GROUPS_COMPARED``), a column each: the grouping values, the
    number of variants, each metric's mean ± std and its min – max."""
    if not groups:
        return ""
    shown = list(groups[:GROUPS_COMPARED])
    head = "".join(f"<th>group {i + 1}</th>" for i in range(len(shown)))
    rows = [f'<tr><th class="wfnb-corner"></th>{head}</tr>', f'<tr class="wfnb-section"><td colspan="{len(shown) + 1}">grouped by</td></tr>']
    for name in by:
        rows.append(f"<tr><th>{escape(name)}</th>" + "".join(f'<td class="wfnb-num">{maybe_html(g.params.get(name))}</td>' for g in shown) + "</tr>")
    rows.append("<tr><th>variants</th>" + "".join(f'<td class="wfnb-num">{g.size}</td>' for g in shown) + "</tr>")
    rows.append(f'<tr class="wfnb-section"><td colspan="{len(shown) + 1}">metrics: mean ± std (min – max)</td></tr>')
    for name in metrics:
        decimals = table.column_decimals([g.stats[name].mean for g in shown if name in g.stats])
        cells = []
        for group in shown:
            stats = group.stats.get(name)
            if stats is None:
                cells.append('<td class="wfnb-num">—</td>')
                continue
            spread = f'<div class="wfnb-range">{escape(table.format_value(stats.low, decimals))} – {escape(table.format_value(stats.high, decimals))}</div>' if stats.low != stats.high else ""
            cells.append(f'<td class="wfnb-num">{escape(grouping.format_stats(stats, decimals))}{spread}</td>')
        rows.append(f"<tr><th>{escape(name)}</th>{''.join(cells)}</tr>")
    more = f'<div class="wfnb-muted">the first {GROUPS_COMPARED} of {len(groups)} groups, in the table\'s order</div>' if len(groups) > GROUPS_COMPARED else ""
    return f'<div class="wfnb-title">Groups</div><div class="wfnb-scroll"><table class="wfnb-side wfnb-groups-side">{"".join(rows)}</table></div>{more}'


def _figure_grid(compared: details.SideBySide) -> str:
    if not compared.figures:
        return ""
    columns = len(compared.variants)
    head = "".join(f'<div class="wfnb-grid-head">{escape(v.name)}</div>' for v in compared.variants)
    blocks = []
    for row in compared.figures:
        cells = "".join(
            f'<div class="wfnb-grid-cell">{"".join(_zoomable(image) for image in images) or "<span class=wfnb-muted>no figure</span>"}</div>'
            for images in row.images
        )
        blocks.append(f'<div class="wfnb-grid-step" style="grid-column: 1 / span {columns}"><span class="wfnb-step-name">{escape(row.step)}</span></div>{cells}')
    return (
        f'<div class="wfnb-title">Figures</div><div class="wfnb-figure-grid" style="grid-template-columns: repeat({columns}, minmax(200px, 1fr))">'
        f'{head}{"".join(blocks)}</div>'
    )


def _zoomable(image: details.Image) -> str:
    return f'<span class="wfnb-zoomable" title="click to open it over the whole window" onclick="{ZOOM}">{image_html(image)}</span>'


def delta(old: Any, new: Any) -> str:
    """How a value changed: '+2 (+66.7%)' for numbers, 'added'/'removed'/'changed' otherwise, '' if equal."""
    if old == new:
        return ""
    if old is None:
        return "added"
    if new is None:
        return "removed"
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if not numbers:
        return "changed"
    step = new - old
    relative = f" ({step / abs(old):+.1%})" if old else ""
    return f"{step:+.4g}{relative}"


def _step_comparison(step: details.StepComparison, old: str, new: str) -> str:
    if step.old_code is None:
        state = f'<span class="wfnb-badge wfnb-badge-changed">added in {new}</span>'
    elif step.new_code is None:
        state = f'<span class="wfnb-badge wfnb-badge-changed">not in {new}</span>'
    elif step.changed:
        state = '<span class="wfnb-badge wfnb-badge-changed">code changed</span>'
    elif step.rerun:
        state = '<span class="wfnb-badge wfnb-badge-cached">same code, ran on other inputs or parameters</span>'
    else:
        state = '<span class="wfnb-muted">same code</span>'
    same = step.old_code is not None and step.new_code is not None and not step.changed
    body = highlight(step.new_code or "") if same else code_diff(step.old_code or "", step.new_code or "", old, new)
    opened = " open" if step.changed else ""
    return f'<details class="wfnb-step"{opened}><summary><span class="wfnb-step-name">{escape(step.step)}</span> {state}</summary>{body}</details>'


def code_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """Two versions of some code in two columns, changed lines marked and changed characters highlighted."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[str] = []
    opcodes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            rows += _equal_rows(a, i1, i2, j1, first=index == 0, last=index == len(opcodes) - 1)
            continue
        for left, right in _pair(list(range(i1, i2)), list(range(j1, j2)), a, b):
            left_html, right_html = _intraline(a[left] if left is not None else None, b[right] if right is not None else None)
            rows.append(
                _diff_row(None if left is None else left + 1, left_html, "wfnb-none" if left is None else "wfnb-del",
                          None if right is None else right + 1, right_html, "wfnb-none" if right is None else "wfnb-add")
            )
    columns = '<colgroup><col class="wfnb-ln"><col><col class="wfnb-ln"><col></colgroup>'
    head = f'<tr><th></th><th>{old_label}</th><th></th><th>{new_label}</th></tr>'
    return f'<table class="wfnb-diff">{columns}{head}{"".join(rows)}</table>'


def _pair(old: list[int], new: list[int], a: list[str], b: list[str]) -> list[tuple[int | None, int | None]]:
    """Lines of a changed block side by side: each old line next to the most similar later new line, if alike."""
    pairs: list[tuple[int | None, int | None]] = []
    start = 0
    for i in old:
        scores = [(difflib.SequenceMatcher(None, a[i], b[j], autojunk=False).ratio(), k) for k, j in enumerate(new[start:], start)]
        best = max(scores, default=(0.0, -1))
        if best[0] < SIMILAR:
            pairs.append((i, None))
            continue
        pairs += [(None, j) for j in new[start : best[1]]]
        pairs.append((i, new[best[1]]))
        start = best[1] + 1
    pairs += [(None, j) for j in new[start:]]
    return _squeeze(pairs)


def _squeeze(pairs: list[tuple[int | None, int | None]]) -> list[tuple[int | None, int | None]]:
    """Put a removed line and an added line that follow each other on one row, as a plain replacement."""
    out: list[tuple[int | None, int | None]] = []
    for left, right in pairs:
        if out and left is None and out[-1][1] is None and out[-1][0] is not None:
            out[-1] = (out[-1][0], right)
        else:
            out.append((left, right))
    return out


def _equal_rows(a: list[str], i1: int, i2: int, j1: int, first: bool, last: bool) -> list[str]:
    """Unchanged lines: all of them if few, else only the context next to the changes around them."""
    keep = list(range(i1, i2))
    before = [] if first else keep[:DIFF_CONTEXT]  # after a change
    after = [] if last else keep[-DIFF_CONTEXT:]  # before a change
    if (first and last) or len(before) + len(after) + 1 >= len(keep):
        before, after = keep, []
    rows = [_diff_row(i + 1, escape(a[i]), "", j1 + i - i1 + 1, escape(a[i]), "") for i in before]
    hidden = len(keep) - len(before) - len(after)
    if hidden > 0:
        rows.append(f'<tr class="wfnb-fold"><td colspan="4">⋯ {hidden} unchanged line{"s" if hidden != 1 else ""}</td></tr>')
    rows += [_diff_row(i + 1, escape(a[i]), "", j1 + i - i1 + 1, escape(a[i]), "") for i in after]
    return rows


def _diff_row(left_no: int | None, left: str, left_class: str, right_no: int | None, right: str, right_class: str) -> str:
    return (
        f'<tr><td class="wfnb-ln">{left_no or ""}</td><td class="wfnb-src {left_class}">{left}</td>'
        f'<td class="wfnb-ln">{right_no or ""}</td><td class="wfnb-src {right_class}">{right}</td></tr>'
    )


def _intraline(left: str | None, right: str | None) -> tuple[str, str]:
    """Two versions of a line with the changed words marked, when the lines are alike at all."""
    if left is None or right is None or difflib.SequenceMatcher(None, left, right, autojunk=False).ratio() < SIMILAR:
        return escape(left or ""), escape(right or "")
    old, new = _TOKEN.findall(left), _TOKEN.findall(right)
    out_left, out_right = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        a, b = escape("".join(old[i1:i2])), escape("".join(new[j1:j2]))
        if tag == "equal":
            out_left.append(a)
            out_right.append(b)
        else:
            out_left.append(f'<span class="wfnb-chg">{a}</span>' if a else "")
            out_right.append(f'<span class="wfnb-chg">{b}</span>' if b else "")
    return "".join(out_left), "".join(out_right)
