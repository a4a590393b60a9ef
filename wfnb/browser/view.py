"""The browser's widgets: they draw a ``BrowserState`` and hand every click to it.

Nothing here reads the store or decides anything: widgets are built once,
linked to the state's traits, and redrawn from the state's plain data through
``render`` and ``plots``. The table is a grid of pooled cells (one page of
rows), so paging and sorting thousands of variants only changes cell values.
Tabs other than the one shown are drawn when they are opened.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any, Callable

import ipywidgets as w

from wfnb.browser import plots, render, table, theme
from wfnb.browser.state import EXPORT_FORMATS, BrowserState

TABS = ("Detail", "Compare", "Plots", "Actions")
_STEP_STYLE = {"ran": ("success", 1.0), "cached": ("info", 1.0), "failed": ("danger", 1.0), "running": ("warning", 0.35), "pending": ("", 0.0)}


class BrowserView(w.VBox):
    """The variant browser; ``wfnb.browse()`` returns one. Its text form is the table."""

    def __init__(self, state: BrowserState) -> None:
        super().__init__(layout=w.Layout(width="100%"))
        self.state = state
        self.add_class("wfnb-browser")
        self._syncing = False
        self._dirty = set(TABS)
        self._keys: list[str] = []
        self._refs: list[str] = []
        self._cells: list[list[w.DOMWidget]] = []
        self._header: list[w.Button] = []
        self._refreshers: list[Callable[[], None]] = []  # redraw a dropdown's options from the state

        self.heading = w.HTML(layout=w.Layout(margin="0 12px 0 2px"))
        self.heading.add_class("wfnb-heading")
        self.workflow = w.Dropdown(layout=w.Layout(width="170px"), tooltip="workflow")
        self.search = w.Text(placeholder="filter: v3, a tag, a step, window=5 …", layout=w.Layout(flex="1 1 auto", width="auto"))
        self.tag = w.Dropdown(layout=w.Layout(width="130px"), tooltip="tag")
        self.live = w.Checkbox(description="Live", indent=False, layout=w.Layout(width="64px"), tooltip="refresh when a step runs in the notebook")
        self.refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="96px"))
        toolbar = w.HBox([self.heading, self.workflow, self.search, self.tag, self.live, self.refresh], layout=w.Layout(align_items="center"))

        self.grid = w.GridBox(layout=w.Layout(grid_gap="0", width="auto", overflow="auto"))
        self.grid.add_class("wfnb-grid")
        self.previous = w.Button(description="◀ newer", layout=w.Layout(width="90px"))
        self.next = w.Button(description="older ▶", layout=w.Layout(width="90px"))
        self.page = w.HTML()
        pager = w.HBox([self.previous, self.page, self.next], layout=w.Layout(align_items="center", justify_content="flex-start"))

        self.detail = w.HTML()
        self.compare_to = w.Dropdown(description="compare with", layout=w.Layout(width="280px"), style={"description_width": "initial"})
        self.comparison = w.HTML()
        self.metric = w.Dropdown(description="metric", layout=w.Layout(width="260px"), style={"description_width": "initial"})
        self.plot = w.Image(format="png", layout=w.Layout(max_width="760px"))
        self.plot.add_class("wfnb-plot")
        self.point = w.SelectionSlider(options=[("—", "")], description="variant", continuous_update=False, layout=w.Layout(width="760px"))
        self.plot_note = w.HTML()
        self.dag = w.HTML(layout=w.Layout(overflow="auto"))

        self.form = w.VBox()
        self.replay = w.Button(description="Replay", icon="play", button_style="primary", tooltip="run this variant again with the parameters above")
        self.progress = w.VBox()
        self.restore = w.Button(description="Restore into notebook", icon="undo", layout=w.Layout(width="200px"), tooltip="%wfnb checkout: its values into the namespace")
        self.export_format = w.ToggleButtons(options=list(EXPORT_FORMATS), style={"button_width": "64px"})
        self.export_path = w.Text(description="path", layout=w.Layout(width="380px"), style={"description_width": "initial"})
        self.overwrite = w.Checkbox(description="overwrite", indent=False, layout=w.Layout(width="100px"))
        self.export = w.Button(description="Export", icon="download", layout=w.Layout(width="100px"))
        self.tag_name = w.Text(placeholder="name, e.g. baseline", layout=w.Layout(width="200px"))
        self.tag_note = w.Text(placeholder="note (optional)", layout=w.Layout(width="300px"))
        self.tag_button = w.Button(description="Tag", icon="tag", layout=w.Layout(width="80px"))
        self.message = w.HTML()

        self.tabs = w.Tab(children=[
            self.detail,
            w.VBox([self.compare_to, self.comparison]),
            w.VBox([w.HBox([self.metric, self.plot_note], layout=w.Layout(align_items="center")), self.plot, self.point, self.dag]),
            self._actions_box(),
        ])
        self.tabs.titles = TABS
        style = w.HTML(theme.style_html(), layout=w.Layout(display="none"))
        self.children = [style, toolbar, self.grid, pager, self.message, self.tabs]
        self._link()
        self._draw_all()

    def _actions_box(self) -> w.VBox:
        def section(title: str, *rows: w.Widget) -> w.VBox:
            head = w.HTML(title)
            head.add_class("wfnb-section-title")
            box = w.VBox([head, *rows])
            box.add_class("wfnb-box")
            return box

        return w.VBox([
            section("Replay in a fresh namespace (the notebook is not touched)", self.form, self.replay, self.progress),
            section("Restore into the notebook", self.restore),
            section("Export", w.HBox([self.export_format, self.export_path, self.overwrite, self.export], layout=w.Layout(align_items="center"))),
            section("Tag", w.HBox([self.tag_name, self.tag_note, self.tag_button])),
        ])

    # -- wiring ----------------------------------------------------------------

    def _link(self) -> None:
        state = self.state
        w.link((state, "query"), (self.search, "value"))
        w.link((state, "live"), (self.live, "value"))
        self._choice(self.workflow, "workflow", lambda: [("all workflows", "")] + [(n, n) for n in state.workflows])
        self._choice(self.tag, "tag_filter", state.tag_options)
        self._choice(self.metric, "metric", lambda: [(m, m) for m in state.metric_names()] or [("no metric", "")])
        self._choice(self.compare_to, "baseline", lambda: [("—", "")] + state.compare_options())
        self.refresh.on_click(lambda _: state.refresh())
        self.previous.on_click(lambda _: setattr(state, "page", state.page - 1))
        self.next.on_click(lambda _: setattr(state, "page", state.page + 1))
        self.replay.on_click(lambda _: state.replay_form({field.description: field.value for field in self.form.children if isinstance(field, w.Text)}))
        self.restore.on_click(lambda _: state.checkout())
        self.export.on_click(lambda _: state.export(self.export_path.value, overwrite=self.overwrite.value))
        self.tag_button.on_click(lambda _: self._tag())
        self.export_format.observe(self._format_changed, "value")
        self.point.observe(self._point_picked, "value")
        self.tabs.observe(lambda _: self._draw_tab(), "selected_index")
        state.observe(lambda _: self._rows_changed(), "revision")
        state.observe(lambda _: self._selection_changed(), "selected")
        state.observe(lambda _: self._mark(("Compare",)), "baseline")
        state.observe(lambda _: self._mark(("Plots",)), "metric")
        state.observe(lambda _: self._draw_message(), ["message", "message_kind", "message_detail"])
        state.observe(lambda _: self._draw_progress(), "progress")
        state.observe(lambda change: self._set_busy(change["new"]), "busy")

    def _choice(self, dropdown: w.Dropdown, trait: str, options: Callable[[], list[tuple[str, str]]]) -> None:
        """Keep a dropdown and a state trait equal, its options drawn from the state each time."""

        def to_state(change: dict[str, Any]) -> None:
            if not self._syncing and change["new"] is not None and change["new"] != getattr(self.state, trait):
                setattr(self.state, trait, change["new"])

        def to_widget(_: Any = None) -> None:
            self._syncing = True
            try:
                choices = options()
                value = getattr(self.state, trait)
                if value not in [v for _, v in choices]:
                    choices = choices + [(value or "—", value)]
                if list(dropdown.options) != choices:
                    dropdown.options = choices
                dropdown.value = value
            finally:
                self._syncing = False

        dropdown.observe(to_state, "value")
        self.state.observe(to_widget, trait)
        self._refreshers.append(to_widget)
        to_widget()

    # -- drawing ---------------------------------------------------------------

    def _draw_all(self) -> None:
        self._draw_table()
        self._draw_form()
        self.export_path.value = self.state.default_export_path(self.export_format.value)
        self._draw_message()
        self._draw_progress()
        self._draw_tab()

    def _rows_changed(self) -> None:
        for refresh in self._refreshers:
            refresh()
        self._draw_table()
        self._mark(TABS[:3])  # a status, a tag or the plotted variants may have changed

    def _selection_changed(self) -> None:
        self._paint_selection()
        self._draw_form()
        self.export_path.value = self.state.default_export_path(self.export_format.value)
        for refresh in self._refreshers:
            refresh()
        self._mark(TABS)

    def _mark(self, tabs: tuple[str, ...]) -> None:
        """Redraw these tabs now if shown, else when they are opened."""
        self._dirty.update(tabs)
        self._draw_tab()

    def _draw_tab(self) -> None:
        shown = TABS[self.tabs.selected_index or 0]
        if shown not in self._dirty:
            return
        self._dirty.discard(shown)
        now = table.now_utc()
        if shown == "Detail":
            self.detail.value = render.detail_html(self.state.detail(), now)
        elif shown == "Compare":
            self.comparison.value = render.comparison_html(self.state.comparison())
        elif shown == "Plots":
            self._draw_plots()

    def _draw_table(self) -> None:
        state = self.state
        columns = state.columns()
        keys = [column.key for column in columns]
        if keys != self._keys or len(self._cells) != state.page_size:
            self._build_grid(columns)
        rows = state.page_rows()
        now = table.now_utc()
        self._refs = [row.ref for row in rows]
        for r, cells in enumerate(self._cells):
            row = rows[r] if r < len(rows) else None
            for cell, column in zip(cells, columns):
                if row is None:
                    cell.add_class("wfnb-hidden")
                    continue
                cell.remove_class("wfnb-hidden")
                if isinstance(cell, w.Button):
                    cell.description = row.name
                    cell.tooltip = f"select {row.ref}"
                else:
                    cell.value = render.cell_html(row, column, now)
        for button, column in zip(self._header, columns):
            arrow = (" ▼" if state.descending else " ▲") if column.key == state.sort_by else ""
            button.description = column.label + arrow
        shown, total = len(state.visible_rows()), state.total
        where = state.workflow or "all workflows"
        self.heading.value = f"{where} · {total} variant{'s' if total != 1 else ''}"
        filtered = f" ({shown} match the filter)" if shown != total else ""
        self.page.value = f'<span class="wfnb-muted">&nbsp;page {state.page + 1} of {state.page_count()}{filtered}&nbsp;</span>'
        self.previous.disabled = state.page == 0
        self.next.disabled = state.page >= state.page_count() - 1
        self._paint_selection()

    def _build_grid(self, columns: list[table.Column]) -> None:
        """(Re)build the header and one page of pooled cells for these columns."""
        self._keys = [column.key for column in columns]
        self._header = []
        for column in columns:
            kind = {"param": "parameter ", "metric": "metric "}.get(column.kind, "")
            button = w.Button(description=column.label, tooltip=f"sort by {kind}{column.label}", layout=w.Layout(width="auto"))
            button.add_class("wfnb-link")
            button.on_click(lambda _, key=column.key: self.state.sort(key))
            self._header.append(button)
        cells: list[list[w.DOMWidget]] = []
        for r in range(self.state.page_size):
            pick = w.Button(layout=w.Layout(width="auto"))
            pick.add_class("wfnb-link")
            pick.on_click(lambda _, r=r: self._pick(r))
            cells.append([pick] + [w.HTML() for _ in columns[1:]])
        for cell in [*self._header, *(c for row in cells for c in row)]:
            cell.add_class("wfnb-cell")
        for box in self._header:
            box.add_class("wfnb-head")
        for index, column in enumerate(columns):  # a rule before the parameters and before the metrics
            if column.kind != "base" and columns[index - 1].kind != column.kind:
                for row in [self._header, *cells]:
                    row[index].add_class("wfnb-group")
        self._cells = cells
        self.grid.layout.grid_template_columns = " ".join(["auto"] * len(columns))
        self.grid.children = [*self._header, *(c for row in cells for c in row)]

    def _pick(self, r: int) -> None:
        if r < len(self._refs):
            self.state.selected = self._refs[r]

    def _paint_selection(self) -> None:
        for r, cells in enumerate(self._cells):
            chosen = r < len(self._refs) and self._refs[r] == self.state.selected
            for cell in cells:
                (cell.add_class if chosen else cell.remove_class)("wfnb-selected")

    def _draw_plots(self) -> None:
        state = self.state
        points, omitted = state.metric_points()
        if points:
            self.plot.value = plots.metric_png(points, state.selected, state.metric)
            self.plot.layout.display = None
            self._syncing = True
            try:
                self.point.options = [(label, ref) for ref, label, _ in points]
                self.point.value = state.selected if state.selected in [ref for ref, _, _ in points] else points[-1][0]
            finally:
                self._syncing = False
            self.point.layout.display = None
        else:
            self.plot.layout.display = self.point.layout.display = "none"
        note = f"the {len(points)} most recent of {len(points) + omitted}" if omitted else f"{len(points)} variant{'s' if len(points) != 1 else ''}"
        self.plot_note.value = f'<span class="wfnb-muted">&nbsp;{note} with a numeric {state.metric or "metric"}; drag the slider to select one</span>' if points else '<span class="wfnb-muted">&nbsp;no numeric metric to plot: log one in a step with wfnb.log(name=value)</span>'
        dag = state.dag()
        self.dag.value = plots.dag_svg(dag) if dag is not None else ""

    def _point_picked(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"]:
            self.state.selected = change["new"]

    def _draw_form(self) -> None:
        fields = [w.Text(value=text, description=name, layout=w.Layout(width="360px"), style={"description_width": "120px"}) for name, text in self.state.form().items()]
        hint = w.HTML('<span class="wfnb-muted">Parameters (JSON values; plain text for a string). Edit any, then Replay.</span>' if fields else '<span class="wfnb-muted">This variant has no parameters.</span>')
        self.form.children = [hint, *fields]

    def _draw_progress(self) -> None:
        rows = []
        for entry in self.state.progress:
            style, value = _STEP_STYLE.get(entry["state"], ("", 0.0))
            bar = w.FloatProgress(value=value, min=0.0, max=1.0, bar_style=style, layout=w.Layout(width="200px"))
            label = w.HTML(f'<code>{escape(entry["step"])}</code>', layout=w.Layout(width="140px"))
            detail = w.HTML(f'<span class="wfnb-muted">{escape(entry["detail"] or entry["state"])}</span>')
            rows.append(w.HBox([label, bar, detail], layout=w.Layout(align_items="center")))
        self.progress.children = rows

    def _draw_message(self) -> None:
        state = self.state
        self.message.value = render.message_html(state.message_kind, state.message, state.message_detail)

    def _set_busy(self, busy: bool) -> None:
        for button in (self.replay, self.restore, self.export, self.tag_button, self.refresh):
            button.disabled = busy

    def _format_changed(self, change: dict[str, Any]) -> None:
        current = self.export_path.value.strip()
        self.export_path.value = str(Path(current).with_suffix(change["new"])) if current else self.state.default_export_path(change["new"])

    def _tag(self) -> None:
        if self.state.tag(self.tag_name.value, self.tag_note.value) is not None:
            self.tag_name.value = self.tag_note.value = ""

    # -- outside a widget front end ---------------------------------------------

    def close(self) -> None:
        """Stop following the notebook, then close the widgets."""
        self.state.detach()
        super().close()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.state.describe())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.state.describe()  # what a terminal, a text export or a widget-less viewer shows
        return bundle
