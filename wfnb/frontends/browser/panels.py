"""The browser's tabs other than the detail: Compare, Plots and Actions, each a few widgets over the state.

Like ``view``, they only build widgets, link them to the state and redraw from
its data; each action's result is drawn right under the action's buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import ipywidgets as w

from wfnb.errors import WfnbError
from wfnb.frontends.browser import charts, curves, graph, importance, render, render_compare, table
from wfnb.frontends.browser.actions import EXPORT_FORMATS
from wfnb.frontends.browser.state import ORDER_AXIS, BrowserState

PARALLEL_AXES = 8  # columns drawn in parallel coordinates, at most
_STEP_STYLE = {"ran": ("success", 1.0), "cached": ("info", 1.0), "failed": ("danger", 1.0), "running": ("warning", 0.35), "pending": ("", 0.0)}


class _Panel:
    """A tab's widgets over the state; ``_syncing`` guards dropdowns while their options are redrawn."""

    def __init__(self, state: BrowserState) -> None:
        self.state = state
        self._syncing = False

    def _choice(self, dropdown: w.Dropdown, trait: str, options: Callable[[], list[tuple[str, str]]]) -> Callable[[], None]:
        return link_choice(self, dropdown, trait, options)


class ComparePanel(_Panel):
    """The compared variants side by side, then the selected one's code against another's."""

    def __init__(self, state: BrowserState) -> None:
        super().__init__(state)
        self.title = w.HTML()
        self.side = w.HTML()
        self.compare_to = w.Dropdown(description="code of the selected variant against", layout=w.Layout(width="420px"), style={"description_width": "initial"})
        self.code = w.HTML()
        self.widget = w.VBox([self.title, self.side, self.compare_to, self.code])
        self.refresh_options = self._choice(self.compare_to, "baseline", lambda: [("—", "")] + state.compare_options())

    def draw(self) -> None:
        state = self.state
        refs = state.compared()
        how = "the ticked variants" if len(state.ticked) >= 2 else "the selected variant and the one its code is compared with (tick rows to choose others)"
        names = ", ".join(ref.split("/")[-1] if state.workflow else ref for ref in refs)
        self.title.value = f'<div class="wfnb-title">Side by side: {escape(names) or "—"} <span class="wfnb-muted">· {escape(how)}</span></div>'
        self.side.value = render_compare.side_by_side_html(state.side_by_side())
        ticked = len(state.ticked) >= 2
        self.compare_to.layout.display = "none" if ticked else None  # the ticked variants are compared with the first
        comparisons = state.comparisons()
        self.code.value = "".join(map(render_compare.comparison_html, comparisons)) if comparisons else render_compare.comparison_html(None)
        if state.grouped:
            self.side.value = render_compare.groups_side_by_side_html(state.groups(), state.grouping_params(), state.metric_names()) + self.side.value


class PlotsPanel(_Panel):
    """A scatter, parallel coordinates or curves over the filtered variants; which parameters matter; the step graph.

    A range dragged on the scatter or along a parallel axis becomes the filter
    (its text in the filter box); the plots then show what the table lists.
    """

    TRAITS = ("curve_metric", "importance_metric", "log_axes", "linear_axes", "brushes")  # redraw the tab when they change

    def __init__(self, state: BrowserState) -> None:
        super().__init__(state)
        self.kind = w.ToggleButtons(options=[("scatter", "scatter"), ("parallel coordinates", "parallel"), ("curves", "curves")], style={"button_width": "150px"})
        w.link((state, "plot_kind"), (self.kind, "value"))
        def axis(description: str) -> w.Dropdown:  # each its own layout, so that one can be hidden alone
            return w.Dropdown(description=description, layout=w.Layout(width="240px"), style={"description_width": "initial"})

        self.x_axis, self.y_axis, self.color_by, self.curve_metric = axis("x"), axis("y"), axis("colour"), axis("metric")
        self.log_x = w.Checkbox(description="log x", indent=False, layout=w.Layout(width="70px"))
        self.log_y = w.Checkbox(description="log y", indent=False, layout=w.Layout(width="70px"))
        w.link((state, "log_x"), (self.log_x, "value"))
        w.link((state, "log_y"), (self.log_y, "value"))
        self.axes = w.HBox([self.x_axis, self.y_axis, self.log_x], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.chart = w.HTML(layout=w.Layout(width="100%"))
        self.note = w.HTML()
        self.clear = w.Button(description="Clear selection", icon="times", layout=w.Layout(width="140px", display="none"),
                              tooltip="let go of the ranges dragged on the plots (the filter keeps what you typed)")
        self.clear.on_click(lambda _: state.clear_brushes())
        self.importance_metric = w.Dropdown(description="which parameters matter for", layout=w.Layout(width="380px"), style={"description_width": "initial"})
        self.importance = w.HTML()
        self.dag = w.HTML(layout=w.Layout(overflow="auto"))
        self.dag.add_class("wfnb-dag-widget")
        controls = w.HBox([self.kind, self.axes, self.curve_metric, self.log_y, self.color_by], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = w.VBox([controls, w.HBox([self.note, self.clear], layout=w.Layout(align_items="center", flex_flow="row wrap")),
                              self.chart, self.importance_metric, self.importance, self.dag])
        metrics = lambda: [(c.name, c.key) for c in state.columns() if c.kind == "metric"]  # noqa: E731
        refreshers = [
            self._choice(self.x_axis, "x_axis", state.axis_options),
            self._choice(self.y_axis, "y_axis", state.axis_options),
            self._choice(self.color_by, "color_by", lambda: [("none", "")] + state.axis_options()),
            self._choice(self.importance_metric, "importance_metric", lambda: [("first metric", "")] + metrics()),
            self._choice(self.curve_metric, "curve_metric", lambda: [("first logged per step", "")] + [(n, n) for n in state.curve_options()]),
        ]
        self.refresh_options = lambda: [refresh() for refresh in refreshers]

    def draw(self) -> None:
        state = self.state
        rows, left_out = state.plot_rows()
        colour_label = _label(state, state.color_by)
        label = (lambda row: row.name) if state.workflow else (lambda row: row.ref)
        kind = state.plot_kind
        self.axes.layout.display = None if kind == "scatter" else "none"
        self.log_y.layout.display = None if kind != "parallel" else "none"
        self.curve_metric.layout.display = None if kind == "curves" else "none"
        self.color_by.layout.display = None if kind != "curves" else "none"
        if kind == "scatter":
            keys = (state.x_axis or ORDER_AXIS, state.y_axis or ORDER_AXIS)
            marks = [charts.Mark(r.ref, label(r), (_value(r, keys[0]), _value(r, keys[1])), _value(r, state.color_by)) for r in rows]
            labels = (_label(state, keys[0]), _label(state, keys[1]))
            self.chart.value = charts.scatter_svg(marks, labels, colour_label, state.selected, state.ticked, (state.log_x, state.log_y), keys, state.brushes)
            what = f"{labels[1]} against {labels[0]} · drag a rectangle to filter by both ranges"
        elif kind == "parallel":
            columns = state.varying_columns()[:PARALLEL_AXES]
            colour = state.color_by or next((c.key for c in columns if c.kind == "metric"), "")
            marks = [charts.Mark(r.ref, label(r), tuple(_value(r, c.key) for c in columns), _value(r, colour)) for r in rows]
            keys = [c.key for c in columns]
            self.chart.value = charts.parallel_svg(
                marks, [_label(state, c.key) for c in columns], _label(state, colour), state.selected, state.ticked,
                keys, [state.axis_is_log(key) for key in keys], state.brushes,
            )
            what = "the columns that vary among them · drag along an axis to filter by a range · click log/linear under an axis to switch it"
        else:
            self.refresh_options()
            metric = state.chosen_curve_metric()
            self.chart.value = curves.curves_svg(state.curves(), metric, state.selected, state.log_y)
            what = f"{metric or 'a metric'} per logged step of the selected and the ticked variants"
        count = f"{len(rows)} variant{'s' if len(rows) != 1 else ''}" + (f" (the most recent; {left_out} older left out)" if left_out else "")
        self.note.value = f'<span class="wfnb-muted">{count} passing the filter · {escape(what)} · click a point or line to select its variant</span>'
        self.clear.layout.display = None if state.brushes else "none"
        self.importance.value = _importance_html(state)
        dag = state.dag()
        self.dag.value = graph.dag_svg(dag) if dag is not None else ""


def _importance_html(state: BrowserState) -> str:
    """The parameters ranked for the chosen metric, with a bar each and the method named."""
    ranked = state.importance()
    metric = _label(state, state.chosen_importance_metric())
    if not ranked:
        return f'<div class="wfnb-muted wfnb-importance-note">No parameter varies among the plotted variants with a value of {escape(metric or "a metric")}: nothing to rank.</div>'
    rows = "".join(
        f'<tr><th>{escape(r.name)}</th><td class="wfnb-num">{r.method} = {r.score:+.2f}</td>'
        f'<td><span class="wfnb-bar{" wfnb-bar-negative" if r.score < 0 else ""}" style="width: {max(2, round(r.strength * 160))}px"></span></td>'
        f'<td class="wfnb-muted">{r.count} variants</td></tr>'
        for r in ranked
    )
    return (
        f'<table class="wfnb-importance"><caption class="wfnb-muted" style="text-align: left">parameters ranked for {escape(metric)}, '
        f"strongest first</caption>{rows}</table><div class=\"wfnb-muted wfnb-importance-note\">{escape(importance.METHOD)}</div>"
    )


class ActionsPanel(_Panel):
    """Replay and sweep (in the background, cancellable), restore, export, tag: each with its result under it."""

    def __init__(self, state: BrowserState) -> None:
        super().__init__(state)
        self.form = w.VBox()
        self.replay = w.Button(description="Replay", icon="play", button_style="primary", tooltip="run this variant again with the values above")
        self.sweep = w.Button(description="Sweep", icon="th", tooltip="one variant per combination of the values above (3, 5, 7)")
        self.check = w.Button(description="Check", icon="check-double", tooltip="run each step again without the cache: do its outputs come out the same?")
        self.cancel = w.Button(description="Cancel", icon="stop", button_style="warning", layout=w.Layout(display="none"))
        self.points = w.HTML()
        self.progress = w.VBox()
        self.restore = w.Button(description="Restore into notebook", icon="undo", layout=w.Layout(width="200px"), tooltip="%wfnb checkout: its values into the namespace")
        self.write_cells = w.Button(description="Write its cells", icon="file-code-o", layout=w.Layout(width="160px"),
                                    tooltip="a new notebook with this variant's %%params and %%step cells, beside this one")
        self.export_format = w.ToggleButtons(options=list(EXPORT_FORMATS), style={"button_width": "64px"})
        self.export_path = w.Text(description="path", layout=w.Layout(width="380px"), style={"description_width": "initial"})
        self.overwrite = w.Checkbox(description="overwrite", indent=False, layout=w.Layout(width="100px"))
        self.export = w.Button(description="Export", icon="download", layout=w.Layout(width="100px"))
        self.tag_name = w.Text(placeholder="name, e.g. baseline", layout=w.Layout(width="200px"))
        self.tag_note = w.Text(placeholder="note (optional)", layout=w.Layout(width="300px"))
        self.tag_button = w.Button(description="Tag", icon="tag", layout=w.Layout(width="80px"))
        self.pin_button = w.Button(description="Pin", icon="thumb-tack", layout=w.Layout(width="90px"),
                                   tooltip="wfnb gc (--keep-last, --max-size) keeps everything a pinned variant needs")
        self.notices = {action: w.HTML() for action in ("run", "restore", "export", "tag")}
        for notice in self.notices.values():
            notice.add_class("wfnb-notice")
        run_buttons = w.HBox([self.replay, self.sweep, self.check, self.cancel, self.points], layout=w.Layout(align_items="center"))
        self.widget = w.VBox([
            _section("Replay, sweep or check in a worker process (the notebook stays free)", self.form, run_buttons, self.progress, self.notices["run"]),
            _section("Restore into the notebook", w.HBox([self.restore, self.write_cells]), self.notices["restore"]),
            _section("Export", w.HBox([self.export_format, self.export_path, self.overwrite, self.export], layout=w.Layout(align_items="center", flex_flow="row wrap")), self.notices["export"]),
            _section("Tag or pin", w.HBox([self.tag_name, self.tag_note, self.tag_button, self.pin_button], layout=w.Layout(flex_flow="row wrap")), self.notices["tag"]),
        ])
        if state.read_only:  # wfnb ui: a page others may open runs nothing and writes nothing
            self.widget = w.VBox([w.HTML(READ_ONLY_NOTE)])
        self.replay.on_click(lambda _: state.replay_form(self.texts()))
        self.sweep.on_click(lambda _: state.sweep_form(self.texts()))
        self.check.on_click(lambda _: state.check())
        self.cancel.on_click(lambda _: state.cancel())
        self.restore.on_click(lambda _: state.checkout())
        self.write_cells.on_click(lambda _: state.write_cells())
        self.export.on_click(lambda _: state.export(self.export_path.value, overwrite=self.overwrite.value))
        self.tag_button.on_click(lambda _: self._tag())
        self.pin_button.on_click(lambda _: self._pin())
        self.export_format.observe(self._format_changed, "value")
        self.selection_changed()
        self.draw_progress()
        self.set_busy(state.busy)

    def texts(self) -> dict[str, str]:
        return {field.description: field.value for field in self.form.children if isinstance(field, w.Text)}

    def selection_changed(self) -> None:
        fields = [w.Text(value=text, description=name, layout=w.Layout(width="360px"), style={"description_width": "120px"}) for name, text in self.state.form().items()]
        for field in fields:
            field.observe(lambda _: self._count_points(), "value")
        hint = (
            "Parameters as JSON values (plain text for a string). Replay runs one variant; for a sweep, give some "
            "parameters several values, e.g. 3, 5, 7 or [3, 5, 7]."
            if fields else "This variant has no parameters."
        )
        self.form.children = [w.HTML(f'<span class="wfnb-muted">{hint}</span>'), *fields]
        self.export_path.value = self.state.default_export_path(self.export_format.value)
        self._count_points()
        self._draw_pin()

    def _count_points(self) -> None:
        try:
            grid = self.state.grid_from_form(self.texts()) if self.state.variant() is not None else {}
        except WfnbError:
            grid = {}
        count = 1
        for values in grid.values():
            count *= len(values)
        self.points.value = f'<span class="wfnb-muted">&nbsp;a sweep would run {" × ".join(str(len(v)) for v in grid.values())} = {count} points</span>' if grid else ""
        self.sweep.disabled = not grid or self.state.busy

    def draw_progress(self) -> None:
        rows = []
        for entry in self.state.progress:
            style, value = _STEP_STYLE.get(entry["state"], ("", 0.0))
            value = entry.get("fraction", value)
            bar = w.FloatProgress(value=value, min=0.0, max=1.0, bar_style=style, layout=w.Layout(width="200px"))
            label = w.HTML(f'<code>{escape(entry["step"])}</code>', layout=w.Layout(width="140px"))
            detail = w.HTML(f'<span class="wfnb-muted">{escape(entry["detail"] or entry["state"])}</span>')
            rows.append(w.HBox([label, bar, detail], layout=w.Layout(align_items="center")))
        self.progress.children = rows

    def draw_notices(self) -> None:
        for action, widget in self.notices.items():
            widget.value = render.notice_html(action, self.state.notice(action))

    def set_busy(self, busy: bool | None = None) -> None:
        busy = self.state.busy if busy is None else busy
        self.replay.disabled = self.check.disabled = busy
        self.cancel.layout.display = None if busy else "none"
        self._count_points()

    def _format_changed(self, change: dict[str, Any]) -> None:
        current = self.export_path.value.strip()
        self.export_path.value = str(Path(current).with_suffix(change["new"])) if current else self.state.default_export_path(change["new"])

    def _pin(self) -> None:
        variant = self.state.variant()
        if variant is not None:
            self.state.pin(not variant.pinned)
        self._draw_pin()

    def _draw_pin(self) -> None:
        variant = self.state.variant()
        self.pin_button.description = "Unpin" if variant is not None and variant.pinned else "Pin"
        self.pin_button.disabled = variant is None

    def _tag(self) -> None:
        if self.state.tag(self.tag_name.value, self.tag_note.value) is not None:
            self.tag_name.value = self.tag_note.value = ""


READ_ONLY_NOTE = (
    "<p class='wfnb-read-only'>This browser only looks at the store: replay, sweep, check, restore, export, tag "
    "and pin are off here. To allow them, start it with <code>wfnb ui --allow-runs</code>; to run a variant "
    "yourself, <code>wfnb replay WORKFLOW/vN</code> in a terminal.</p>"
)


def _section(title: str, *rows: w.Widget) -> w.VBox:
    head = w.HTML(title)
    head.add_class("wfnb-section-title")
    box = w.VBox([head, *rows])
    box.add_class("wfnb-box")
    return box


def _value(row: table.Row, key: str) -> Any:
    return row.number if key == ORDER_AXIS else table.cell_value(row, key) if key else None


def _label(state: BrowserState, key: str) -> str:
    if not key:
        return ""
    if key == ORDER_AXIS:
        return "variant (order made)"
    return next((c.name for c in state.columns() if c.key == key), key)


def link_choice(owner: Any, dropdown: w.Dropdown, trait: str, options: Callable[[], list[tuple[str, str]]]) -> Callable[[], None]:
    """Keep ``dropdown`` and ``owner.state.<trait>`` equal; returns the function that redraws its options."""
    state = owner.state

    def to_state(change: dict[str, Any]) -> None:
        if not owner._syncing and change["new"] is not None and change["new"] != getattr(state, trait):
            setattr(state, trait, change["new"])

    def to_widget(_: Any = None) -> None:
        owner._syncing = True
        try:
            choices = options()
            value = getattr(state, trait)
            if value not in [v for _, v in choices]:
                choices = choices + [(value or "—", value)]
            if list(dropdown.options) != choices:
                dropdown.options = choices
            dropdown.value = value
        finally:
            owner._syncing = False

    dropdown.observe(to_state, "value")
    state.observe(to_widget, trait)
    to_widget()
    return to_widget
