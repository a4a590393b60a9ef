"""The browser's model: which variants are listed, which one is selected, and what acting on it did.

A ``traitlets.HasTraits`` with no widget in it. The view links its widgets to
these traits and calls these methods, so selection, filters, sorting,
comparison and the actions (replay, restore, export, tag) are all tested
without a front end. Variants are read with ``wfnb.snapshots`` (which keeps
parameter and metric names apart, where the flat ``wfnb.variants()`` frame
cannot); actions go through the same verbs as the Python API. An action never
raises: it reports success or a clear error in ``message``.
"""

from __future__ import annotations

import json
import weakref
from typing import TYPE_CHECKING, Any, Callable

from traitlets import Bool, Dict, Enum, HasTraits, Int, List, TraitError, Unicode, observe, validate

from wfnb.browser import details, table
from wfnb.browser.actions import EXPORT_FORMATS, Actions
from wfnb.errors import BadArgument, WfnbError
from wfnb.snapshots import current_number, list_variants, resolve, workflows

if TYPE_CHECKING:
    from wfnb.session import Session
    from wfnb.snapshots import Variant
    from wfnb.store import Store

__all__ = ["EXPORT_FORMATS", "BrowserState"]

PLOT_LIMIT = 200  # points in the metric plot: the most recent of the filtered variants


class BrowserState(Actions, HasTraits):
    """The browser over one store; see the module docstring. Its actions are in ``actions``."""

    workflow = Unicode("", help="the workflow listed; '' lists every workflow")
    workflows = List(Unicode(), help="workflows with at least one variant")
    query = Unicode("", help="keep rows containing every word (variant, tag, note, step, param=value, …)")
    tag_filter = Unicode(table.ANY_TAG, help="'' any variant, '*' tagged ones, else one tag")
    sort_by = Unicode("age", help="the column key the table is sorted by")
    descending = Bool(True)
    page = Int(0)
    page_size = Int(20)
    selected = Unicode("", help="'workflow/v3', or '' for none")
    baseline = Unicode("", help="the variant the selected one is compared with (default: its parent)")
    metric = Unicode("", help="the metric plotted across variants")
    live = Bool(True, help="refresh when a step runs, a variant is restored or tagged in the notebook")
    busy = Bool(False)
    message = Unicode("")
    message_kind = Enum(("", "info", "success", "error"), default_value="")
    message_detail = Unicode("", help="a traceback or details shown under the message")
    progress = List(Dict(), help="during and after a replay: {'step', 'state', 'detail'} per step")
    revision = Int(0, help="bumped whenever the listed rows, their order or their page change")

    def __init__(self, store: Store, workflow: str | None = None, session: Session | None = None) -> None:
        super().__init__()
        self.store = store
        self._rows: list[table.Row] = []
        self._visible: list[table.Row] | None = None
        self._variants: dict[str, Variant] = {}
        self._session: Session | None = None
        self._listener: Callable[[Session], None] | None = None
        self._loading = False
        if session is not None:
            self.attach(session)
        self._load(workflow or self._default_workflow())

    # -- listing -------------------------------------------------------------

    def refresh(self) -> None:
        """Read the variants again (a step ran, a variant was made or tagged); selection is kept."""
        self._load(self.workflow)

    def _load(self, workflow: str) -> None:
        self.workflows = workflows(self.store)
        if workflow and workflow not in self.workflows:
            workflow = ""
        names = [workflow] if workflow else self.workflows
        rows, variants = [], {}
        for name in names:
            head = current_number(self.store, name)
            stale_head = self._notebook_moved_on(name, head)
            for variant in list_variants(self.store, name):
                status = "complete" if variant.number != head else "stale" if stale_head else "current"
                row = table.make_row(variant, status)
                rows.append(row)
                variants[row.ref] = variant
        self._rows, self._variants, self._visible = rows, variants, None
        self._loading = True
        try:
            with self.hold_trait_notifications():
                self.workflow = workflow
                if self.selected not in self._variants:
                    self.selected = self._default_selection()
                if self.baseline not in self._variants:
                    self.baseline = ""
                if self.metric not in self.metric_names():
                    self.metric = next(iter(self.metric_names()), "")
                self.page = min(self.page, self.page_count() - 1)
        finally:
            self._loading = False
        self.revision += 1

    def _notebook_moved_on(self, workflow: str, head: int | None) -> bool:
        """Whether the notebook's workflow has left its current variant (a step is stale or unrun)."""
        session = self._session
        if session is None or head is None or session.workflow != workflow:
            return False
        return session.state.current != head

    def _default_workflow(self) -> str:
        names = workflows(self.store)
        if self._session is not None and self._session.workflow in names:
            return self._session.workflow
        return names[0] if len(names) == 1 else ""

    def _default_selection(self) -> str:
        current = [row for row in self._rows if row.status != "complete"]
        newest = table.sort_rows(current or self._rows, "age", True)
        return newest[0].ref if newest else ""

    @observe("workflow")
    def _workflow_changed(self, change: dict[str, Any]) -> None:
        if not self._loading:  # the user picked another workflow
            self.page = 0
            self._load(change["new"])

    @observe("query", "tag_filter", "sort_by", "descending")
    def _view_changed(self, change: dict[str, Any]) -> None:
        self._visible = None
        self.page = 0
        self.revision += 1

    @observe("page")
    def _page_changed(self, change: dict[str, Any]) -> None:
        self.revision += 1

    @validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        return max(0, min(proposal["value"], self.page_count() - 1))

    @validate("selected", "baseline")
    def _known_variant(self, proposal: dict[str, Any]) -> str:
        ref = proposal["value"]
        if ref and ref not in self._variants:
            raise TraitError(f"{ref!r} is not a variant listed in this browser")
        return ref

    @observe("selected")
    def _selection_changed(self, change: dict[str, Any]) -> None:
        self.baseline = self._default_baseline()

    def _default_baseline(self) -> str:
        """The parent; for a variant without one, the nearest other variant of its workflow ('' if none)."""
        variant = self.variant()
        if variant is None:
            return ""
        parent = f"{variant.workflow}/v{variant.parent}"
        if variant.parent is not None and parent in self._variants:
            return parent
        others = [row for row in self._rows if row.workflow == variant.workflow and row.number != variant.number]
        nearest = min(others, key=lambda row: (abs(row.number - variant.number), row.number), default=None)
        return nearest.ref if nearest is not None else ""

    def columns(self) -> list[table.Column]:
        return table.columns_for(self._rows, every_workflow=not self.workflow)

    def visible_rows(self) -> list[table.Row]:
        """Every row passing the filters, in table order (computed once per change)."""
        if self._visible is None:
            kept = table.filter_rows(self._rows, self.query, self.tag_filter)
            self._visible = table.sort_rows(kept, self.sort_by, self.descending)
        return self._visible

    def page_rows(self) -> list[table.Row]:
        return table.page_of(self.visible_rows(), self.page, self.page_size)

    def page_count(self) -> int:
        return table.page_count(len(self.visible_rows()), self.page_size)

    @property
    def total(self) -> int:
        return len(self._rows)

    def sort(self, key: str) -> None:
        """Sort by column ``key``; sorting by the same column again reverses the order."""
        if key not in {column.key for column in self.columns()}:
            raise BadArgument(f"The table has no column {key!r}; its columns: {', '.join(c.key for c in self.columns())}.")
        with self.hold_trait_notifications():
            if key == self.sort_by:
                self.descending = not self.descending
            else:
                self.sort_by, self.descending = key, table.first_click_descending(key)

    def tag_options(self) -> list[tuple[str, str]]:
        tags = sorted({tag for row in self._rows for tag in row.tags})
        return [("any tag", table.ANY_TAG), ("tagged", table.TAGGED)] + [(tag, tag) for tag in tags]

    def metric_names(self) -> list[str]:
        return [column.name for column in self.columns() if column.kind == "metric"]

    # -- the selected variant ------------------------------------------------

    def select(self, ref: str) -> None:
        """Select a variant by ``v3`` (in the listed workflow), ``workflow/v3``, its tag or hash prefix."""
        self.selected = self._ref(ref)

    def compare_with(self, ref: str) -> None:
        """Compare the selected variant with ``ref`` ('' for none)."""
        self.baseline = self._ref(ref) if ref else ""

    def _ref(self, ref: str) -> str:
        if ref in self._variants:
            return ref
        try:
            variant = resolve(self.store, ref, self.workflow or None)
        except WfnbError as error:
            raise BadArgument(f"{error}") from None
        found = f"{variant.workflow}/{variant.name}"
        if found not in self._variants:
            raise BadArgument(f"{found} is not listed in this browser (workflow {self.workflow or 'all'}); refresh or pick its workflow.")
        return found

    def variant(self, ref: str | None = None) -> Variant | None:
        return self._variants.get(self.selected if ref is None else ref)

    def row(self, ref: str | None = None) -> table.Row | None:
        ref = self.selected if ref is None else ref
        return next((row for row in self._rows if row.ref == ref), None)

    def detail(self) -> details.Detail | None:
        variant, row = self.variant(), self.row()
        if variant is None or row is None:
            return None
        parent = self._variants.get(f"{variant.workflow}/v{variant.parent}") if variant.parent is not None else None
        return details.variant_detail(variant, parent, row.status)

    def comparison(self) -> details.Comparison | None:
        new, old = self.variant(), self.variant(self.baseline) if self.baseline else None
        return details.compare_variants(old, new) if new is not None and old is not None else None

    def compare_options(self) -> list[tuple[str, str]]:
        """Variants of the selected one's workflow, newest first (the same list for each of them, so a
        dropdown of a thousand is not sent again on every click)."""
        variant = self.variant()
        if variant is None:
            return []
        rows = [r for r in self._rows if r.workflow == variant.workflow]
        return [(f"{r.name}" + (f" [{', '.join(r.tags)}]" if r.tags else ""), r.ref) for r in table.sort_rows(rows, "variant", True)]

    def dag(self) -> details.Dag | None:
        variant = self.variant()
        if variant is None:
            return None
        session = self._session
        live = session is not None and session.workflow == variant.workflow
        return details.step_graph(variant, session.state.statuses() if live else None)

    def metric_points(self) -> tuple[list[tuple[str, str, float]], int]:
        """(ref, label, value) of the filtered variants with a numeric ``metric``, oldest first; and how many were left out."""
        points = []
        for row in sorted(self.visible_rows(), key=lambda r: (r.created.timestamp() if r.created else 0.0, r.number)):
            value = row.metrics.get(self.metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                label = row.name if self.workflow else row.ref
                points.append((row.ref, label, float(value)))
        return points[-PLOT_LIMIT:], max(0, len(points) - PLOT_LIMIT)

    def form(self) -> dict[str, str]:
        """The selected variant's parameters as editable JSON text, for the replay form."""
        variant = self.variant()
        return {name: json.dumps(value) for name, value in (variant.params if variant else {}).items()}

    def default_export_path(self, suffix: str = ".ipynb") -> str:
        variant = self.variant()
        return f"{variant.workflow}-{variant.name}{suffix}" if variant is not None else f"variant{suffix}"

    # -- live ----------------------------------------------------------------

    def attach(self, session: Session) -> None:
        """Follow ``session``: refresh after each step, restore or tag there (while ``live``)."""
        self.detach()
        own = weakref.ref(self)

        def listener(changed: Session) -> None:
            state = own()
            if state is None:  # the browser is gone: stop listening
                changed.listeners.remove(listener)
            elif state.live:
                state.refresh()

        self._session, self._listener = session, listener
        session.listeners.append(listener)

    def detach(self) -> None:
        if self._session is not None and self._listener in self._session.listeners:
            self._session.listeners.remove(self._listener)
        self._session = self._listener = None

    @property
    def session(self) -> Session | None:
        return self._session

    def describe(self) -> str:
        """The table as text: the browser's fallback where widgets cannot be shown."""
        where = f"workflow {self.workflow}" if self.workflow else "every workflow"
        head = f"wfnb browser · {where} · {self.total} variant{'s' if self.total != 1 else ''}, newest first"
        if not self._rows:
            return head + "\nno variants yet: run the notebook's %%step cells"
        rows = table.sort_rows(self._rows, "age", True)
        return head + "\n" + table.text_table(rows, self.columns(), table.now_utc())
