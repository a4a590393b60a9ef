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
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from wfnb.frontends.browser import bridge, scales
from wfnb.frontends.browser.table import format_value

WIDTH, HEIGHT = 760, 380
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
    log: tuple[bool, bool] = (False, False),
) -> str:
    """``values[0]`` across, ``values[1]`` up; missing values are left out and counted under the plot."""
    left, right, top, bottom = 70, WIDTH - (150 if colour_label else 20), 14, HEIGHT - 48
    shown = [m for m in marks if m.values[0] is not None and m.values[1] is not None]
    x = scales.scale_for([m.values[0] for m in shown], left, right, log[0])
    y = scales.scale_for([m.values[1] for m in shown], bottom, top, log[1])
    shades, legend, continuous = scales.colours([m.colour for m in shown]) if colour_label else ([None] * len(shown), [], False)
    uid = next(_ids)
    parts = [_svg_open(uid), _axes(x, y, (left, right, top, bottom), labels)]
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
        tip = f"{mark.label} · {labels[0]} = {_text(mark.values[0])} · {labels[1]} = {_text(mark.values[1])}"
        if colour_label:
            tip += f" · {colour_label} = {_text(mark.colour)}"
        parts.append(
            f'<circle class="wfnb-point" cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" fill="{shade or _PLAIN}" fill-opacity="0.85"{stroke} '
            f'{bridge.act("select", mark.ref)}><title>{escape(tip)}</title></circle>'
        )
    if colour_label:
        parts.append(_legend(uid, colour_label, legend, continuous, right + 24, top))
    parts.append("</svg>")
    return _wrap("".join(parts), _left_out(len(marks) - len(shown), "without both values"))


def parallel_svg(marks: Sequence[Mark], labels: Sequence[str], colour_label: str, selected: str, ticked: Sequence[str]) -> str:
    """One vertical axis per column, one line per variant across them; click a line to select it."""
    if len(labels) < 2:
        return '<div class="wfnb-empty">Parallel coordinates need two columns that vary among the listed variants (a sweep has them).</div>'
    left, right, top, bottom = 40, WIDTH - (150 if colour_label else 40), 30, HEIGHT - 30
    gap = (right - left) / (len(labels) - 1)
    axes = [scales.scale_for([m.values[i] for m in marks], bottom, top) for i in range(len(labels))]
    shades, legend, continuous = scales.colours([m.colour for m in marks]) if colour_label else ([None] * len(marks), [], False)
    uid = next(_ids)
    parts = [_svg_open(uid)]
    order = sorted(range(len(marks)), key=lambda i: (marks[i].ref == selected, marks[i].ref in ticked))
    for i in order:
        mark = marks[i]
        points = [(left + gap * a, axes[a](value)) for a, value in enumerate(mark.values)]
        path = _polyline(points)
        if not path:
            continue
        picked, compared = mark.ref == selected, mark.ref in ticked
        width = 3.5 if picked else 2.2 if compared else 1.3
        colour = _PICK if picked else shades[i] or _PLAIN
        opacity = 1.0 if picked or compared else 0.6
        tip = mark.label + "".join(f" · {label} = {_text(value)}" for label, value in zip(labels, mark.values))
        parts.append(
            f'<g class="wfnb-line" {bridge.act("select", mark.ref)}><title>{escape(tip)}</title>'
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-opacity="{opacity}"/>'
            f'<path d="{path}" fill="none" stroke="transparent" stroke-width="9"/></g>'
        )
    for a, (label, scale) in enumerate(zip(labels, axes)):
        parts.append(_vertical_axis(left + gap * a, scale, label, top, bottom))
    if colour_label:
        parts.append(_legend(uid, colour_label, legend, continuous, right + 34, top))
    parts.append("</svg>")
    return _wrap("".join(parts), "")


def _svg_open(uid: int) -> str:
    return (
        f'<svg class="wfnb-chart-svg" id="wfnb-chart-{uid}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width: {WIDTH + 80}px; font-family: var(--jp-ui-font-family, sans-serif); font-size: 11px">'
    )


def _wrap(svg: str, note: str) -> str:
    below = f'<div class="wfnb-muted wfnb-chart-note">{escape(note)}</div>' if note else ""
    return f'<div class="wfnb-chart" {bridge.on_click_attribute()}>{svg}{below}</div>'


def _axes(x: scales.Scale, y: scales.Scale, box: tuple[float, float, float, float], labels: tuple[str, str]) -> str:
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


def _vertical_axis(at: float, scale: scales.Scale, label: str, top: float, bottom: float) -> str:
    parts = [f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{bottom}" stroke="{_INK}" stroke-width="1.2"/>']
    for pixel, text in scale.ticks(most=5):
        parts.append(f'<text x="{at + 4:.1f}" y="{pixel + 4:.1f}" fill="{_INK}" font-size="10">{escape(text)}</text>')
    parts.append(f'<text x="{at:.1f}" y="{top - 10}" text-anchor="middle" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600">{escape(label)}</text>')
    return "".join(parts)


def _legend(uid: int, title: str, entries: list[tuple[str, str]], continuous: bool, x: float, y: float) -> str:
    parts = [f'<text x="{x}" y="{y + 10}" style="fill: var(--jp-ui-font-color1, currentColor); font-weight: 600">{escape(_clip(title, 18))}</text>']
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
            parts.append(f'<text x="{x + 16}" y="{y + 30 + i * 17}" fill="{_INK}">{escape(_clip(label, 16))}</text>')
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


def _text(value: Any) -> str:
    return "—" if value is None else format_value(value)


def _clip(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
