"""The browser's two pictures: a metric across variants (a PNG) and the steps' data-flow graph (SVG).

The metric plot uses matplotlib's object API (no pyplot: the notebook's
current figure and backend stay untouched) on a transparent background with
mid-grey ink, readable in light and dark themes. The graph is inline SVG
coloured with JupyterLab's theme variables; steps run top to bottom in
notebook order, so every edge points down.
"""

from __future__ import annotations

from html import escape
from io import BytesIO
from typing import Sequence

from wfnb.browser.details import Dag, DagNode

_INK = "#8a8a8a"  # mid grey: readable on white and on near-black
_LINE = "#1e88e5"
_PICK = "#f57c00"


def metric_png(points: Sequence[tuple[str, str, float]], selected: str, metric: str) -> bytes:
    """``metric`` for each (ref, label, value) point in order, the selected variant's point marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 2.6), dpi=100)
    figure.patch.set_alpha(0.0)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.patch.set_alpha(0.0)
    xs = list(range(len(points)))
    values = [value for _, _, value in points]
    axes.plot(xs, values, color=_LINE, linewidth=1.2, marker="o", markersize=4 if len(points) < 80 else 2)
    picked = [i for i, (ref, _, _) in enumerate(points) if ref == selected]
    for i in picked:
        axes.plot([i], [values[i]], marker="o", markersize=10, color=_PICK, zorder=3)
        axes.annotate(f"{points[i][1]}: {values[i]:.4g}", (i, values[i]), textcoords="offset points", xytext=(8, 8), color=_PICK, fontsize=9)
    step = max(1, len(points) // 12)
    ticks = xs[::step]
    axes.set_xticks(ticks, [points[i][1] for i in ticks], rotation=0 if len(ticks) <= 8 else 45, fontsize=8)
    axes.set_ylabel(metric, color=_INK)
    axes.tick_params(colors=_INK, labelsize=8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(_INK)
    axes.grid(axis="y", color=_INK, alpha=0.25, linewidth=0.6)
    axes.margins(x=0.03, y=0.18)
    figure.tight_layout()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", transparent=True)
    return buffer.getvalue()


_NODE_H = 40
_GAP = 28
_TOP = 30
_LEFT = 12


def dag_svg(dag: Dag) -> str:
    """The steps as boxes in notebook order, edges labelled with the names that flow; stale steps marked."""
    if not dag.nodes:
        return '<div class="wfnb-empty">This variant has no steps.</div>'
    width = max(160, 8 * max(len(node.step) for node in dag.nodes) + 90)
    index = {node.step: i for i, node in enumerate(dag.nodes)}
    spans = [index[down] - index[up] for up, down, _ in dag.edges if up in index and down in index]
    reach = _LEFT + width + 60 + 26 * max([s for s in spans if s > 1], default=0)
    label_room = 8 * max((len(", ".join(names)) for _, _, names in dag.edges), default=0)
    total_w = max(reach + label_room + 20, width + 200, 640)  # room for the legend line
    total_h = _TOP + len(dag.nodes) * (_NODE_H + _GAP) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" '
        'style="font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px">',
        '<defs><marker id="wfnb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" style="fill: var(--jp-ui-font-color2, #888)"/></marker></defs>',
        f'<text x="{_LEFT}" y="16" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600">{escape(dag.title)}</text>',
    ]
    for up, down, names in dag.edges:
        if up in index and down in index:
            parts.append(_edge(index[up], index[down], names, width))
    for i, node in enumerate(dag.nodes):
        parts.append(_node(i, node, width))
    parts.append(_legend(dag, total_h))
    parts.append("</svg>")
    return "".join(parts)


def _y(i: int) -> int:
    return _TOP + i * (_NODE_H + _GAP)


def _node(i: int, node: DagNode, width: int) -> str:
    step, status, reason, changed, params = node.step, node.status, node.reason, node.changed, node.params
    stroke = {"stale": "var(--jp-warn-color1, #f57c00)", "never-run": "var(--jp-ui-font-color3, #aaa)"}.get(status, "var(--jp-brand-color1, #1e88e5)")
    fill = {"stale": "color-mix(in srgb, var(--jp-warn-color1, #f57c00) 18%, transparent)"}.get(status, "var(--jp-layout-color1, transparent)")
    dash = ' stroke-dasharray="4 3"' if status == "never-run" else ""
    y = _y(i)
    tip = f"{step}: {status}" + (f" ({reason})" if reason else "") + (" · changed from the parent" if changed else "")
    marks = []
    if status in ("stale", "never-run"):
        marks.append(status)
    if changed:
        marks.append("changed")
    reads = f"reads {', '.join(params)}" if params else ""
    return (
        f'<g><title>{escape(tip)}</title>'
        f'<rect x="{_LEFT}" y="{y}" width="{width}" height="{_NODE_H}" rx="6" style="fill: {fill}; stroke: {stroke}; stroke-width: 1.5"{dash}/>'
        f'<text x="{_LEFT + 10}" y="{y + 17}" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600; '
        f'font-family: var(--jp-code-font-family, monospace)">{escape(step)}</text>'
        f'<text x="{_LEFT + 10}" y="{y + 32}" style="fill: var(--jp-ui-font-color2, #888); font-size: 10px">{escape(reads)}</text>'
        f'<text x="{_LEFT + width - 8}" y="{y + 17}" text-anchor="end" style="fill: {stroke}; font-size: 10px; font-weight: 600">'
        f"{escape(' · '.join(marks))}</text></g>"
    )


def _edge(up: int, down: int, names: tuple[str, ...], width: int) -> str:
    label = escape(", ".join(names))
    style = 'style="fill: none; stroke: var(--jp-ui-font-color2, #888); stroke-width: 1.2" marker-end="url(#wfnb-arrow)"'
    text_style = 'style="fill: var(--jp-ui-font-color2, #888); font-size: 11px"'
    if down - up == 1:
        x = _LEFT + width // 2
        y1, y2 = _y(up) + _NODE_H, _y(down)
        return f'<path d="M{x},{y1} L{x},{y2 - 1}" {style}/><text x="{x + 8}" y="{(y1 + y2) // 2 + 4}" {text_style}>{label}</text>'
    x = _LEFT + width
    y1, y2 = _y(up) + _NODE_H // 2, _y(down) + _NODE_H // 2
    bend = x + 30 + 26 * (down - up)
    return (
        f'<path d="M{x},{y1} C{bend},{y1} {bend},{y2} {x + 2},{y2}" {style}/>'
        f'<text x="{x + 30 + 19 * (down - up)}" y="{(y1 + y2) // 2 + 4}" {text_style}>{label}</text>'
    )


def _legend(dag: Dag, height: int) -> str:
    if dag.live:
        text = "steps in notebook order · arrows: the names each step reads · orange: stale in the notebook now"
    else:
        text = "steps in notebook order · arrows: the names each step reads · changed: differs from the parent"
    return f'<text x="{_LEFT}" y="{height - 4}" style="fill: var(--jp-ui-font-color2, #888); font-size: 10px">{escape(text)}</text>'
