"""The steps' data-flow graph of one variant, as inline SVG.

Steps run top to bottom in notebook order, so every edge points down; an edge
is labelled with the names that flow along it. Colours are JupyterLab's theme
variables. Each drawing has its own ids (the arrowhead marker), so that two
graphs on one page (two browsers, two notebooks in one JupyterLab) never lose
their arrowheads to each other. A box is as wide as its longest line, and its
marks (stale, changed) sit on its second line, so they never cover the name.
"""

from __future__ import annotations

import itertools
from html import escape

from wfnb.frontends.browser.details import Dag, DagNode

_NODE_H = 40
_CHOICE_LINE = 15  # the extra line of a box when a step of the graph took a branch
_GAP = 28
_TOP = 30
_LEFT = 12
_CHAR = 7.5  # width of a 12 px character, generously
_SMALL_CHAR = 6.2  # width of a 10 px character
_ids = itertools.count(1)


def dag_svg(dag: Dag) -> str:
    """The steps as boxes in notebook order, edges labelled with the names that flow; stale steps marked."""
    if not dag.nodes:
        return '<div class="wfnb-empty">This variant has no steps.</div>'
    marker = f"wfnb-arrow-{next(_ids)}"
    width = int(max(160, max(_node_width(node) for node in dag.nodes)))
    index = {node.step: i for i, node in enumerate(dag.nodes)}
    spans = [index[down] - index[up] for up, down, _ in dag.edges if up in index and down in index]
    reach = _LEFT + width + 60 + 26 * max([s for s in spans if s > 1], default=0)
    label_room = 8 * max((len(", ".join(names)) for _, _, names in dag.edges), default=0)
    total_w = int(max(reach + label_room + 20, width + 200, 8 * len(dag.title) + 30, 640))
    height = _NODE_H + (_CHOICE_LINE if any(node.choices for node in dag.nodes) else 0)
    total_h = _TOP + len(dag.nodes) * (height + _GAP) + 20
    parts = [
        f'<svg class="wfnb-dag" xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{total_h}" viewBox="0 0 {total_w} {total_h}" '
        'style="font-family: var(--jp-ui-font-family, sans-serif); font-size: 12px">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" style="fill: var(--jp-ui-font-color2, #888)"/></marker></defs>',
        f'<text x="{_LEFT}" y="16" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600">{escape(dag.title)}</text>',
    ]
    for up, down, names in dag.edges:
        if up in index and down in index:
            parts.append(_edge(index[up], index[down], names, width, marker, height))
    for i, node in enumerate(dag.nodes):
        parts.append(_node(i, node, width, height))
    parts.append(_legend(dag, total_h))
    parts.append("</svg>")
    return "".join(parts)


def _marks(node: DagNode) -> str:
    marks = [node.status] if node.status in ("stale", "never-run") else []
    if node.changed:
        marks.append("changed")
    return " · ".join(marks)


def _reads(node: DagNode) -> str:
    if node.external:
        return "another workflow's variant, read here" if node.external == "upstream" else "another workflow's step reads this variant"
    return f"reads {', '.join(node.params)}" if node.params else ""


def _node_width(node: DagNode) -> float:
    """Room for the name on the first line, and the parameters read plus the marks on the second."""
    second = len(_reads(node)) * _SMALL_CHAR + (len(_marks(node)) * _SMALL_CHAR + 16 if _marks(node) else 0)
    third = len(_choices_text(node)) * _SMALL_CHAR
    return max(len(node.step) * _CHAR, second, third) + 24


def _choices_text(node: DagNode) -> str:
    if not node.choices:
        return ""
    many = len(node.choices) > 1
    return "branch: " + "; ".join((f"line {c.line}: " if many else "") + " · ".join(c.paths) for c in node.choices)


def _choices(node: DagNode, x: int, y: int) -> str:
    """The paths of each choice, the one taken in bold, the others struck through: the branch drawn."""
    if not node.choices:
        return ""
    taken = 'style="fill: var(--jp-brand-color1, #1e88e5); font-weight: 600"'
    other = 'style="fill: var(--jp-ui-font-color3, #aaa); text-decoration: line-through"'
    spans = ["branch: "]
    for number, choice in enumerate(node.choices):
        if number:
            spans.append("; ")
        if len(node.choices) > 1:
            spans.append(f"line {choice.line}: ")
        for index, path in enumerate(choice.paths):
            spans.append(" · " if index else "")
            spans.append(f'<tspan class="wfnb-dag-{"taken" if path == choice.taken else "not-taken"}" {taken if path == choice.taken else other}>{escape(path)}</tspan>')
    return f'<text x="{x}" y="{y}" style="fill: var(--jp-ui-font-color2, #888); font-size: 10px">{"".join(spans)}</text>'


def _y(i: int, height: int = _NODE_H) -> int:
    return _TOP + i * (height + _GAP)


def _node(i: int, node: DagNode, width: int, height: int = _NODE_H) -> str:
    step, status, reason = node.step, node.status, node.reason
    stroke = {"stale": "var(--jp-warn-color1, #f57c00)", "never-run": "var(--jp-ui-font-color3, #aaa)"}.get(status, "var(--jp-brand-color1, #1e88e5)")
    fill = {"stale": "color-mix(in srgb, var(--jp-warn-color1, #f57c00) 18%, transparent)"}.get(status, "var(--jp-layout-color1, transparent)")
    dash = ' stroke-dasharray="4 3"' if status == "never-run" or node.external else ""
    if node.external:
        stroke, fill = "var(--jp-ui-font-color2, #888)", "var(--jp-layout-color2, transparent)"
    y = _y(i, height)
    tip = f"{step}: {status}" + (f" ({reason})" if reason else "") + (" · changed from the parent" if node.changed else "")
    if node.external:
        tip = f"{step}: {_reads(node)}"
    tip += "".join(f" · line {c.line}: took {c.taken}" for c in node.choices)
    kind = f' class="wfnb-dag-{node.external}"' if node.external else ""
    return (
        f'<g{kind}><title>{escape(tip)}</title>'
        f'<rect x="{_LEFT}" y="{y}" width="{width}" height="{height}" rx="6" style="fill: {fill}; stroke: {stroke}; stroke-width: 1.5"{dash}/>'
        f'<text x="{_LEFT + 10}" y="{y + 17}" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600; '
        f'font-family: var(--jp-code-font-family, monospace)">{escape(step)}</text>'
        f'<text x="{_LEFT + 10}" y="{y + 33}" style="fill: var(--jp-ui-font-color2, #888); font-size: 10px">{escape(_reads(node))}</text>'
        f'<text class="wfnb-dag-mark" x="{_LEFT + width - 8}" y="{y + 33}" text-anchor="end" style="fill: {stroke}; font-size: 10px; font-weight: 600">'
        f"{escape(_marks(node))}</text>{_choices(node, _LEFT + 10, y + 48)}</g>"
    )


def _edge(up: int, down: int, names: tuple[str, ...], width: int, marker: str, height: int = _NODE_H) -> str:
    label = escape(", ".join(names))
    style = f'style="fill: none; stroke: var(--jp-ui-font-color2, #888); stroke-width: 1.2" marker-end="url(#{marker})"'
    text_style = 'style="fill: var(--jp-ui-font-color2, #888); font-size: 11px"'
    if down - up == 1:
        x = _LEFT + width // 2
        y1, y2 = _y(up, height) + height, _y(down, height)
        return f'<path d="M{x},{y1} L{x},{y2 - 1}" {style}/><text x="{x + 8}" y="{(y1 + y2) // 2 + 4}" {text_style}>{label}</text>'
    x = _LEFT + width
    y1, y2 = _y(up, height) + height // 2, _y(down, height) + height // 2
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
    if any(node.choices for node in dag.nodes):
        text += " · branch: the path taken in bold"
    if any(node.external for node in dag.nodes):
        text += " · dashed: other workflows' variants"
    return f'<text x="{_LEFT}" y="{height - 4}" style="fill: var(--jp-ui-font-color2, #888); font-size: 10px">{escape(text)}</text>'
