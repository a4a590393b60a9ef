"""CSS for the table's groups, failed attempts and statuses, and figures that open on a click.

Apart from ``theme`` (the browser's colours and layout) so that these rules
travel with the features that need them; the same JupyterLab variables, so
they read in light and dark themes alike, all scoped under ``.wfnb-browser``.
"""

from __future__ import annotations

_MUTED = "var(--jp-ui-font-color2, inherit)"
_ERROR = "var(--jp-error-color1, #d32f2f)"
_WARN = "var(--jp-warn-color1, #f57c00)"

CSS = f"""
.wfnb-browser .wfnb-status-freed {{ border-color: {_WARN}; border-style: dashed; }}
.wfnb-browser .wfnb-status-failed {{ border-color: {_ERROR}; color: {_ERROR}; }}
.wfnb-browser tr.wfnb-failed-row td {{ opacity: 0.55; font-style: italic; }}
.wfnb-browser tr.wfnb-failed-row td.wfnb-error {{ opacity: 0.85; color: {_ERROR}; white-space: normal; max-width: 40em; }}
.wfnb-browser tr.wfnb-group-row {{ cursor: zoom-in; }}
.wfnb-browser tr.wfnb-group-row .wfnb-range {{ color: {_MUTED}; font-size: 11px; line-height: 12px; padding-bottom: 3px; }}
.wfnb-browser .wfnb-group-note {{ padding: 2px 4px; }}
.wfnb-browser .wfnb-figure-grid img, .wfnb-browser .wfnb-figure-grid svg {{ cursor: zoom-in; }}
"""


def style_html() -> str:
    return f"<style>{CSS}</style>"
