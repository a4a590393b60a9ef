"""The browser's plots as SVG: a scatter of any two columns coloured by a third, and parallel coordinates.

Each point or line carries the bridge's ``select`` action, so clicking it
selects its variant (and the table, the detail and the other plot follow);
hovering shows its values. Ink and grid use JupyterLab's theme variables, so
the plots read in light and dark themes; only values shown as colour use the
ramp of ``scales``. Ids inside an SVG (the colour bar's gradient) are unique
per drawing, so two browsers on one page never borrow each other's.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from wfnb.frontends.browser import bridge, scales
from wfnb.frontends.browser.table import format_value

WIDTH, HEIGHT = 760, 380
PARALLEL_MAX_WIDTH = 1400  # parallel coordinates fill the width they get, up to this many units
_INK = "var(--jp-ui-font-color2, #888)"
_GRID = "var(--jp-border-color2, rgba(128,128,128,0.3))"
_PLAIN = "var(--jp-brand-color1, #1976d2)"
_PICK = "var(--jp-warn-color1, #f57c00)"
_ids = itertools.count(1)


@dataclass(frozen=True)
class Mark:
    """One variant in a plot: its values on the plot's axes, in order, and the one shown as colour."""

    ref: str
    label: str  # "v3"
    values: tuple[Any, ...]
    colour: Any = None


def scatter_svg(
    marks: Sequence[Mark], labels: tuple[str, str], colour_label: str, selected: str, ticked: Sequence[str],
    log: tuple[bool, bool] = (False, False), keys: tuple[str, str] = ("", ""), brushes: Mapping[str, Any] | None = None,
) -> str:
    """``values[0]`` across, ``values[1]`` up; missing values are left out and counted under the plot.
    With the columns' ``keys``, a rectangle dragged over the plot filters by both ranges."""
    left, right, top, bottom = 70, WIDTH - (150 if colour_label else 20), 14, HEIGHT - 48
    shown = [m for m in marks if m.values[0] is not None and m.values[1] is not None]
    x = scales.scale_for([m.values[0] for m in shown], left, right, log[0])
    y = scales.scale_for([m.values[1] for m in shown], bottom, top, log[1])
    shades, legend, continuous = scales.colours([m.colour for m in shown]) if colour_label else ([None] * len(shown), [], False)
    uid = next(_ids)
    parts = [svg_open(uid), draw_axes(x, y, (left, right, top, bottom), labels)]
    for key, scale, direction in ((keys[0], x, "x"), (keys[1], y, "y")):
        span = _band(scale, (brushes or {}).get(key)) if key else None
        if span is not None and direction == "x":
            parts.append(f'<rect class="wfnb-brushed" x="{span[0]:.1f}" y="{top}" width="{span[1] - span[0]:.1f}" height="{bottom - top}"/>')
        elif span is not None:
            parts.append(f'<rect class="wfnb-brushed" x="{left}" y="{span[0]:.1f}" width="{right - left}" height="{span[1] - span[0]:.1f}"/>')
    if all(keys):
        zone = bridge.brush_zone([brush_axis(x, keys[0], "x"), brush_axis(y, keys[1], "y")])
        parts.append(f'<rect class="wfnb-brush-zone" x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="transparent" {zone}/>')
    order = sorted(range(len(shown)), key=lambda i: (shown[i].ref == selected, shown[i].ref in ticked))  # picked on top
    for i in order:
        mark, shade = shown[i], shades[i]
        cx, cy = x(mark.values[0]), y(mark.values[1])
        if cx is None or cy is None:
            continue
        if x.categories:  # spread a category's points a little, the same way every time
            cx += (zlib.crc32(mark.ref.encode()) % 17 - 8) * min(6.0, (right - left) / len(x.categories) / 40)
        picked, compared = mark.ref == selected, mark.ref in ticked
        radius = 7 if picked else 5 if compared else 4
        stroke = f' stroke="{_PICK}" stroke-width="3"' if picked else f' stroke="{_INK}" stroke-width="2"' if compared else ""
        tip = f"{mark.label} · {labels[0]} = {value_text(mark.values[0])} · {labels[1]} = {value_text(mark.values[1])}"
        if colour_label:
            tip += f" · {colour_label} = {value_text(mark.colour)}"
        parts.append(
            f'<circle class="wfnb-point" cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{shade or _PLAIN}" fill-opacity="0.85"{stroke} '
            f'{bridge.act("select", mark.ref)}><title>{escape(tip)}</title></circle>'
        )
    if colour_label:
        parts.append(_legend(uid, colour_label, legend, continuous, right + 24, top))
    parts.append("</svg>")
    return wrap("".join(parts), _left_out(len(marks) - len(shown), "without both values"))


def parallel_svg(
    marks: Sequence[Mark], labels: Sequence[str], colour_label: str, selected: str, ticked: Sequence[str],
    keys: Sequence[str] = (), logs: Sequence[bool] = (), brushes: Mapping[str, Any] | None = None,
) -> str:
    """One vertical axis per column, one line per variant across them; click a line to select it, drag
    along an axis to filter by a range, click an axis' ``log``/``linear`` to switch its scale."""
    if len(labels) < 2:
        return '<div class="wfnb-empty">Parallel coordinates need two columns that vary among the listed variants (a sweep has them).</div>'
    keys = list(keys) or [""] * len(labels)
    logs = list(logs) or [False] * len(labels)
    width = min(PARALLEL_MAX_WIDTH, max(WIDTH, 150 * len(labels) + (150 if colour_label else 40)))
    left, right, top, bottom = 50, width - (150 if colour_label else 50), 30, HEIGHT - 40
    gap = (right - left) / (len(labels) - 1)
    axes = [scales.scale_for([m.values[i] for m in marks], bottom, top, logs[i]) for i in range(len(labels))]
    shades, legend, continuous = scales.colours([m.colour for m in marks]) if colour_label else ([None] * len(marks), [], False)
    uid = next(_ids)
    parts = [svg_open(uid, width, full=True)]
    background = line_opacity(len(marks))
    order = sorted(range(len(marks)), key=lambda i: (marks[i].ref == selected, marks[i].ref in ticked))
    for i in order:
        mark = marks[i]
        points = [(left + gap * a, axes[a](value)) for a, value in enumerate(mark.values)]
        path = _polyline(points)
        if not path:
            continue
        picked, compared = mark.ref == selected, mark.ref in ticked
        stroke_width = 3.5 if picked else 2.2 if compared else 1.3
        colour = _PICK if picked else shades[i] or _PLAIN
        opacity = 1.0 if picked or compared else background
        tip = mark.label + "".join(f" · {label} = {value_text(value)}" for label, value in zip(labels, mark.values))
        parts.append(
            f'<g class="wfnb-line" {bridge.act("select", mark.ref)}><title>{escape(tip)}</title>'
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{stroke_width}" stroke-opacity="{opacity:.2f}"/>'
            f'<path d="{path}" fill="none" stroke="transparent" stroke-width="9"/></g>'
        )
    for a, (label, scale) in enumerate(zip(labels, axes)):
        parts.append(_vertical_axis(left + gap * a, scale, label, keys[a], (brushes or {}).get(keys[a]), top, bottom))
    if colour_label:
        parts.append(_legend(uid, colour_label, legend, continuous, right + 40, top))
    parts.append("</svg>")
    return wrap("".join(parts), "")


def line_opacity(count: int) -> float:
    """Lines that are not picked: opaque enough for a few, faint enough that a thousand still show their bundles."""
    return min(0.7, max(0.06, 4 / math.sqrt(max(1, count))))


def brush_axis(scale: scales.Scale, key: str, direction: str) -> dict[str, Any]:
    """What the page's drag handler needs to turn pixels on this axis back into values."""
    spec: dict[str, Any] = {"key": key, "dir": direction, "p0": scale.start, "p1": scale.end}
    if scale.categories:
        spec["cats"] = list(scale.categories)
    else:
        spec.update(lo=scale.low, hi=scale.high, log=scale.log)
    return spec


def next_id() -> int:
    """A number for one drawing's ids, unique in this process."""
    return next(_ids)


def svg_open(uid: int, width: int = WIDTH, full: bool = False) -> str:
    """A plot's <svg>, as wide as its box (``full``) or up to its own width plus a little."""
    most = "" if full else f"max-width: {width + 80}px; "
    return (
        f'<svg class="wfnb-chart-svg" id="wfnb-chart-{uid}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" '
        f'width="100%" style="{most}display: block; font-family: var(--jp-ui-font-family, sans-serif); font-size: 11px">'
    )


def wrap(svg: str, note: str) -> str:
    """A plot in its container, which hands clicks and drags to the bridge; ``note`` under it."""
    below = f'<div class="wfnb-muted wfnb-chart-note">{escape(note)}</div>' if note else ""
    return f'<div class="wfnb-chart" {bridge.on_click_attribute()} {bridge.on_brush_attribute()}>{svg}{below}</div>'


def draw_axes(x: scales.Scale, y: scales.Scale, box: tuple[float, float, float, float], labels: tuple[str, str]) -> str:
    """The x and y axes of a plot in ``box`` (left, right, top, bottom), with grid, ticks and titles."""
    left, right, top, bottom = box
    parts = [f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{_INK}"/>', f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{_INK}"/>']
    for pixel, text in x.ticks():
        parts.append(f'<line x1="{pixel:.1f}" y1="{top}" x2="{pixel:.1f}" y2="{bottom}" stroke="{_GRID}" stroke-dasharray="2 3"/>')
        parts.append(f'<text x="{pixel:.1f}" y="{bottom + 15}" text-anchor="middle" fill="{_INK}">{escape(text)}</text>')
    for pixel, text in y.ticks():
        parts.append(f'<line x1="{left}" y1="{pixel:.1f}" x2="{right}" y2="{pixel:.1f}" stroke="{_GRID}" stroke-dasharray="2 3"/>')
        parts.append(f'<text x="{left - 6}" y="{pixel + 4:.1f}" text-anchor="end" fill="{_INK}">{escape(text)}</text>')
    parts.append(f'<text x="{(left + right) / 2:.0f}" y="{bottom + 36}" text-anchor="middle" style="fill: var(--jp-ui-font-color1, currentColor); font-size: 12px">{escape(labels[0])}</text>')
    middle = (top + bottom) / 2
    parts.append(
        f'<text x="16" y="{middle:.0f}" text-anchor="middle" transform="rotate(-90 16 {middle:.0f})" '
        f'style="fill: var(--jp-ui-font-color1, currentColor); font-size: 12px">{escape(labels[1])}</text>'
    )
    return "".join(parts)


def _vertical_axis(at: float, scale: scales.Scale, label: str, key: str, brushed: Any, top: float, bottom: float) -> str:
    parts = [f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{bottom}" stroke="{_INK}" stroke-width="1.2"/>']
    span = _band(scale, brushed)
    if span is not None:
        parts.append(f'<rect class="wfnb-brushed" x="{at - 9:.1f}" y="{span[0]:.1f}" width="18" height="{span[1] - span[0]:.1f}"/>')
    for pixel, text in scale.ticks(most=5):
        parts.append(f'<text class="wfnb-tick-label" x="{at + 5:.1f}" y="{pixel + 4:.1f}" fill="{_INK}" font-size="10">{escape(text)}</text>')
    parts.append(f'<text class="wfnb-tick-label" x="{at:.1f}" y="{top - 12}" text-anchor="middle" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600">{escape(label)}</text>')
    if key:
        zone = bridge.brush_zone([brush_axis(scale, key, "y")])
        parts.append(f'<rect class="wfnb-brush-zone" x="{at - 12:.1f}" y="{top}" width="24" height="{bottom - top}" fill="transparent" {zone}><title>drag along {escape(label)} to filter by a range; click to let it go</title></rect>')
        if not scale.categories:
            switch = "linear" if scale.log else "log"
            parts.append(
                f'<text class="wfnb-axis-scale" x="{at:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{_INK}" font-size="10" '
                f'{bridge.act("axis-log", key)}>{"log" if scale.log else "linear"}<title>{escape(label)}: click for a {switch} scale</title></text>'
            )
    return "".join(parts)


def _band(scale: scales.Scale, brushed: Any) -> tuple[float, float] | None:
    """The pixels a dragged range covers on an axis (a category's point and a little around it), low first."""
    if brushed is None:
        return None
    if isinstance(brushed, dict):
        pixels = [p for p in (scale(value) for value in brushed.get("in", [])) if p is not None]
        pad = 6.0
    else:
        pixels = [p for p in (scale(max(brushed[0], scale.low) if scale.log else brushed[0]), scale(brushed[1])) if p is not None]
        pad = 0.0
    if not pixels:
        return None
    edges = sorted((scale.start, scale.end))
    low, high = max(edges[0], min(pixels) - pad), min(edges[1], max(pixels) + pad)
    return (low, max(high, low + 2)) if low <= edges[1] and high >= edges[0] else None


def _legend(uid: int, title: str, entries: list[tuple[str, str]], continuous: bool, x: float, y: float) -> str:
    parts = [f'<text x="{x}" y="{y + 10}" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600">{escape(clip(title, 18))}</text>']
    if continuous:
        stops = "".join(f'<stop offset="{i / 8:.3f}" stop-color="{scales.ramp(i / 8)}"/>' for i in range(9))
        gradient = f"wfnb-ramp-{uid}"
        parts.append(f'<defs><linearGradient id="{gradient}" x1="0" y1="1" x2="0" y2="0">{stops}</linearGradient></defs>')
        parts.append(f'<rect x="{x}" y="{y + 20}" width="14" height="120" fill="url(#{gradient})"/>')
        parts.append(f'<text x="{x + 20}" y="{y + 30}" fill="{_INK}">{escape(entries[1][1])}</text>')
        parts.append(f'<text x="{x + 20}" y="{y + 140}" fill="{_INK}">{escape(entries[0][1])}</text>')
    else:
        for i, (colour, label) in enumerate(entries):
            parts.append(f'<circle cx="{x + 6}" cy="{y + 26 + i * 17}" r="5" fill="{colour}"/>')
            parts.append(f'<text x="{x + 16}" y="{y + 30 + i * 17}" fill="{_INK}">{escape(clip(label, 16))}</text>')
    return "".join(parts)


def _polyline(points: list[tuple[float, float | None]]) -> str:
    """An SVG path through the points, broken where a value is missing."""
    parts, pen_down = [], False
    for x, y in points:
        if y is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return " ".join(parts) if sum(p.startswith("L") for p in parts) else ""


def _left_out(count: int, why: str) -> str:
    return f"{count} variant{'s' if count != 1 else ''} {why} not shown" if count else ""


def value_text(value: Any) -> str:
    """A value as a tooltip shows it (— when missing)."""
    return "—" if value is None else format_value(value)


def clip(text: str, most: int) -> str:
    """``text`` cut to ``most`` characters, with … when cut."""
    return text if len(text) <= most else text[: most - 1] + "…"
