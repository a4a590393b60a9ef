"""The browser's CSS: JupyterLab's theme variables only, so it reads in light and dark themes alike.

Fallbacks after each variable are neutral (``inherit``, translucent greys) for
front ends without JupyterLab's variables; accents are translucent so that
they tint whatever background the theme has. Everything is scoped under
``.wfnb-browser``.
"""

from __future__ import annotations

_TINT = "color-mix(in srgb, {color} {percent}%, transparent)"


def _tint(color: str, percent: int) -> str:
    return _TINT.format(color=color, percent=percent)


_BRAND = "var(--jp-brand-color1, #1976d2)"
_ADD = "var(--jp-success-color1, #388e3c)"
_DEL = "var(--jp-error-color1, #d32f2f)"
_WARN = "var(--jp-warn-color1, #f57c00)"
_BORDER = "var(--jp-border-color2, rgba(128, 128, 128, 0.3))"
_MUTED = "var(--jp-ui-font-color2, inherit)"
_CODE_FONT = "var(--jp-code-font-family, monospace)"

CSS = f"""
.wfnb-browser {{ color: var(--jp-ui-font-color1, inherit); font-family: var(--jp-ui-font-family, inherit);
  font-size: var(--jp-ui-font-size1, 13px); max-width: 100%; }}
.wfnb-browser .wfnb-heading .widget-html-content {{ font-size: var(--jp-ui-font-size2, 14px); font-weight: 600; }}
.wfnb-browser .wfnb-muted, .wfnb-browser .wfnb-meta {{ color: {_MUTED}; }}
.wfnb-browser .wfnb-pad {{ padding: 4px 8px; }}
/* an HTML widget at width 100% plus ipywidgets' margins would overflow its box by 4 px: a scrollbar with nothing to show */
.wfnb-browser .widget-html {{ max-width: calc(100% - 2 * var(--jp-widgets-margin, 2px)); }}
.wfnb-browser .wfnb-empty {{ color: {_MUTED}; padding: 16px 8px; }}
.wfnb-browser code, .wfnb-browser pre {{ font-family: {_CODE_FONT}; font-size: var(--jp-code-font-size, 12px); }}

/* the table: one HTML table, scrolling sideways, headers never truncated */
.wfnb-browser .wfnb-table-widget, .wfnb-browser .wfnb-table-widget .widget-html-content {{ width: 100%; min-width: 0; }}
.wfnb-browser .wfnb-table-scroll {{ overflow-x: auto; max-width: 100%; border: 1px solid {_BORDER}; border-radius: 4px; margin: 4px 2px; }}
.wfnb-browser table.wfnb-table {{ border-collapse: separate; border-spacing: 0; width: max-content; min-width: 100%; line-height: 24px; }}
.wfnb-browser table.wfnb-table th, .wfnb-browser table.wfnb-table td {{ padding: 0 10px; white-space: nowrap; text-align: left;
  border-bottom: 1px solid var(--jp-border-color3, rgba(128,128,128,0.15)); background: var(--jp-layout-color1, transparent); }}
.wfnb-browser table.wfnb-table thead th {{ background: var(--jp-layout-color2, rgba(128,128,128,0.1)); font-weight: 600; position: sticky; top: 0; z-index: 2; }}
.wfnb-browser table.wfnb-table tr.wfnb-groups th {{ font-weight: 600; font-size: 11px; text-transform: uppercase; letter-spacing: .04em;
  color: {_MUTED}; line-height: 18px; text-align: center; }}
.wfnb-browser table.wfnb-table th.wfnb-sortable {{ cursor: pointer; user-select: none; }}
.wfnb-browser table.wfnb-table th.wfnb-sortable:hover {{ text-decoration: underline; }}
.wfnb-browser table.wfnb-table th.wfnb-col-param, .wfnb-browser table.wfnb-table th.wfnb-col-metric {{ text-align: right; }}
.wfnb-browser table.wfnb-table .wfnb-group, .wfnb-browser table.wfnb-table .wfnb-group-start {{ border-left: 1px solid {_BORDER}; }}
.wfnb-browser table.wfnb-table .wfnb-pin0 {{ position: sticky; left: 0; z-index: 1; width: 22px; min-width: 22px; max-width: 22px; padding: 0 4px; text-align: center; }}
.wfnb-browser table.wfnb-table .wfnb-pin1 {{ position: sticky; left: 30px; z-index: 1; box-shadow: 1px 0 0 {_BORDER}; }}
.wfnb-browser table.wfnb-table thead .wfnb-pin0, .wfnb-browser table.wfnb-table thead .wfnb-pin1 {{ z-index: 3; }}
.wfnb-browser table.wfnb-table tr.wfnb-row {{ cursor: pointer; }}
.wfnb-browser table.wfnb-table tr.wfnb-row:hover td {{ background: {_tint(_BRAND, 7)}; }}
.wfnb-browser table.wfnb-table tr.wfnb-selected td {{ background: {_tint(_BRAND, 18)}; }}
.wfnb-browser table.wfnb-table tr.wfnb-row:focus {{ outline: 2px solid {_BRAND}; outline-offset: -2px; }}
.wfnb-browser table.wfnb-table td.wfnb-tick, .wfnb-browser table.wfnb-table th.wfnb-tick {{ cursor: pointer; color: {_MUTED}; font-size: 15px; }}
.wfnb-browser table.wfnb-table tr.wfnb-ticked td.wfnb-tick {{ color: {_BRAND}; }}
.wfnb-browser table.wfnb-table .wfnb-variant {{ color: var(--jp-content-link-color, {_BRAND}); font-weight: 600; }}
.wfnb-browser table.wfnb-table td.wfnb-num {{ text-align: right; font-variant-numeric: tabular-nums; font-family: {_CODE_FONT}; }}
.wfnb-browser table.wfnb-table td.wfnb-text {{ max-width: 16em; overflow: hidden; text-overflow: ellipsis; }}
.wfnb-browser table.wfnb-table td.wfnb-empty-row {{ color: {_MUTED}; padding: 12px; }}
.wfnb-browser .wfnb-change {{ margin-right: 6px; font-family: {_CODE_FONT}; font-size: 12px; }}
.wfnb-browser .wfnb-change-code {{ color: var(--jp-ui-font-color1, inherit); font-weight: 600; }}
.wfnb-browser .wfnb-change-params, .wfnb-browser .wfnb-change-inputs {{ color: {_MUTED}; }}
.wfnb-browser .wfnb-num {{ font-variant-numeric: tabular-nums; }}
.wfnb-browser .wfnb-tag {{ display: inline-block; padding: 0 6px; margin-right: 3px; border-radius: 8px; line-height: 18px;
  font-size: 11px; background: {_tint(_BRAND, 18)}; color: var(--jp-ui-font-color1, inherit); }}
.wfnb-browser .wfnb-status {{ display: inline-block; padding: 0 6px; border-radius: 8px; line-height: 18px; font-size: 11px;
  border: 1px solid {_BORDER}; }}
.wfnb-browser .wfnb-status-current {{ border-color: {_ADD}; background: {_tint(_ADD, 15)}; }}
.wfnb-browser .wfnb-status-stale {{ border-color: {_WARN}; background: {_tint(_WARN, 18)}; }}
.wfnb-browser .wfnb-section-title-text {{ font-weight: 600; color: {_MUTED}; text-transform: uppercase; font-size: 11px; }}

/* plots */
.wfnb-browser .wfnb-chart {{ padding: 4px 0; }}
.wfnb-browser .wfnb-chart .wfnb-point, .wfnb-browser .wfnb-chart .wfnb-line {{ cursor: pointer; }}
.wfnb-browser .wfnb-chart .wfnb-point:hover {{ stroke: var(--jp-ui-font-color1, #333); stroke-width: 2; }}
.wfnb-browser .wfnb-chart .wfnb-line:hover path:first-of-type {{ stroke-width: 3; stroke-opacity: 1; }}
.wfnb-browser .wfnb-chart .wfnb-tick-label {{ paint-order: stroke; stroke: var(--jp-layout-color1, white); stroke-width: 3px;
  stroke-linejoin: round; }}
.wfnb-browser .wfnb-chart .wfnb-brush-zone {{ cursor: ns-resize; }}
.wfnb-browser .wfnb-chart svg .wfnb-brush-zone[data-wfnb-brush*='"dir":"x"'] {{ cursor: crosshair; }}
.wfnb-browser .wfnb-chart .wfnb-brushing {{ fill: {_tint(_BRAND, 18)}; stroke: {_BRAND}; stroke-dasharray: 3 2; pointer-events: none; }}
.wfnb-browser .wfnb-chart .wfnb-brushed {{ fill: {_tint(_BRAND, 22)}; stroke: {_BRAND}; stroke-width: 1; pointer-events: none; }}
.wfnb-browser .wfnb-chart .wfnb-axis-scale {{ cursor: pointer; text-decoration: underline dotted; }}
.wfnb-browser .wfnb-chart .wfnb-curve {{ cursor: pointer; }}
.wfnb-browser .wfnb-chart .wfnb-curve:hover path {{ stroke-width: 3.5; }}
.wfnb-browser table.wfnb-importance {{ border-collapse: collapse; margin: 4px 0 8px; }}
.wfnb-browser table.wfnb-importance td, .wfnb-browser table.wfnb-importance th {{ padding: 1px 10px 1px 0; text-align: left; white-space: nowrap; }}
.wfnb-browser table.wfnb-importance td.wfnb-num {{ text-align: right; font-family: {_CODE_FONT}; }}
.wfnb-browser .wfnb-importance-note {{ line-height: 1.4; font-size: 11px; }}
.wfnb-browser .wfnb-bar {{ display: inline-block; height: 10px; border-radius: 2px; background: {_BRAND}; vertical-align: middle; }}
.wfnb-browser .wfnb-bar-negative {{ background: {_WARN}; }}
.wfnb-browser .wfnb-icon-svg {{ width: 1em; height: 1em; vertical-align: -0.125em; fill: currentColor; }}

/* detail */
.wfnb-browser .wfnb-detail, .wfnb-browser .wfnb-compare {{ padding: 4px 2px; line-height: 1.45; }}
.wfnb-browser .wfnb-title {{ font-size: var(--jp-ui-font-size2, 14px); font-weight: 600; margin: 2px 0 4px; }}
.wfnb-browser .wfnb-note {{ margin: 2px 0; }}
.wfnb-browser .wfnb-kv-row {{ display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; margin: 8px 0; }}
.wfnb-browser table.wfnb-kv, .wfnb-browser table.wfnb-values {{ border-collapse: collapse; }}
.wfnb-browser table.wfnb-kv caption {{ text-align: left; color: {_MUTED}; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; }}
.wfnb-browser table.wfnb-kv th, .wfnb-browser table.wfnb-values th {{ text-align: left; font-weight: 600; padding: 1px 12px 1px 0; }}
.wfnb-browser table.wfnb-kv td, .wfnb-browser table.wfnb-values td {{ padding: 1px 12px 1px 0; font-family: {_CODE_FONT}; }}
.wfnb-browser table.wfnb-values {{ margin: 6px 0 10px; }}
.wfnb-browser table.wfnb-values tr:first-child th {{ border-bottom: 1px solid {_BORDER}; }}
.wfnb-browser table.wfnb-values tr.wfnb-section td {{ color: {_MUTED}; font-family: inherit; font-size: 11px; text-transform: uppercase; padding-top: 6px; }}
.wfnb-browser table.wfnb-values tr.wfnb-changed {{ background: {_tint(_WARN, 16)}; }}
.wfnb-browser details.wfnb-step {{ border: 1px solid {_BORDER}; border-radius: 4px; margin: 6px 0; }}
.wfnb-browser details.wfnb-step > summary {{ cursor: pointer; padding: 4px 8px; background: var(--jp-layout-color2, rgba(128,128,128,0.08)); }}
.wfnb-browser .wfnb-step-name {{ font-weight: 600; font-family: {_CODE_FONT}; }}
.wfnb-browser .wfnb-badge {{ display: inline-block; padding: 0 6px; margin-left: 4px; border-radius: 8px; font-size: 11px; line-height: 18px; }}
.wfnb-browser .wfnb-badge-ran {{ background: {_tint(_ADD, 18)}; }}
.wfnb-browser .wfnb-badge-cached {{ background: {_tint(_BRAND, 16)}; }}
.wfnb-browser .wfnb-badge-changed {{ background: {_tint(_WARN, 20)}; }}
.wfnb-browser .wfnb-badge-branch {{ background: {_tint(_BRAND, 8)}; border: 1px solid {_tint(_BRAND, 40)}; }}
.wfnb-browser .wfnb-badge-warn {{ background: {_tint(_WARN, 28)}; }}
.wfnb-browser pre.wfnb-code {{ margin: 0; padding: 6px 10px; background: var(--jp-cell-editor-background, rgba(128,128,128,0.08));
  border-bottom: 1px solid {_BORDER}; overflow-x: auto; color: var(--jp-content-font-color1, inherit); }}
.wfnb-browser .wfnb-outputs {{ padding: 4px 10px; overflow-x: auto; }}
.wfnb-browser pre.wfnb-stream {{ margin: 2px 0; white-space: pre-wrap; color: var(--jp-content-font-color1, inherit); background: transparent; }}
.wfnb-browser pre.wfnb-stderr {{ background: var(--jp-rendermime-error-background, {_tint(_DEL, 12)}); padding: 2px 4px; }}
.wfnb-browser .wfnb-figure img, .wfnb-browser .wfnb-figures img {{ max-width: 100%; }}
.wfnb-browser .wfnb-html table {{ border-collapse: collapse; font-size: 12px; margin-left: 0; margin-right: auto; }}
.wfnb-browser .wfnb-html th, .wfnb-browser .wfnb-html td {{ padding: 2px 8px; border-bottom: 1px solid {_BORDER}; text-align: right; }}
.wfnb-browser .wfnb-scroll {{ overflow-x: auto; max-width: 100%; }}
.wfnb-browser table.wfnb-side {{ border-collapse: collapse; margin: 6px 0 10px; }}
.wfnb-browser table.wfnb-side th, .wfnb-browser table.wfnb-side td {{ padding: 2px 12px; white-space: nowrap; text-align: left; }}
.wfnb-browser table.wfnb-side tr:first-child th {{ border-bottom: 1px solid {_BORDER}; }}
.wfnb-browser table.wfnb-side td.wfnb-num {{ text-align: right; font-family: {_CODE_FONT}; }}
.wfnb-browser table.wfnb-side tr.wfnb-section td {{ color: {_MUTED}; font-size: 11px; text-transform: uppercase; padding-top: 6px; }}
.wfnb-browser table.wfnb-side tr.wfnb-changed {{ background: {_tint(_WARN, 12)}; }}
.wfnb-browser table.wfnb-side td.wfnb-high {{ font-weight: 700; }}
.wfnb-browser table.wfnb-side td.wfnb-low {{ font-style: italic; }}
.wfnb-browser .wfnb-delta {{ color: {_MUTED}; font-size: 11px; margin-left: 4px; }}
.wfnb-browser .wfnb-figure-grid {{ display: grid; gap: 8px; padding: 6px 2px; align-items: start; }}
.wfnb-browser .wfnb-figure-grid img {{ max-width: 100%; }}
.wfnb-browser .wfnb-grid-head {{ font-weight: 600; }}
.wfnb-browser .wfnb-grid-step {{ border-top: 1px solid {_BORDER}; padding-top: 4px; }}
.wfnb-browser .wfnb-steps-head {{ margin: 10px 0 2px; }}

/* code diff */
.wfnb-browser table.wfnb-diff {{ border-collapse: collapse; width: 100%; table-layout: fixed; font-family: {_CODE_FONT};
  font-size: var(--jp-code-font-size, 12px); }}
.wfnb-browser table.wfnb-diff th {{ text-align: left; font-family: var(--jp-ui-font-family, inherit); color: {_MUTED}; padding: 2px 6px; }}
.wfnb-browser table.wfnb-diff col.wfnb-ln {{ width: 3em; }}
.wfnb-browser table.wfnb-diff td.wfnb-ln {{ text-align: right; color: {_MUTED}; padding-right: 6px; user-select: none; }}
.wfnb-browser table.wfnb-diff td.wfnb-src {{ white-space: pre-wrap; word-break: break-all; padding: 0 6px; }}
.wfnb-browser table.wfnb-diff td.wfnb-del {{ background: {_tint(_DEL, 14)}; }}
.wfnb-browser table.wfnb-diff td.wfnb-add {{ background: {_tint(_ADD, 14)}; }}
.wfnb-browser table.wfnb-diff td.wfnb-none {{ background: {_tint("var(--jp-ui-font-color3, grey)", 8)}; }}
.wfnb-browser table.wfnb-diff .wfnb-chg {{ background: {_tint(_WARN, 40)}; border-radius: 2px; }}
.wfnb-browser table.wfnb-diff tr.wfnb-fold td {{ color: {_MUTED}; text-align: center; font-family: var(--jp-ui-font-family, inherit); }}

/* messages and actions */
.wfnb-browser .wfnb-msg {{ padding: 6px 10px; border-radius: 4px; border-left: 3px solid {_BORDER}; margin: 4px 2px; }}
.wfnb-browser .wfnb-dismiss {{ float: right; cursor: pointer; padding: 0 4px; margin-left: 8px; font-size: 16px; line-height: 16px; color: {_MUTED}; }}
.wfnb-browser .wfnb-dismiss:hover {{ color: var(--jp-ui-font-color1, inherit); }}
.wfnb-browser .wfnb-msg-success {{ border-left-color: {_ADD}; background: {_tint(_ADD, 12)}; }}
.wfnb-browser .wfnb-msg-error {{ border-left-color: {_DEL}; background: {_tint(_DEL, 12)}; }}
.wfnb-browser .wfnb-msg-info {{ border-left-color: {_BRAND}; background: {_tint(_BRAND, 10)}; }}
.wfnb-browser .wfnb-msg pre.wfnb-trace {{ white-space: pre-wrap; margin: 4px 0 0; }}
.wfnb-browser .wfnb-section-title .widget-html-content {{ font-weight: 600; color: {_MUTED}; text-transform: uppercase;
  font-size: 11px; letter-spacing: .04em; }}
.wfnb-browser .wfnb-box {{ border: 1px solid {_BORDER}; border-radius: 4px; padding: 6px 8px; margin: 4px 2px; }}

/* syntax colours: JupyterLab's editor palette */
.wfnb-browser .tok-k, .wfnb-browser .tok-kn, .wfnb-browser .tok-kd, .wfnb-browser .tok-kr, .wfnb-browser .tok-ow {{
  color: var(--jp-mirror-editor-keyword-color, #7c4dff); font-weight: bold; }}
.wfnb-browser .tok-kc, .wfnb-browser .tok-bp {{ color: var(--jp-mirror-editor-keyword-color, #7c4dff); }}
.wfnb-browser [class^="tok-s"] {{ color: var(--jp-mirror-editor-string-color, #ba2121); }}
.wfnb-browser [class^="tok-m"] {{ color: var(--jp-mirror-editor-number-color, #080); }}
.wfnb-browser [class^="tok-c"] {{ color: var(--jp-mirror-editor-comment-color, #408080); font-style: italic; }}
.wfnb-browser .tok-nf, .wfnb-browser .tok-nc {{ color: var(--jp-mirror-editor-def-color, #00f); }}
.wfnb-browser .tok-nb {{ color: var(--jp-mirror-editor-builtin-color, #008000); }}
.wfnb-browser .tok-nd {{ color: var(--jp-mirror-editor-meta-color, #a2f); }}
.wfnb-browser .tok-o {{ color: var(--jp-mirror-editor-operator-color, #a2f); font-weight: bold; }}
.wfnb-browser .tok-p {{ color: var(--jp-mirror-editor-punctuation-color, inherit); }}
.wfnb-browser .tok-n, .wfnb-browser .tok-nn {{ color: var(--jp-mirror-editor-variable-color, inherit); }}
"""


def style_html() -> str:
    """The stylesheet as HTML, for one hidden HTML widget in the browser."""
    return f"<style>{CSS}</style>"
