"""The browser's widgets: they draw a ``BrowserState`` and hand every click to it.

Nothing here reads the store or decides anything: widgets are built once,
linked to the state's traits, and redrawn from the state's plain data through
the ``render*``, ``charts`` and ``graph`` modules. The table and the plots are
single HTML widgets (one page of rows, one SVG), whose clicks come back
through ``bridge``; the tabs other than the one shown are drawn when opened.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as w
from traitlets import TraitError

from wfnb.errors import WfnbError
from wfnb.frontends.browser import bridge, render, render_table, table, table_style, theme
from wfnb.frontends.browser.panels import (
    ActionsPanel,
    ComparePanel,
    PlotsPanel,
    link_choice,
)
from wfnb.frontends.browser.state import BrowserState

TABS = ("Detail", "Compare", "Plots", "Actions")
DETAIL_EAGER_BYTES = 2_000_000  # outputs sent with a variant's detail, so that its steps unfold in the page at once
FILTER_HINT = "filter: accuracy > 0.99 and C == 10, tag:baseline, a step or note …"


class BrowserView(w.VBox):
    """The variant browser; ``wfnb.browse()`` returns one. Its text form is the table."""

    def __init__(self, state: BrowserState) -> None:
        super().__init__(layout=w.Layout(width="100%"))
        self.state = state
        self.add_class("wfnb-browser")
        self._syncing = False
        self._dirty = set(TABS)
        self._opened: set[str] = set()  # the detail's open steps
        self._in_page: set[str] = set()  # the steps whose code and outputs the drawn detail carries
        self._refreshers: list[Callable[[], None]] = []  # redraw a dropdown's options from the state

        self.events = w.Text(layout=w.Layout(display="none"))  # the bridge's field: clicks in the HTML land here
        self.events.add_class(bridge.FIELD_CLASS)
        self.bridge = bridge.Bridge()

        self.heading = w.HTML(layout=w.Layout(margin="0 12px 0 2px"))
        self.heading.add_class("wfnb-heading")
        self.workflow = w.Dropdown(layout=w.Layout(width="160px"), tooltip="workflow")
        self.search = w.Text(placeholder=FILTER_HINT, layout=w.Layout(flex="1 1 260px", width="auto", min_width="200px"))
        self.search.add_class("wfnb-search")
        self.tag = w.Dropdown(layout=w.Layout(width="120px"), tooltip="tag")
        self.group_button = w.ToggleButton(description="Group", icon="object-group", layout=w.Layout(width="90px"),
                                           tooltip="one row per setting: the variants with equal parameters (seeds left out), each metric's mean ± std")
        self.columns_button = w.ToggleButton(description="Columns", icon="columns", layout=w.Layout(width="104px"), tooltip="choose the columns shown")
        self.live = w.Checkbox(description="Live", indent=False, layout=w.Layout(width="60px"), tooltip="follow the notebook and the store as they change")
        self.refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="96px"), tooltip="read every variant again")
        toolbar = w.HBox(
            [self.heading, self.workflow, self.search, self.tag, self.group_button, self.columns_button, self.live, self.refresh],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )
        self.filter_note = w.HTML()
        self.group_note = w.HTML()
        self.group_by = w.HBox(layout=w.Layout(flex_flow="row wrap", align_items="center", display="none"))
        self._group_choice: tuple[Any, ...] = ()
        self.columns_panel = w.VBox(layout=w.Layout(display="none"))
        self.columns_panel.add_class("wfnb-box")

        self.table = w.HTML(layout=w.Layout(width="100%"))
        self.table.add_class("wfnb-table-widget")
        self.previous = w.Button(description="◀ newer", layout=w.Layout(width="90px"))
        self.next = w.Button(description="older ▶", layout=w.Layout(width="90px"))
        self.page = w.HTML()
        self.ticked_note = w.HTML()
        self.compare_ticked = w.Button(description="Compare ticked", icon="columns", layout=w.Layout(width="150px"))
        self.clear_ticks = w.Button(description="Clear ticks", layout=w.Layout(width="100px"))
        pager = w.HBox(
            [self.previous, self.page, self.next, self.ticked_note, self.compare_ticked, self.clear_ticks],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )

        self.detail = w.HTML()
        self._panels: dict[str, Any] = {}  # the other tabs' widgets, built when first opened: a faster first paint
        self.tabs = w.Tab(children=[self.detail, w.VBox(), w.VBox(), w.VBox()])
        self.tabs.titles = TABS
        style = w.HTML(theme.style_html() + table_style.style_html(), layout=w.Layout(display="none"))
        self.children = [style, self.events, toolbar, self.filter_note, self.group_by, self.group_note, self.columns_panel, self.table, pager, self.tabs]
        self._link()
        self._draw_table()
        self._draw_tab()

    # -- wiring ----------------------------------------------------------------

    def _link(self) -> None:
        state = self.state
        w.link((state, "query"), (self.search, "value"))
        w.link((state, "live"), (self.live, "value"))
        w.link((state, "grouped"), (self.group_button, "value"))
        self._choice(self.workflow, "workflow", lambda: [("all workflows", "")] + [(n, n) for n in state.workflows])
        self._choice(self.tag, "tag_filter", state.tag_options)
        self._refreshers.append(self._refresh_panels)
        self.events.observe(lambda change: self._clicked(change["new"]), "value")
        self.bridge.on("select", lambda ref: self._quietly(lambda: setattr(state, "selected", ref)))
        self.bridge.on("tick", lambda ref: self._quietly(lambda: state.tick(ref)))
        self.bridge.on("sort", lambda key: self._quietly(lambda: state.sort(key)))
        self.bridge.on("expand", lambda key: self._quietly(lambda: state.expand(key)))
        self.bridge.on("dismiss", state.dismiss)
        self.bridge.on("step", self.toggle_step)
        self.bridge.on("brush", lambda ranges: self._quietly(lambda: state.brush_from_page(ranges)))
        self.bridge.on("axis-log", lambda key: self._quietly(lambda: state.toggle_axis_log(key)))
        self.refresh.on_click(lambda _: state.refresh())
        self.previous.on_click(lambda _: setattr(state, "page", state.page - 1))
        self.next.on_click(lambda _: setattr(state, "page", state.page + 1))
        self.compare_ticked.on_click(lambda _: self.show_tab("Compare"))
        self.clear_ticks.on_click(lambda _: setattr(state, "ticked", []))
        self.columns_button.observe(lambda change: self._toggle_columns(change["new"]), "value")
        self.tabs.observe(lambda _: self._draw_tab(), "selected_index")
        state.observe(lambda _: self._rows_changed(), "revision")
        state.observe(lambda _: self._selection_changed(), "selected")
        state.observe(lambda _: self._ticks_changed(), "ticked")
        state.observe(lambda _: self._mark(("Compare",)), "baseline")
        state.observe(lambda _: self._draw_filter_note(), "query_error")
        state.observe(lambda _: self._mark(("Plots",)), ["plot_kind", "x_axis", "y_axis", "color_by", "log_x", "log_y", *PlotsPanel.TRAITS])
        state.observe(lambda _: self._if_built("Actions", ActionsPanel.draw_notices), "notices")
        state.observe(lambda _: self._if_built("Actions", ActionsPanel.draw_progress), "progress")
        state.observe(lambda _: self._if_built("Actions", ActionsPanel.set_busy), "busy")

    def _choice(self, dropdown: w.Dropdown, trait: str, options: Callable[[], list[tuple[str, str]]]) -> None:
        """Keep a dropdown and a state trait equal, its options drawn from the state each time."""
        self._refreshers.append(link_choice(self, dropdown, trait, options))

    def _clicked(self, value: str) -> None:
        self.bridge.receive(value)

    def _quietly(self, act: Callable[[], None]) -> None:
        """A click on something that has just gone (a row of a page redrawn meanwhile) does nothing."""
        try:
            act()
        except (WfnbError, TraitError):
            pass

    def show_tab(self, name: str) -> None:
        self.tabs.selected_index = TABS.index(name)

    @property
    def compare(self) -> ComparePanel:
        return self._panel("Compare", ComparePanel)

    @property
    def plots(self) -> PlotsPanel:
        return self._panel("Plots", PlotsPanel)

    @property
    def actions(self) -> ActionsPanel:
        return self._panel("Actions", ActionsPanel)

    def _panel(self, name: str, kind: type) -> Any:
        """A tab's panel, built (and put in its tab) the first time it is needed."""
        panel = self._panels.get(name)
        if panel is None:
            panel = self._panels[name] = kind(self.state)
            children = list(self.tabs.children)
            children[TABS.index(name)] = panel.widget
            self.tabs.children = children
        return panel

    def _if_built(self, name: str, draw: Callable[[Any], None]) -> None:
        panel = self._panels.get(name)
        if panel is not None:
            draw(panel)

    def _refresh_panels(self) -> None:
        for panel in self._panels.values():
            refresh = getattr(panel, "refresh_options", None)
            if refresh is not None:
                refresh()

    # -- drawing ---------------------------------------------------------------

    def _rows_changed(self) -> None:
        for refresh in self._refreshers:
            refresh()
        self._draw_table()
        self._mark(TABS[:3])  # a status, a tag or the plotted variants may have changed
        if self.columns_button.value:
            self._draw_columns_panel()

    def toggle_step(self, step: str) -> None:
        """A step of the detail opened or folded: the page has done it when the step's outputs were in it
        (remembered, for the next redraw), else they are read and drawn now."""
        self._opened ^= {step}
        if step not in self._in_page:
            self._mark(("Detail",))

    def _selection_changed(self) -> None:
        self._opened = set()
        self._draw_table()
        self._if_built("Actions", ActionsPanel.selection_changed)
        for refresh in self._refreshers:
            refresh()
        self._mark(TABS)

    def _ticks_changed(self) -> None:
        self._draw_table()
        self._mark(("Compare", "Plots"))

    def _mark(self, tabs: tuple[str, ...]) -> None:
        """Redraw these tabs now if shown, else when they are opened."""
        self._dirty.update(tabs)
        self._draw_tab()

    def _draw_tab(self) -> None:
        shown = TABS[self.tabs.selected_index or 0]
        if shown not in self._dirty:
            return
        self._dirty.discard(shown)
        if shown == "Detail":
            detail = self.state.detail(self._opened, DETAIL_EAGER_BYTES)
            self._in_page = {step.step for step in detail.steps if step.loaded} if detail is not None else set()
            self.detail.value = render.detail_html(detail, table.now_utc(), self._opened)
        elif shown == "Compare":
            self.compare.draw()
        elif shown == "Plots":
            self.plots.draw()
        else:
            self.actions.draw_notices()

    def _draw_table(self) -> None:
        state = self.state
        rows = state.page_rows() if not state.grouped else []
        groups = state.page_groups() if state.grouped else []
        columns = state.shown_columns()
        view = render_table.TableView(
            selected=state.selected,
            ticked=state.ticked,
            sort_by=state.sort_by,
            descending=state.descending,
            decimals=state.group_decimals(groups) if state.grouped else state.column_decimals(rows),
            change_kinds=state.change_kinds,
            now=table.now_utc(),
            empty="No variant matches the filter." if state.total else "No variants yet: run the notebook's %%step cells.",
        )
        if state.grouped:
            metrics = [c.name for c in columns if c.kind == "metric"]
            self.table.value = render_table.groups_html(groups, state.grouping_params(), metrics, view)
        else:
            self.table.value = render_table.table_html(rows, columns, view)
        self._draw_group_note()
        shown, total = len(state.visible_rows()), state.total
        where = state.workflow or "all workflows"
        failed = f" · {state.failed_count} failed" if state.failed_count else ""
        self.heading.value = f"{where} · {total} variant{'s' if total != 1 else ''}{failed}"
        filtered = f" ({shown} match the filter)" if shown != total + state.failed_count else ""
        self.page.value = f'<span class="wfnb-muted">&nbsp;page {state.page + 1} of {state.page_count()}{filtered}&nbsp;</span>'
        self.previous.disabled = state.page == 0
        self.next.disabled = state.page >= state.page_count() - 1
        hidden = len(state.columns()) - len(columns)
        self.columns_button.description = f"Columns ({hidden} hidden)" if hidden else "Columns"
        self.columns_button.layout.width = "150px" if hidden else "104px"
        self._draw_ticked()
        self._draw_filter_note()

    def _draw_group_note(self) -> None:
        state = self.state
        self.group_by.layout.display = None if state.grouped else "none"
        if not state.grouped:
            self.group_note.value = ""
            return
        by = state.grouping_params()
        self._draw_group_by(by)
        left_out = [c.name for c in state.columns() if c.kind == "param" and c.name not in by]
        groups = len(state.groups())
        out = f" · left out: {', '.join(left_out)} (their values are averaged over)" if left_out else ""
        self.group_note.value = (
            f'<div class="wfnb-muted wfnb-group-note">{groups} group{"s" if groups != 1 else ""} by {escape(", ".join(by) or "nothing")}'
            f"{escape(out)} · click a group to list its variants · Group again to list every variant</div>"
        )

    def _draw_group_by(self, by: list[str]) -> None:
        """A checkbox per parameter, ticked for those grouped by (built again only when the parameters change)."""
        state = self.state
        params = tuple(c.name for c in state.columns() if c.kind == "param")
        if params != self._group_choice:
            self._group_choice = params

            def chosen(_: Any) -> None:
                if not self._syncing:
                    picked = [box.description for box in self.group_by.children[1:] if box.value]
                    self._quietly(lambda: state.group(by=picked))

            boxes = [w.Checkbox(description=name, indent=False, layout=w.Layout(width="auto", margin="0 12px 0 0")) for name in params]
            for box in boxes:
                box.observe(chosen, "value")
            head = w.HTML('<span class="wfnb-section-title-text">group by</span>', layout=w.Layout(width="90px"))
            self.group_by.children = [head, *boxes]
        self._syncing = True
        try:
            for box in self.group_by.children[1:]:
                box.value = box.description in by
        finally:
            self._syncing = False

    def _draw_ticked(self) -> None:
        count = len(self.state.ticked)
        names = ", ".join(ref.split("/")[-1] if self.state.workflow else ref for ref in self.state.ticked[:6])
        more = "…" if count > 6 else ""
        self.ticked_note.value = f'<span class="wfnb-muted">&nbsp;&nbsp;ticked: {names}{more}&nbsp;</span>' if count else '<span class="wfnb-muted">&nbsp;&nbsp;tick ☐ rows to compare them side by side&nbsp;</span>'
        self.compare_ticked.disabled = count < 2
        self.clear_ticks.disabled = count == 0

    def _draw_filter_note(self) -> None:
        error = self.state.query_error
        self.filter_note.value = f'<div class="wfnb-msg wfnb-msg-error wfnb-filter-error">✖ {escape(error)} The table shows every variant meanwhile.</div>' if error else ""

    def _toggle_columns(self, shown: bool) -> None:
        self.columns_panel.layout.display = None if shown else "none"
        if shown:
            self._draw_columns_panel()

    def _draw_columns_panel(self) -> None:
        """A checkbox per column, grouped; built when the panel opens (a sweep may add columns)."""
        state = self.state
        groups: dict[str, list[w.Widget]] = {"base": [], "param": [], "metric": []}
        for column in state.columns():
            if column.key == "variant":
                continue
            box = w.Checkbox(value=column.key not in state.hidden, description=column.label, indent=False, layout=w.Layout(width="auto", margin="0 12px 0 0"))
            box.observe(lambda change, key=column.key: state.show_column(key, change["new"]), "value")
            groups[column.kind].append(box)
        rows = []
        for kind, title in (("base", "variant"), ("param", "parameters"), ("metric", "metrics")):
            if groups[kind]:
                head = w.HTML(f'<span class="wfnb-section-title-text">{title}</span>', layout=w.Layout(width="90px"))
                rows.append(w.HBox([head, *groups[kind]], layout=w.Layout(flex_flow="row wrap", align_items="center")))
        show_all = w.Button(description="Show all", layout=w.Layout(width="90px"))
        show_all.on_click(lambda _: setattr(state, "hidden", []))
        self.columns_panel.children = [*rows, show_all]

    # -- outside a widget front end ---------------------------------------------

    def close(self) -> None:
        """Stop following the notebook and the store, cancel nothing, then close the widgets."""
        self.state.detach()
        super().close()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.state.describe())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self.state.describe()  # what a terminal, a text export or a widget-less viewer shows
        return bundle
