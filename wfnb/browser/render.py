"""HTML for what the browser shows: a variant's detail, two variants compared, table cells, messages.

Pure functions from the plain data of ``details`` and ``table`` to HTML text.
Colours come from CSS classes defined in ``theme`` (JupyterLab's variables), so
the same markup reads in light and dark themes; every user string is escaped,
except the HTML the user's own cells displayed, shown as it was.
"""

from __future__ import annotations

import base64
import difflib
import re
from datetime import datetime
from html import escape
from typing import Any, Iterable, Mapping, Sequence

from wfnb.browser import details, table
from wfnb.report import format_duration

DIFF_CONTEXT = 3  # unchanged lines kept around a change; longer runs fold into one line
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")  # words, spaces, single symbols: the units a changed line is marked in
SIMILAR = 0.5  # lines at least this alike (difflib ratio) are shown as one edited line, characters marked


def highlight(code: str) -> str:
    """Python code as HTML spans with ``tok-*`` classes (pygments), coloured by the theme's CSS."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    body = pygmentize(code, PythonLexer(), HtmlFormatter(nowrap=True, classprefix="tok-"))
    return f'<pre class="wfnb-code">{body}</pre>'


def outputs_html(events: Iterable[Mapping[str, Any]]) -> str:
    """A step's captured outputs as they were shown: text, HTML (tables), figures; ``clear`` honoured."""
    parts: list[str] = []
    for event in events:
        kind = event.get("kind")
        if kind == "clear":
            parts = []
        elif kind == "stream":
            error = " wfnb-stderr" if event.get("name") == "stderr" else ""
            parts.append(f'<pre class="wfnb-stream{error}">{escape(str(event.get("text", "")))}</pre>')
        elif kind in ("display", "result") and (event.get("metadata") or {}).get("wfnb") != "status":
            parts.append(bundle_html(event.get("data") or {}))
    return "".join(parts)


def bundle_html(data: Mapping[str, Any]) -> str:
    """One display bundle: a figure if there is one, else its HTML, else its text."""
    for mime in details.IMAGE_TYPES:
        if mime in data:
            return f'<div class="wfnb-figure">{image_html((mime, str(data[mime])))}</div>'
    if "text/html" in data:
        return f'<div class="wfnb-html jp-RenderedHTMLCommon">{_text(data["text/html"])}</div>'
    for mime in ("text/markdown", "text/latex", "application/json", "text/plain"):
        if mime in data:
            return f'<pre class="wfnb-stream">{escape(_text(data[mime]))}</pre>'
    return ""


def image_html(image: details.Image) -> str:
    mime, payload = image
    if mime == "image/svg+xml":  # as an <img>, so that the figure's own styles stay inside it
        payload = base64.b64encode(payload.encode()).decode("ascii")
    return f'<img src="data:{mime};base64,{"".join(payload.split())}" alt="figure">'


def detail_html(detail: details.Detail | None, now: datetime) -> str:
    """The selected variant: lineage, parameters, metrics, then each step with its code and outputs."""
    if detail is None:
        return '<div class="wfnb-empty">Select a variant in the table to see what it did and what it gave.</div>'
    created = table.parse_time(detail.created)
    when = f"{created:%Y-%m-%d %H:%M} UTC ({table.format_age(created, now)})" if created else escape(detail.created)
    lineage = f"parent <b>{escape(detail.parent)}</b>" if detail.parent else "no parent (first variant)"
    changed = ", ".join(f"<code>{escape(step)}</code>" for step in detail.changed) or "none"
    notes = "".join(f'<div class="wfnb-note">{_tag(tag)} {escape(note)}</div>' for tag, note in detail.notes.items())
    head = (
        f'<div class="wfnb-title">{escape(detail.workflow)} / {escape(detail.name)} '
        f'{"".join(_tag(tag) for tag in detail.tags)} {_status(detail.status)}</div>'
        f'<div class="wfnb-meta">created {when} · {lineage} · steps changed: {changed} · hash <code>{escape(detail.identity[:12])}</code></div>'
        f"{notes}"
        f'<div class="wfnb-kv-row">{values_table("parameters", detail.params)}{values_table("metrics", detail.metrics)}</div>'
    )
    steps = "".join(_step_html(step, detail.parent) for step in detail.steps)
    return f'<div class="wfnb-detail">{head}{steps}</div>'


def _step_html(step: details.StepDetail, parent: str | None) -> str:
    badges = [_reuse_badge(step, parent)]
    if step.changed and parent:
        badges.append(f'<span class="wfnb-badge wfnb-badge-changed">changed from {escape(parent)}</span>')
    produced = ", ".join(escape(name) for name in step.outputs) or "nothing"
    logged = ", ".join(f"{escape(k)} = {escape(table.format_value(v))}" for k, v in step.metrics.items())
    summary = (
        f'<span class="wfnb-step-name">{escape(step.step)}</span> {" ".join(badges)}'
        f'<span class="wfnb-muted"> → {produced}{" · logged " + logged if logged else ""}</span>'
    )
    outputs = outputs_html(step.events)
    if step.events_error:
        outputs += f'<div class="wfnb-msg wfnb-msg-error">{escape(step.events_error)}</div>'
    shown = f'<div class="wfnb-outputs">{outputs}</div>' if outputs else '<div class="wfnb-muted wfnb-pad">no output</div>'
    return f'<details class="wfnb-step" open><summary>{summary}</summary>{highlight(step.code)}{shown}</details>'


def _reuse_badge(step: details.StepDetail, parent: str | None) -> str:
    took = format_duration(step.duration_s)
    if step.reuse == "reused":
        return f'<span class="wfnb-badge wfnb-badge-cached" title="same result as {escape(parent or "")}, not run again">cached · {escape(parent or "")}\'s result ({took} when it ran)</span>'
    if step.reuse == "cached":
        return f'<span class="wfnb-badge wfnb-badge-cached" title="restored from an earlier run">cached ({took} when it ran)</span>'
    return f'<span class="wfnb-badge wfnb-badge-ran">ran {took}</span>'


def values_table(caption: str, values: Mapping[str, Any]) -> str:
    rows = "".join(
        f'<tr><th>{escape(name)}</th><td class="wfnb-num">{escape(table.format_value(value))}</td></tr>' for name, value in values.items()
    )
    body = rows or '<tr><td class="wfnb-muted">none</td></tr>'
    return f'<table class="wfnb-kv"><caption>{escape(caption)}</caption>{body}</table>'


def comparison_html(comparison: details.Comparison | None) -> str:
    """Parameters and metrics side by side (differences highlighted), then each step's code diff and figures."""
    if comparison is None:
        return '<div class="wfnb-empty">Select a variant, then pick the one to compare it with.</div>'
    old, new = escape(comparison.old), escape(comparison.new)
    changed = [s.step for s in comparison.steps if s.changed]
    rerun = [s.step for s in comparison.steps if s.rerun]
    summary = f"code changed in {escape(', '.join(changed))}" if changed else "same code in every step"
    if rerun:
        summary += f"; ran on other inputs: {escape(', '.join(rerun))}"
    values = (
        f'<table class="wfnb-values"><tr><th></th><th>{old}</th><th>{new}</th><th>change</th></tr>'
        f"{_value_rows('parameters', comparison.params)}{_value_rows('metrics', comparison.metrics)}</table>"
    )
    steps = "".join(_step_comparison(step, old, new) for step in comparison.steps)
    return (
        f'<div class="wfnb-compare"><div class="wfnb-title">{old} → {new} <span class="wfnb-muted">'
        f"({escape(comparison.workflow)}) · {summary}</span></div>{values}{steps}</div>"
    )


def _value_rows(caption: str, changes: Sequence[details.ValueChange]) -> str:
    if not changes:
        return ""
    rows = [f'<tr class="wfnb-section"><td colspan="4">{caption}</td></tr>']
    for change in changes:
        marker = ' class="wfnb-changed"' if change.changed else ""
        rows.append(
            f"<tr{marker}><th>{escape(change.name)}</th><td>{_maybe(change.old)}</td><td>{_maybe(change.new)}</td>"
            f"<td>{escape(delta(change.old, change.new))}</td></tr>"
        )
    return "".join(rows)


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
    body = highlight(step.new_code or "") if same else side_by_side(step.old_code or "", step.new_code or "", old, new)
    figures = ""
    if step.old_images or step.new_images:
        left = "".join(image_html(image) for image in step.old_images) or '<span class="wfnb-muted">no figure</span>'
        right = "".join(image_html(image) for image in step.new_images) or '<span class="wfnb-muted">no figure</span>'
        figures = f'<div class="wfnb-figures"><div><div class="wfnb-muted">{old}</div>{left}</div><div><div class="wfnb-muted">{new}</div>{right}</div></div>'
    opened = " open" if step.changed or figures else ""
    return f'<details class="wfnb-step"{opened}><summary><span class="wfnb-step-name">{escape(step.step)}</span> {state}</summary>{body}{figures}</details>'


def side_by_side(old: str, new: str, old_label: str, new_label: str) -> str:
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


def cell_html(row: table.Row, column: table.Column, now: datetime) -> str:
    """One table cell: tags as pills, status as a chip, numbers right-aligned."""
    if column.key == "tag":
        return "".join(_tag(tag) for tag in row.tags)
    if column.key == "status":
        return _status(row.status)
    text = escape(table.cell_text(row, column.key, now))
    if column.key == "age" and row.created is not None:
        return f'<span title="{row.created:%Y-%m-%d %H:%M:%S} UTC">{text}</span>'
    if column.kind != "base" and isinstance(table.cell_value(row, column.key), (int, float)):
        return f'<span class="wfnb-num">{text}</span>'
    return f'<span class="wfnb-muted">{text}</span>' if column.key == "changed" else text


def message_html(kind: str, text: str, detail: str = "") -> str:
    """An action's outcome: one line, and a traceback or details under it when there are any."""
    if not text:
        return ""
    icon = {"success": "✔", "error": "✖", "info": "…"}.get(kind, "")
    more = f'<details open><summary>details</summary><pre class="wfnb-trace">{escape(detail)}</pre></details>' if detail else ""
    return f'<div class="wfnb-msg wfnb-msg-{escape(kind)}"><span class="wfnb-icon">{icon}</span> {escape(text)}{more}</div>'


def _tag(tag: str) -> str:
    return f'<span class="wfnb-tag">{escape(tag)}</span>'


def _status(status: str) -> str:
    return f'<span class="wfnb-status wfnb-status-{escape(status)}">{escape(status)}</span>'


def _maybe(value: Any) -> str:
    return '<span class="wfnb-muted">—</span>' if value is None else escape(table.format_value(value))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
