"""A metric's curve per variant (``wfnb.log(loss=v, step=epoch)``), overlaid, as SVG: the x axis is the logged step.

Drawn like ``charts``' plots (theme ink, one SVG, the bridge's ``select`` on each
line); each variant gets a colour of the categorical palette, named in the
legend, and the selected one is drawn last and thicker.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from wfnb.frontends.browser import bridge, scales
from wfnb.frontends.browser.charts import HEIGHT, WIDTH, clip, draw_axes, next_id, svg_open, value_text, wrap
from wfnb.frontends.browser.plotting import Curve

LEGEND_ROWS = 16  # variants named in the legend; the rest are counted


def curves_svg(curves: Sequence[Curve], metric: str, selected: str, log_y: bool = False) -> str:
    """One line per curve over the steps logged; hovering a point shows its variant, step and value."""
    if not curves:
        return (
            '<div class="wfnb-empty">No curve to draw: select or tick variants whose steps logged a metric per step, '
            "e.g. <code>wfnb.log(loss=loss, step=epoch)</code> in a training loop.</div>"
        )
    left, right, top, bottom = 70, WIDTH - 150, 14, HEIGHT - 48
    steps = [step for curve in curves for step, _ in curve.points]
    values = [value for curve in curves for _, value in curve.points]
    x = scales.scale_for(steps, left, right)
    y = scales.scale_for(values, bottom, top, log_y and all(v > 0 for v in values))
    uid = next_id()
    parts = [svg_open(uid), draw_axes(x, y, (left, right, top, bottom), ("step", metric))]
    colours = {curve.ref: scales.PALETTE[i % len(scales.PALETTE)] for i, curve in enumerate(curves)}
    for curve in sorted(curves, key=lambda c: c.ref == selected):
        picked = curve.ref == selected
        points = [(x(step), y(value)) for step, value in curve.points]
        shown = [(px, py) for px, py in points if px is not None and py is not None]
        if not shown:
            continue
        path = " ".join(f"{'L' if i else 'M'}{px:.1f},{py:.1f}" for i, (px, py) in enumerate(shown))
        dots = "".join(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="{3.5 if picked else 2.5}" fill="{colours[curve.ref]}">'
            f"<title>{escape(f'{curve.label} · step {value_text(step)} · {metric} = {value_text(value)}')}</title></circle>"
            for (px, py), (step, value) in zip(points, curve.points) if px is not None and py is not None
        )
        parts.append(
            f'<g class="wfnb-curve" data-ref="{escape(curve.ref)}" {bridge.act("select", curve.ref)}><title>{escape(curve.label)}</title>'
            f'<path d="{path}" fill="none" stroke="{colours[curve.ref]}" stroke-width="{3 if picked else 1.8}"/>{dots}</g>'
        )
    parts.append(_curve_legend(curves, colours, selected, right + 24, top))
    parts.append("</svg>")
    return wrap("".join(parts), "")


def _curve_legend(curves: Sequence[Curve], colours: dict[str, str], selected: str, x: float, y: float) -> str:
    parts = []
    for i, curve in enumerate(curves[:LEGEND_ROWS]):
        weight = ' font-weight="600"' if curve.ref == selected else ""
        parts.append(f'<line x1="{x}" y1="{y + 6 + i * 17}" x2="{x + 14}" y2="{y + 6 + i * 17}" stroke="{colours[curve.ref]}" stroke-width="3"/>')
        parts.append(f'<text x="{x + 20}" y="{y + 10 + i * 17}" fill="var(--jp-ui-font-color1, currentColor)"{weight}>{escape(clip(curve.label, 16))}</text>')
    if len(curves) > LEGEND_ROWS:
        parts.append(f'<text x="{x}" y="{y + 10 + LEGEND_ROWS * 17}" fill="var(--jp-ui-font-color2, #888)">and {len(curves) - LEGEND_ROWS} more</text>')
    return "".join(parts)
