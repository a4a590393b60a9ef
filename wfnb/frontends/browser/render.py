"""HTML for what the browser shows of one variant (its detail, its steps' outputs) and for notices.

Pure functions from the plain data of ``details`` and ``table`` to HTML text.
Colours come from CSS classes defined in ``theme`` (JupyterLab's variables), so
the same markup reads in light and dark themes; every user string is escaped,
except the HTML the user's own cells displayed, shown as it was.
"""

from __future__ import annotations

import base64
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any

from wfnb.cache.statusline import format_duration
from wfnb.frontends.browser import bridge, details, icons, table


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
        elif kind == "error":
            parts.append(f'<pre class="wfnb-stream wfnb-stderr">{escape(str(event.get("ename", "")))}: {escape(str(event.get("evalue", "")))}</pre>')
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


def detail_html(detail: details.Detail | None, now: datetime, opened: Collection[str] = ()) -> str:
    """The selected variant: lineage, parameters, metrics, then each step, folded unless in ``opened``.

    A loaded step carries its code and outputs, folded, so the page unfolds it
    at once; its summary's ``step`` action tells the kernel, which keeps it
    open across redraws (and reads the outputs of a step sent without them).
    """
    if detail is None:
        return '<div class="wfnb-empty">Select a variant in the table to see what it did and what it gave.</div>'
    created = table.parse_time(detail.created)
    when = f"{created:%Y-%m-%d %H:%M} UTC ({table.format_age(created, now)})" if created else escape(detail.created)
    lineage = f"parent <b>{escape(detail.parent)}</b>" if detail.parent else "no parent (first variant)"
    changed = ", ".join(f"<code>{escape(step)}</code>" for step in detail.changed) or "none"
    notes = "".join(f'<div class="wfnb-note">{tag_html(tag)} {escape(note)}</div>' for tag, note in detail.notes.items())
    head = (
        f'<div class="wfnb-title">{escape(detail.workflow)} / {escape(detail.name)} '
        f'{"".join(tag_html(tag) for tag in detail.tags)} {status_html(detail.status)}</div>'
        f'<div class="wfnb-meta">created {when} · {lineage} · steps changed: {changed} · hash <code>{escape(detail.identity[:12])}</code></div>'
        f"{notes}"
        f'<div class="wfnb-kv-row">{values_table("parameters", detail.params)}{values_table("metrics", detail.metrics)}</div>'
    )
    order = sorted(detail.steps, key=lambda step: not step.changed)  # what changed first; all folded
    moved = " (the changed ones first; open one for its code and outputs)" if order != list(detail.steps) else " (open one for its code and outputs)"
    heading = f'<div class="wfnb-meta wfnb-steps-head">{len(order)} step{"s" if len(order) != 1 else ""}{moved}</div>'
    positions = {step.step: i for i, step in enumerate(detail.steps, 1)}
    steps = "".join(_step_html(step, detail.parent, positions[step.step], len(order), step.step in opened) for step in order)
    return f'<div class="wfnb-detail" {bridge.on_click_attribute()}>{head}{heading}{steps}</div>'


def _step_html(step: details.StepDetail, parent: str | None, position: int, count: int, opened: bool) -> str:
    badges = [_reuse_badge(step, parent)]
    if step.changed and parent:
        badges.append(f'<span class="wfnb-badge wfnb-badge-changed">changed from {escape(parent)}</span>')
    if step.branch:
        badges.append(f'<span class="wfnb-badge wfnb-badge-branch" title="the branch its code took">{icons.icon("branch")} {escape(step.branch)}</span>')
    if step.nondeterministic:
        badges.append(f'<span class="wfnb-badge wfnb-badge-warn" title="{escape(step.nondeterministic)}">nondeterministic</span>')
    produced = ", ".join(escape(name) for name in step.outputs) or "nothing"
    logged = ", ".join(f"{escape(k)} = {escape(table.format_value(v))}" for k, v in step.metrics.items())
    summary = (
        f'<span class="wfnb-muted">{position}/{count}</span> <span class="wfnb-step-name">{escape(step.step)}</span> {" ".join(badges)}'
        f'<span class="wfnb-muted"> → {produced}{" · logged " + logged if logged else ""}</span>'
    )
    toggle = bridge.act("step", step.step)  # the page opens it; the kernel remembers (or reads it, if not loaded)
    if not step.loaded:
        return f'<details class="wfnb-step"><summary {toggle}>{summary}</summary></details>'
    outputs = outputs_html(step.events)
    if step.events_error:
        outputs += f'<div class="wfnb-msg wfnb-msg-error">{escape(step.events_error)}</div>'
    shown = f'<div class="wfnb-outputs">{outputs}</div>' if outputs else '<div class="wfnb-muted wfnb-pad">no output</div>'
    return f'<details class="wfnb-step"{" open" if opened else ""}><summary {toggle}>{summary}</summary>{highlight(step.code)}{shown}</details>'


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


def notice_html(action: str, notice: Mapping[str, str]) -> str:
    """An action's outcome next to its button: one line, details (a traceback) under it, and × to let it go."""
    text, kind, detail = notice.get("text", ""), notice.get("kind", "info"), notice.get("detail", "")
    if not text:
        return ""
    icon = {"success": "✔", "error": "✖", "info": "…"}.get(kind, "")
    more = f'<details open><summary>details</summary><pre class="wfnb-trace">{escape(detail)}</pre></details>' if detail else ""
    link = notice.get("link", "")
    if link:  # a new browser tab: JupyterLab opens the file there
        more = f' <a class="wfnb-open-link" href="{escape(link)}" target="_blank" rel="noopener">{escape(notice.get("link_text") or link)}</a>' + more
    close = f'<span class="wfnb-dismiss" title="dismiss" role="button" {bridge.act("dismiss", action)}>×</span>'
    return (
        f'<div class="wfnb-msg wfnb-msg-{escape(kind)}" data-action="{escape(action)}" {bridge.on_click_attribute()}>'
        f'{close}<span class="wfnb-icon">{icon}</span> {escape(text)}{more}</div>'
    )


def tag_html(tag: str) -> str:
    return f'<span class="wfnb-tag">{escape(tag)}</span>'


def status_html(status: str) -> str:
    if not status:
        return ""
    return f'<span class="wfnb-status wfnb-status-{escape(status.replace(" ", "-"))}">{escape(status)}</span>'


def maybe_html(value: Any) -> str:
    return '<span class="wfnb-muted">—</span>' if value is None else escape(table.format_value(value))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
