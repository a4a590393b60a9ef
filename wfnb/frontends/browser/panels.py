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
from wfnb.frontends.browser import charts, graph, render, render_compare, table
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
        self.code.value = render_compare.comparison_html(state.comparison())


class PlotsPanel(_Panel):
    """A scatter of any two columns coloured by a third, or parallel coordinates; then the step graph."""

    def __init__(self, state: BrowserState) -> None:
        super().__init__(state)
        self.kind = w.ToggleButtons(options=[("scatter", "scatter"), ("parallel coordinates", "parallel")], style={"button_width": "150px"})
        w.link((state, "plot_kind"), (self.kind, "value"))
        axis = {"layout": w.Layout(width="240px"), "style": {"description_width": "initial"}}
        self.x_axis = w.Dropdown(description="x", **axis)
        self.y_axis = w.Dropdown(description="y", **axis)
        self.color_by = w.Dropdown(description="colour", **axis)
        self.log_x = w.Checkbox(description="log x", indent=False, layout=w.Layout(width="70px"))
        self.log_y = w.Checkbox(description="log y", indent=False, layout=w.Layout(width="70px"))
        w.link((state, "log_x"), (self.log_x, "value"))
        w.link((state, "log_y"), (self.log_y, "value"))
        self.axes = w.HBox([self.x_axis, self.y_axis, self.log_x, self.log_y], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.chart = w.HTML(layout=w.Layout(width="100%"))
        self.note = w.HTML()
        self.dag = w.HTML(layout=w.Layout(overflow="auto"))
        controls = w.HBox([self.kind, self.axes, self.color_by], layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = w.VBox([controls, self.note, self.chart, self.dag])
        refreshers = [
            self._choice(self.x_axis, "x_axis", state.axis_options),
            self._choice(self.y_axis, "y_axis", state.axis_options),
            self._choice(self.color_by, "color_by", lambda: [("none", "")] + state.axis_options()),
        ]
        self.refresh_options = lambda: [refresh() for refresh in refreshers]

    def draw(self) -> None:
        state = self.state
        rows, left_out = state.plot_rows()
        colour_label = _label(state, state.color_by)
        label = (lambda row: row.name) if state.workflow else (lambda row: row.ref)
        self.axes.layout.display = "none" if state.plot_kind == "parallel" else None
        if state.plot_kind == "scatter":
            keys = (state.x_axis or ORDER_AXIS, state.y_axis or ORDER_AXIS)
            marks = [charts.Mark(r.ref, label(r), (_value(r, keys[0]), _value(r, keys[1])), _value(r, state.color_by)) for r in rows]
            labels = (_label(state, keys[0]), _label(state, keys[1]))
            self.chart.value = charts.scatter_svg(marks, labels, colour_label, state.selected, state.ticked, (state.log_x, state.log_y))
            what = f"{labels[1]} against {labels[0]}"
        else:
            columns = state.varying_columns()[:PARALLEL_AXES]
            colour = state.color_by or next((c.key for c in columns if c.kind == "metric"), "")
            marks = [charts.Mark(r.ref, label(r), tuple(_value(r, c.key) for c in columns), _value(r, colour)) for r in rows]
            self.chart.value = charts.parallel_svg(marks, [_label(state, c.key) for c in columns], _label(state, colour), state.selected, state.ticked)
            what = "the columns that vary among them"
        count = f"{len(rows)} variant{'s' if len(rows) != 1 else ''}" + (f" (the most recent; {left_out} older left out)" if left_out else "")
        self.note.value = f'<span class="wfnb-muted">{count} passing the filter · {escape(what)} · click a point or line to select its variant</span>'
        dag = state.dag()
        self.dag.value = graph.dag_svg(dag) if dag is not None else ""


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
            _section("Restore into the notebook", self.restore, self.notices["restore"]),
            _section("Export", w.HBox([self.export_format, self.export_path, self.overwrite, self.export], layout=w.Layout(align_items="center", flex_flow="row wrap")), self.notices["export"]),
            _section("Tag or pin", w.HBox([self.tag_name, self.tag_note, self.tag_button, self.pin_button], layout=w.Layout(flex_flow="row wrap")), self.notices["tag"]),
        ])
        self.replay.on_click(lambda _: state.replay_form(self.texts()))
        self.sweep.on_click(lambda _: state.sweep_form(self.texts()))
        self.check.on_click(lambda _: state.check())
        self.cancel.on_click(lambda _: state.cancel())
        self.restore.on_click(lambda _: state.checkout())
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
