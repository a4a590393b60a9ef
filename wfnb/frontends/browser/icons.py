"""Small icons as inline SVG, drawn in the text's colour: a glyph such as ⑂ or 📌 needs a font that has it,
and with the fonts a plain Linux install (or ``.ci/run``) has, it shows as an empty box."""

from __future__ import annotations

from html import escape

_PATHS = {
    # a branch: two commits on a line, a third forking off it
    "branch": '<circle cx="4" cy="3" r="2"/><circle cx="4" cy="13" r="2"/><circle cx="12" cy="5" r="2"/>'
              '<path d="M4 5v6M12 7c0 3-8 2-8 5" fill="none" stroke="currentColor" stroke-width="1.6"/>',
    # a push pin, head up
    "pin": '<path d="M5 1h6v1.5l-1 1V7l2.5 2.5V11H8.8v4L8 16l-.8-1v-4H3.5V9.5L6 7V3.5l-1-1z"/>',
}


def icon(name: str, title: str = "") -> str:
    """The icon ``name`` as inline SVG (1em, ``currentColor``), with a tooltip when ``title`` is given."""
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg class="wfnb-icon-svg wfnb-icon-{name}" viewBox="0 0 16 16" aria-hidden="{"false" if title else "true"}" '
        f'role="img">{tip}{_PATHS[name]}</svg>'
    )
