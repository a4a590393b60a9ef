"""The browser's model: which variants are listed, which one is selected, compared and plotted.

A ``traitlets.HasTraits`` with no widget in it. The view links its widgets to
these traits and calls these methods, so selection, filters, sorting, columns,
comparison, plots and the actions (replay, sweep, restore, export, tag; in
``actions``) are all tested without a front end. Following the notebook and
the store as they change is ``live``'s part. Variants are read with
``wfnb.history.snapshots`` (which keeps parameter and metric names apart, where the
flat ``wfnb.variants()`` frame cannot).

The listed rows are replaced, never changed in place, so that a view drawing
them from one thread never sees them half-updated by another (a replay
finishing, a sweep's point arriving).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Enum, Int, List, TraitError, Unicode, observe, validate

from wfnb.errors import BadArgument, WfnbError
from wfnb.frontends.browser import details, grouping, table
from wfnb.frontends.browser.actions import EXPORT_FORMATS, Actions
from wfnb.frontends.browser.grouped import Grouped
from wfnb.frontends.browser.live import Live
from wfnb.frontends.browser.plotting import Plotting
from wfnb.frontends.browser.prefs import TablePrefs, load_prefs, save_prefs
from wfnb.frontends.browser.query import QueryError, compile_query
from wfnb.history.letgo import marked
from wfnb.history.snapshots import current_number, list_variants, resolve, workflows
from wfnb.history.upstream import dependents

if TYPE_CHECKING:
    from wfnb.history.session import Session
    from wfnb.history.snapshots import RecordedVariant
    from wfnb.store import Store

__all__ = ["EXPORT_FORMATS", "BrowserState"]

PLOT_LIMIT = 2000  # points in a plot: the most recent of the filtered variants
ORDER_AXIS = "variant"  # the plots' axis for the order variants were made in


class BrowserState(Actions, Live, Grouped, Plotting):
    """The browser over one store; see the module docstring."""

    workflow = Unicode("", help="the workflow listed; '' lists every workflow")
    workflows = List(Unicode(), help="workflows with at least one variant")
    query = Unicode("", help="the filter, e.g. 'accuracy > 0.99 and C == 10' (see wfnb.frontends.browser.query)")
    query_error = Unicode("", help="why the filter cannot be read ('' when it can); the table is then unfiltered")
    tag_filter = Unicode(table.ANY_TAG, help="'' any variant, '*' tagged ones, else one tag")
    sort_by = Unicode("age", help="the column key the table is sorted by")
    descending = Bool(True)
    page = Int(0)
    page_size = Int(20)
    hidden = List(Unicode(), help="keys of the columns the user hid (remembered per workflow, see prefs)")
    selected = Unicode("", help="'workflow/v3', or '' for none")
    baseline = Unicode("", help="the variant whose code the selected one is compared with (default: its parent)")
    ticked = List(Unicode(), help="variants ticked in the table to compare side by side, in the order ticked")
    plot_kind = Enum(("scatter", "parallel", "curves"), default_value="scatter")
    x_axis = Unicode("", help="the scatter's x: a column key ('param:C', 'metric:loss') or 'variant'")
    y_axis = Unicode("", help="the scatter's y: a column key")
    color_by = Unicode("", help="a column key colouring the points and lines ('' for none)")
    log_x = Bool(False)
    log_y = Bool(False)
    revision = Int(0, help="bumped whenever the listed rows, their order or their page change")

    def __init__(self, store: Store, workflow: str | None = None, session: Session | None = None, read_only: bool = False) -> None:
        super().__init__()
        self.store = store
        self.read_only = read_only  # only look (wfnb ui): every action that runs code or writes is refused
        self._lock = threading.RLock()
        self._rows: dict[str, table.Row] = {}
        self._variants: dict[str, RecordedVariant] = {}
        self._visible: list[table.Row] | None = None
        self._columns: list[table.Column] | None = None
        self._changes: dict[str, dict[str, table.ChangeKind]] = {}
        self._links: dict[tuple[str, int, int], list[tuple[str, str, tuple[str, ...]]]] = {}
        self._loading = False
        self._let_go: dict[str, set[int]] = {}
        self._groups: list[grouping.Group] | None = None
        self._prefs_for: str | None = None  # the workflow whose remembered table was applied
        self._init_live(session)
        self._load(workflow or self._default_workflow())

    # -- listing -------------------------------------------------------------

    def refresh(self) -> None:
        """Read every variant again (another kernel wrote to the store); selection is kept."""
        self._load(self.workflow)

    def _load(self, workflow: str) -> None:
        with self._lock:
            self.workflows = workflows(self.store)
            if workflow and workflow not in self.workflows:
                workflow = ""
            names = [workflow] if workflow else self.workflows
            rows: dict[str, table.Row] = {}
            variants: dict[str, RecordedVariant] = {}
            self._let_go = {name: set(marked(self.store, name)) for name in names}
            for name in names:
                head = current_number(self.store, name)
                for variant in list_variants(self.store, name):
                    row = table.make_row(variant, self._status(name, variant.number, head))
                    rows[row.ref], variants[row.ref] = row, variant
                rows.update(self._failed_rows(name))
            self._heads = {name: current_number(self.store, name) for name in names}
            self._replace_rows(rows, variants)
            self._loading = True
            try:
                with self.hold_trait_notifications():
                    self.workflow = workflow
                    self._apply_prefs(workflow)
                    self._keep_choices_valid()
            finally:
                self._loading = False
            self.revision += 1

    def _replace_rows(self, rows: dict[str, table.Row], variants: dict[str, RecordedVariant]) -> None:
        """Publish new rows (never mutated afterwards) and forget what was computed from the old ones."""
        self._rows, self._variants = rows, variants
        self._visible = self._columns = self._groups = None
        self._changes = {}

    def _keep_choices_valid(self) -> None:
        """After the rows changed: a selection, baseline, tick or axis naming a vanished one is reset."""
        if self.selected not in self._variants:
            self.selected = self._default_selection()
        if self.baseline not in self._variants:
            self.baseline = self._default_baseline()
        if any(ref not in self._variants for ref in self.ticked):
            self.ticked = [ref for ref in self.ticked if ref in self._variants]
        keys = {column.key for column in self.columns()} | {ORDER_AXIS}
        if self.y_axis not in keys or not self.y_axis:
            self.y_axis = next((c.key for c in self.columns() if c.kind == "metric"), "")
        if self.x_axis not in keys or not self.x_axis:
            self.x_axis = self._default_x()
        if self.color_by and self.color_by not in keys:
            self.color_by = ""
        self.page = min(self.page, self.page_count() - 1)

    def _status(self, workflow: str, number: int, head: int | None) -> table.RowStatus:
        if number == head:
            return "stale" if self._notebook_moved_on(workflow, head) else "current"
        return "freed" if number in self._let_go.get(workflow, ()) else ""

    def _default_workflow(self) -> str:
        names = workflows(self.store)
        session = self.session
        if session is not None and session.workflow in names:
            return session.workflow
        return names[0] if len(names) == 1 else ""

    def _default_selection(self) -> str:
        rows = [row for row in self._rows.values() if not row.failed]
        current = [row for row in rows if row.status in ("current", "stale")]
        newest = table.sort_rows(current or rows, "age", True)
        return newest[0].ref if newest else ""

    def _default_x(self) -> str:
        """The first parameter whose value differs between the listed variants (else the order made)."""
        for column in self.columns():
            if column.kind == "param" and len({json.dumps(r.params.get(column.name), sort_keys=True, default=str) for r in self._rows.values()}) > 1:
                return column.key
        return ORDER_AXIS

    @observe("workflow")
    def _workflow_changed(self, change: dict[str, Any]) -> None:
        if not self._loading:  # the user picked another workflow
            self.page = 0
            self._load(change["new"])

    @observe("query", "tag_filter", "sort_by", "descending", "grouped", "group_by")
    def _view_changed(self, change: dict[str, Any]) -> None:
        self._visible = self._groups = None
        self.page = 0
        self.revision += 1
        if change["name"] in ("grouped", "group_by"):
            self._save_prefs()

    @observe("page", "hidden")
    def _page_changed(self, change: dict[str, Any]) -> None:
        self.revision += 1
        if change["name"] == "hidden":
            self._save_prefs()

    def _apply_prefs(self, workflow: str) -> None:
        """On opening a workflow: its columns and grouping as they were left (the defaults when never changed)."""
        if workflow == self._prefs_for:
            return
        self._prefs_for = workflow
        prefs = load_prefs(self.store, workflow) if workflow else None
        self.hidden = list(prefs.hidden) if prefs is not None else []
        self.grouped = prefs is not None and prefs.group_by is not None
        self.group_by = list(prefs.group_by or ()) if prefs is not None else []

    def _save_prefs(self) -> None:
        if self.workflow and not self._loading and not getattr(self, "read_only", False):  # wfnb ui only looks
            save_prefs(self.store, self.workflow, TablePrefs(tuple(self.hidden), tuple(self.group_by) if self.grouped else None))

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
        self.clear_finished()  # results and progress of actions on the previous selection

    def _default_baseline(self) -> str:
        """The parent; for a variant without one, the nearest other variant of its workflow ('' if none)."""
        variant = self.variant()
        if variant is None:
            return ""
        parent = f"{variant.workflow}/v{variant.parent}"
        if variant.parent is not None and parent in self._variants:
            return parent
        others = [row for row in self._rows.values() if row.workflow == variant.workflow and row.number != variant.number and not row.failed]
        nearest = min(others, key=lambda row: (abs(row.number - variant.number), row.number), default=None)
        return nearest.ref if nearest is not None else ""

    def columns(self) -> list[table.Column]:
        """Every column of the listed variants, hidden ones included."""
        if self._columns is None:
            self._columns = table.columns_for(list(self._rows.values()), every_workflow=not self.workflow)
        return self._columns

    def shown_columns(self) -> list[table.Column]:
        """The columns the table shows: all but the hidden ones (the variant column always)."""
        return [c for c in self.columns() if c.key == "variant" or c.key not in self.hidden]

    def show_column(self, key: str, shown: bool) -> None:
        """Show or hide a column (the variant column always stays)."""
        if key == "variant":
            return
        hidden = [k for k in self.hidden if k != key]
        self.hidden = hidden if shown else hidden + [key]

    def visible_rows(self) -> list[table.Row]:
        """Every row passing the filters, in table order (computed once per change)."""
        visible = self._visible
        if visible is None:
            rows = table.filter_by_tag(list(self._rows.values()), self.tag_filter)
            predicate = self._predicate()
            kept = [row for row in rows if predicate(row)] if predicate is not None else rows
            visible = self._visible = table.sort_rows(kept, self.sort_by, self.descending)
        return visible

    def _predicate(self) -> Any:
        columns = self.columns()
        try:
            predicate = compile_query(self.query, [c.name for c in columns if c.kind == "param"], [c.name for c in columns if c.kind == "metric"])
        except QueryError as error:
            self.query_error = str(error)
            return None
        self.query_error = ""
        return predicate

    def page_rows(self) -> list[table.Row]:
        return table.page_of(self.visible_rows(), self.page, self.page_size)

    def page_count(self) -> int:
        shown = len(self.groups()) if self.grouped else len(self.visible_rows())
        return table.page_count(shown, self.page_size)

    @property
    def total(self) -> int:
        """How many variants are listed (failed attempts not counted: ``failed_count``)."""
        return len(self._variants)

    @property
    def failed_count(self) -> int:
        return len(self._rows) - len(self._variants)

    def sort(self, key: str) -> None:
        """Sort by column ``key``; sorting by the same column again reverses the order."""
        if key not in {column.key for column in self.columns()} and not (key == "count" and self.grouped):
            raise BadArgument(f"The table has no column {key!r}; its columns: {', '.join(c.key for c in self.columns())}.")
        with self.hold_trait_notifications():
            if key == self.sort_by:
                self.descending = not self.descending
            else:
                self.sort_by, self.descending = key, table.first_click_descending(key)

    def tag_options(self) -> list[tuple[str, str]]:
        tags = sorted({tag for row in self._rows.values() for tag in row.tags})
        return [("any tag", table.ANY_TAG), ("tagged", table.TAGGED)] + [(tag, tag) for tag in tags]

    def metric_names(self) -> list[str]:
        return [column.name for column in self.columns() if column.kind == "metric"]

    def column_decimals(self, rows: list[table.Row]) -> dict[str, int | None]:
        """Each numeric column's decimals over ``rows`` (the page shown), so that its points line up."""
        return {c.key: table.column_decimals([table.cell_value(r, c.key) for r in rows]) for c in self.columns() if c.kind != "base"}

    def change_kinds(self, ref: str) -> dict[str, table.ChangeKind]:
        """For each step the variant changed from its parent: 'code', 'params' (same code, other
        parameters), 'inputs' (same code and parameters, data from an earlier step changed) or
        'new' (no parent). Reads the step records of this variant and its parent, once."""
        if ref in self._changes:
            return self._changes[ref]
        variant = self._variants.get(ref)
        if variant is None:
            return {}
        parent = self._variants.get(f"{variant.workflow}/v{variant.parent}") if variant.parent is not None else None
        kinds: dict[str, table.ChangeKind] = {}
        try:
            before = {record.step: record for record in parent.steps} if parent is not None else {}
            for record in variant.steps:
                if record.step not in variant.changed_steps:
                    continue
                old = before.get(record.step)
                if old is None:
                    kinds[record.step] = "new"
                elif old.record.get("code_hash", old.code) != record.record.get("code_hash", record.code):
                    kinds[record.step] = "code"
                else:
                    kinds[record.step] = "params" if dict(old.params) != dict(record.params) else "inputs"
        except WfnbError:  # a damaged record: the row still lists the steps, without their kind
            kinds = {}
        self._changes[ref] = kinds
        return kinds

    # -- the selected and compared variants -----------------------------------

    def select(self, ref: str) -> None:
        """Select a variant by ``v3`` (in the listed workflow), ``workflow/v3``, its tag or hash prefix."""
        self.selected = self._ref(ref)

    def compare_with(self, ref: str) -> None:
        """Compare the selected variant's code with ``ref`` ('' for none)."""
        self.baseline = self._ref(ref) if ref else ""

    def tick(self, ref: str, ticked: bool | None = None) -> None:
        """Tick a variant to compare it side by side (or untick it; ``None`` toggles)."""
        ref = self._ref(ref)
        on = ref not in self.ticked if ticked is None else ticked
        rest = [r for r in self.ticked if r != ref]
        self.ticked = rest + [ref] if on else rest

    def compared(self) -> list[str]:
        """The variants compared side by side: the ticked ones, else the baseline and the selected one."""
        if len(self.ticked) >= 2:
            return list(self.ticked)
        chosen = [*self.ticked, self.baseline, self.selected]
        return [ref for i, ref in enumerate(chosen) if ref and ref in self._variants and ref not in chosen[:i]]

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

    def variant(self, ref: str | None = None) -> RecordedVariant | None:
        return self._variants.get(self.selected if ref is None else ref)

    def row(self, ref: str | None = None) -> table.Row | None:
        return self._rows.get(self.selected if ref is None else ref)

    def detail(self, opened: Collection[str] | None = None, eager_bytes: int = 0) -> details.Detail | None:
        """The selected variant's detail, with the outputs of the ``opened`` steps (None: of every step), and of
        the others up to ``eager_bytes`` (see ``details.variant_detail``)."""
        variant, row = self.variant(), self.row()
        if variant is None or row is None:
            return None
        parent = self._variants.get(f"{variant.workflow}/v{variant.parent}") if variant.parent is not None else None
        return details.variant_detail(variant, parent, row.status, opened, eager_bytes)

    def comparison(self) -> details.Comparison | None:
        """The code compared step by step: the first two ticked variants, else the selected one against the baseline."""
        found = self.comparisons()
        return found[0] if found else None

    def comparisons(self) -> list[details.Comparison]:
        """The code of the ticked variants, each against the first ticked (two or more ticked), else
        the selected variant's against the baseline's (its parent by default)."""
        ticked = [self._variants[ref] for ref in self.ticked if ref in self._variants]
        if len(ticked) >= 2:
            return [details.compare_variants(ticked[0], other) for other in ticked[1:]]
        new, old = self.variant(), self.variant(self.baseline) if self.baseline else None
        return [details.compare_variants(old, new)] if new is not None and old is not None else []

    def side_by_side(self) -> details.SideBySide | None:
        """Parameters, metrics and figures of every compared variant (two or more)."""
        refs = self.compared()
        variants = [self._variants[ref] for ref in refs]
        return details.side_by_side(variants) if len(variants) >= 2 else None

    def compare_options(self) -> list[tuple[str, str]]:
        """Variants of the selected one's workflow, newest first (the same list for each of them, so a
        dropdown of a thousand is not sent again on every click)."""
        variant = self.variant()
        if variant is None:
            return []
        rows = [r for r in self._rows.values() if r.workflow == variant.workflow and not r.failed]
        return [(f"{r.name}" + (f" [{', '.join(r.tags)}]" if r.tags else ""), r.ref) for r in table.sort_rows(rows, "variant", True)]

    def dag(self) -> details.Dag | None:
        """The selected variant's steps by data flow; stale marks only if the notebook is at (or left) it."""
        variant, row = self.variant(), self.row()
        if variant is None or row is None:
            return None
        session = self.session
        live = session is not None and session.workflow == variant.workflow and row.status in ("current", "stale")
        elsewhere = ""
        if session is not None and session.workflow == variant.workflow and not live:
            head = self._heads.get(variant.workflow)
            elsewhere = f"v{head}" if head is not None else "no variant"
        statuses = session.state.statuses() if live else None
        return details.step_graph(variant, statuses, notebook_at=elsewhere, used_by=self.used_by(variant))

    def used_by(self, variant: RecordedVariant) -> list[tuple[str, str, tuple[str, ...]]]:
        """The steps of other workflows' variants that read ``variant`` (kept until the rows change)."""
        key = (variant.workflow, variant.number, self.revision)
        if key not in self._links:
            others = [name for name in workflows(self.store) if name != variant.workflow]
            self._links = {key: dependents(self.store, variant.workflow, variant.number, others)}
        return self._links[key]

    # -- plots ---------------------------------------------------------------

    def axis_options(self) -> list[tuple[str, str]]:
        """What a plot's axis or colour can show: the order made, each parameter, each metric."""
        options = [("variant (order made)", ORDER_AXIS)]
        options += [(f"{c.name} (parameter)", c.key) for c in self.columns() if c.kind == "param"]
        options += [(f"{c.name} (metric)", c.key) for c in self.columns() if c.kind == "metric"]
        return options

    def plot_rows(self) -> tuple[list[table.Row], int]:
        """The filtered rows a plot draws, oldest first (the most recent ``PLOT_LIMIT``), and how many were left out."""
        rows = sorted((r for r in self.visible_rows() if not r.failed), key=lambda r: (r.created.timestamp() if r.created else 0.0, r.number))
        return rows[-PLOT_LIMIT:], max(0, len(rows) - PLOT_LIMIT)

    def varying_columns(self) -> list[table.Column]:
        """Parameters then metrics whose values differ among the filtered rows: a sweep's axes."""
        rows, _ = self.plot_rows()
        varying = []
        for column in sorted(self.columns(), key=lambda c: c.kind != "param"):  # parameters, then metrics
            if column.kind == "base":
                continue
            values = {json.dumps(table.cell_value(r, column.key), sort_keys=True, default=str) for r in rows}
            if len(values) > 1:
                varying.append(column)
        return varying

    # -- actions' inputs -------------------------------------------------------

    def form(self) -> dict[str, str]:
        """The selected variant's parameters as editable JSON text, for the replay and sweep form."""
        variant = self.variant()
        return {name: json.dumps(value) for name, value in (variant.params if variant else {}).items()}

    def default_export_path(self, suffix: str = ".ipynb") -> str:
        variant = self.variant()
        return f"{variant.workflow}-{variant.name}{suffix}" if variant is not None else f"variant{suffix}"

    def describe(self) -> str:
        """The table as text: the browser's fallback where widgets cannot be shown."""
        where = f"workflow {self.workflow}" if self.workflow else "every workflow"
        head = f"wfnb browser · {where} · {self.total} variant{'s' if self.total != 1 else ''}, newest first"
        if not self._rows:
            return head + "\nno variants yet: run the notebook's %%step cells"
        rows = table.sort_rows(list(self._rows.values()), "age", True)
        return head + "\n" + table.text_table(rows, self.columns(), table.now_utc())
