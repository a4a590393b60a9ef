"""How the browser follows the history as it changes: the notebook's session, and every ref write.

A mixin of ``BrowserState``. Two sources tell it what changed:

- the notebook's ``Session`` after each step, ``%%params`` cell, checkout or
  tag: which variant the notebook is at, and whether it has left it (stale);
- ``wfnb.store.changes``, after every ref written in this process, from any thread
  (a variant recorded by a step, a replay or a sweep; a tag; a new HEAD), and
  once per finished point of a sweep whose workers are other processes.

Each notice re-reads only what it names (one manifest, the tags, the HEAD), so
a store of 10,000 variants follows a sweep point by point. While ``live`` is
off nothing is read; ``refresh()`` reads everything again.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from traitlets import Bool, HasTraits

from wfnb.errors import WfnbError
from wfnb.frontends.browser import table
from wfnb.history.attempts import failed_attempts
from wfnb.history.snapshots import (
    current_number,
    list_variants,
    load_variant,
    workflows,
)
from wfnb.store import changes

if TYPE_CHECKING:
    from wfnb.history.session import Session
    from wfnb.history.snapshots import RecordedVariant


class Live(HasTraits):
    """Following the notebook and the store; ``BrowserState`` provides the rows and the lock."""

    live = Bool(True, help="follow the notebook and the store as they change")

    def _init_live(self, session: Session | None) -> None:
        self._session: Session | None = None
        self._session_listener: Callable[[Session], None] | None = None
        self._heads: dict[str, int | None] = {}
        own = weakref.ref(self)

        def on_ref(root: str, ref: str) -> None:
            state = own()
            if state is None:  # the browser is gone: stop listening
                changes.unsubscribe(on_ref)
            elif state.live and root == str(state.store.root):
                state._ref_changed(ref)

        self._ref_listener = on_ref
        changes.subscribe(on_ref)
        if session is not None:
            self.attach(session)

    @property
    def session(self) -> Session | None:
        return self._session

    def attach(self, session: Session) -> None:
        """Follow ``session``: its steps, ``%%params`` cells, checkouts and tags (while ``live``)."""
        self._detach_session()
        own = weakref.ref(self)

        def listener(changed: Session) -> None:
            state = own()
            if state is None:
                changed.listeners.remove(listener)
            elif state.live:
                state._notebook_changed()

        self._session, self._session_listener = session, listener
        session.listeners.append(listener)

    def detach(self) -> None:
        """Stop following the notebook and the store (the view calls this when it closes)."""
        self._detach_session()
        changes.unsubscribe(self._ref_listener)

    def _detach_session(self) -> None:
        if self._session is not None and self._session_listener in self._session.listeners:
            self._session.listeners.remove(self._session_listener)
        self._session = self._session_listener = None

    def _notebook_moved_on(self, workflow: str, head: int | None) -> bool:
        """Whether the notebook's workflow has left its current variant (a step is stale or unrun)."""
        session = self._session
        if session is None or head is None or session.workflow != workflow:
            return False
        return session.state.current != head

    # -- what changed ----------------------------------------------------------

    def _listed(self, workflow: str) -> bool:
        return not self.workflow or workflow == self.workflow

    def _notebook_changed(self) -> None:
        session = self._session
        if session is None or not self._listed(session.workflow):
            return
        with self._lock:
            self._read_head(session.workflow)
            self._mark_dirty()

    def _ref_changed(self, ref: str) -> None:
        """One ref was written: re-read just what it names."""
        parts = ref.split("/")
        if len(parts) < 3 or parts[0] != "workflows":
            return
        workflow, kind = parts[1], parts[2]
        if kind not in ("variants", "tags", "HEAD", "pins", "checks", "failed"):
            return  # identity pointers and the like change nothing shown
        with self._lock:
            if workflow not in self.workflows:
                self.workflows = workflows(self.store)
            if not self._listed(workflow):
                return
            if kind in ("variants", "pins", "checks") and len(parts) == 4 and parts[3].isdigit():
                self._read_variant(workflow, int(parts[3]))  # a pin or a check's marks: that variant's row and detail
            elif kind == "variants":
                self._read_new(workflow)
            elif kind == "failed":
                self._read_failed(workflow)
            elif kind == "tags":
                self._read_workflow(workflow)
            else:
                self._read_head(workflow)
            self._mark_dirty()

    def sync(self, workflow: str) -> None:
        """Read what changed in ``workflow`` without a notice: new variants and its HEAD (after an action)."""
        with self._lock:
            self._read_new(workflow)
            self._read_failed(workflow)
            self._read_head(workflow)
            self._mark_dirty()

    def _read_variant(self, workflow: str, number: int) -> None:
        try:
            variant = load_variant(self.store, workflow, number)
        except WfnbError:  # removed, or damaged: it is no longer listed
            self._put(f"{workflow}/v{number}", None)
            return
        self._put(f"{workflow}/v{number}", variant)

    def _read_new(self, workflow: str) -> None:
        """Variants of ``workflow`` not listed yet (a sweep's points, another kernel's work)."""
        known = {row.number for row in self._rows.values() if row.workflow == workflow and not row.failed}
        names = self.store.refs.names(f"workflows/{workflow}/variants")
        for name in names:
            number = name.rsplit("/", 1)[-1]
            if number.isdigit() and int(number) not in known:
                self._read_variant(workflow, int(number))

    def _read_workflow(self, workflow: str) -> None:
        """Every variant of one workflow again (its tags changed: they are read with the manifests)."""
        rows = {ref: row for ref, row in self._rows.items() if row.workflow != workflow}
        variants = {ref: v for ref, v in self._variants.items() if ref in rows}
        head = self._heads.get(workflow)
        for variant in list_variants(self.store, workflow):
            row = table.make_row(variant, self._status(workflow, variant.number, head))
            rows[row.ref], variants[row.ref] = row, variant
        rows.update(self._failed_rows(workflow))
        self._replace_rows(rows, variants)

    def _read_failed(self, workflow: str) -> None:
        """The workflow's failed attempts again (one was just noted)."""
        rows = {ref: row for ref, row in self._rows.items() if not (row.workflow == workflow and row.failed)}
        rows.update(self._failed_rows(workflow))
        self._replace_rows(rows, dict(self._variants))

    def _failed_rows(self, workflow: str) -> dict[str, table.Row]:
        try:
            attempts = failed_attempts(self.store, workflow)
        except WfnbError:  # an unreadable listing hides the failures, never the variants
            return {}
        return {row.ref: row for row in map(table.failed_row, attempts)}

    def _read_head(self, workflow: str) -> None:
        """The workflow's current variant, and the notebook's place: only rows whose status changes are remade."""
        try:
            head = current_number(self.store, workflow)
        except WfnbError:
            head = None
        self._heads = {**self._heads, workflow: head}
        rows, variants = dict(self._rows), self._variants
        for ref, row in self._rows.items():
            if row.workflow == workflow and not row.failed:
                status = self._status(workflow, row.number, head)
                if status != row.status:
                    rows[ref] = table.make_row(variants[ref], status)
        self._replace_rows(rows, dict(variants))

    def _put(self, ref: str, variant: RecordedVariant | None) -> None:
        rows, variants = dict(self._rows), dict(self._variants)
        rows.pop(ref, None)
        variants.pop(ref, None)
        if variant is not None:
            status = self._status(variant.workflow, variant.number, self._heads.get(variant.workflow))
            rows[ref], variants[ref] = table.make_row(variant, status), variant
        self._replace_rows(rows, variants)

    def _mark_dirty(self) -> None:
        with self.hold_trait_notifications():
            self._keep_choices_valid()
        self.revision += 1

    # provided by BrowserState
    _rows: dict[str, table.Row]
    _variants: dict[str, Any]
