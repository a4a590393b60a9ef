"""One notebook's workflow: its store, its name, its parameters and the state of its steps.

Each step goes through the runner; the session then updates the workflow's
state, says which steps that left stale, and, when the whole workflow is
consistent and in a state not seen before, records it as a new variant.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from wfnb.analysis import analyze_cell
from wfnb.errors import BadArgument, CorruptObject, StepFailed, WfnbError
from wfnb.hosts import ShellHost, warn
from wfnb.report import StepReport
from wfnb import stepvalues
from wfnb.runner import StepOptions, StepRunner, run_sync
from wfnb.store import Store, open_store
from wfnb.snapshots import Variant, current_number, load_variant, record_variant, resolve, set_current, tag_variant
from wfnb.workflow import WorkflowState

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["Session", "StepOptions", "current_session", "resolve_store", "start_session"]

_DEFAULT_WORKFLOW = "notebook"


class Session:
    """The workflow state of one IPython shell."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell
        self.host = ShellHost(shell)
        self._store_location: str | None = None
        self._store: Store | None = None
        self._workflow: str | None = None
        self._runner: StepRunner | None = None
        self._state: WorkflowState | None = None
        self._base: int | None = None  # the variant the notebook's work derives from
        self._growing: int | None = None  # a variant this session created, which new steps may extend
        self.listeners: list[Callable[[Session], None]] = []  # told after each step, checkout or tag

    # -- configuration ----------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self._store_location)
        return self._store

    def use_store(self, location: str) -> Store:
        """Switch to another store (``%wfnb store PATH``); opened now, so a bad path fails here."""
        store = open_store(location)
        self._store_location, self._store = location, store
        self._forget_state()
        return store

    @property
    def workflow(self) -> str:
        if self._workflow is None:
            self._workflow = _workflow_from_notebook(self.shell.user_ns)
        return self._workflow

    def use_workflow(self, name: str) -> None:
        self._workflow = name
        self._forget_state()

    def _forget_state(self) -> None:
        """Another store or workflow: its state (and variant numbers) start from its own current variant."""
        self._runner = self._state = None
        self._base = self._growing = None

    @property
    def runner(self) -> StepRunner:
        if self._runner is None:
            self._runner = StepRunner(self.store, self.workflow, self.host)
        return self._runner

    @property
    def state(self) -> WorkflowState:
        """The workflow's state; a new kernel starts from the workflow's current variant."""
        if self._state is None:
            self._state = WorkflowState(self.workflow)
            number = current_number(self.store, self.workflow)
            if number is not None:
                try:
                    self._adopt(load_variant(self.store, self.workflow, number))
                except (WfnbError, KeyError, TypeError) as error:
                    warn(f"the current variant v{number} of {self.workflow} could not be read ({error}); starting afresh.")
        return self._state

    def _adopt(self, variant: Variant) -> None:
        self._growing = None
        state = self._state if self._state is not None else WorkflowState(self.workflow)
        state.order = [record.step for record in variant.steps]
        state.records = {record.step: dict(record.record) for record in variant.steps}
        state.params = dict(variant.params)
        state.current = self._base = variant.number
        self._state = state

    # -- steps and parameters ---------------------------------------------

    def run_step(self, options: StepOptions, body: str) -> None:
        """Run ``body`` as step ``options.name``: restore it from the store or run and store it."""
        run_sync(self.run_step_async(options, body, asynchronous=False))

    async def run_step_async(self, options: StepOptions, body: str, asynchronous: bool = True) -> None:
        """The same; with ``asynchronous`` the body's top-level ``await`` runs on the kernel's loop."""
        state = self.state
        previous = state.records.get(options.name)
        try:
            result = await self.runner.run(
                options, body, params=state.params, previous=previous, asynchronous=asynchronous
            )
        except StepFailed:
            state.use(options.name, None)
            raise
        if result.cached and state.current is not None and previous is not None and result.record is not None:
            if previous.get("key") == result.record.get("key"):  # a hit that changes nothing: same variant
                state.place(options.name)
                result.report.note(f"variant v{state.current}")
                self.host.show(result.report)
                self.notify()
                return
        state.use(options.name, result.record)
        self._after_step(options.name, result.report)

    def _after_step(self, step: str, report: StepReport) -> None:
        state = self.state
        stale = state.stale_after(step)
        if stale:
            report.note(f"stale: {', '.join(stale)}")
        if state.is_consistent():
            variant, created = record_variant(self.store, state, parent=self._base, grow=self._growing)
            set_current(self.store, self.workflow, variant.number)
            if created:
                self._growing = variant.number
            elif variant.number != self._growing:
                self._growing = None
            state.current = self._base = variant.number
            report.note(f"new variant {variant.name}" if created else f"variant {variant.name}")
        self.host.show(report)
        self.notify()

    def notify(self) -> None:
        """Tell the listeners (an open browser) that the workflow changed; a failing listener is dropped."""
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception as error:  # a broken view must not break the notebook
                self.listeners.remove(listener)
                warn(f"a wfnb listener failed and was removed: {type(error).__name__}: {error}")

    def run_params(self, body: str) -> dict[str, Any]:
        """Run a ``%%params`` cell as a plain cell, then take the names it binds as the parameters."""
        result = self.shell.run_cell(body, store_history=False)
        if not result.success:
            raise StepFailed("the %%params cell failed; its parameters were not changed. Fix the cell and run it again.")
        names = sorted(analyze_cell(self.shell.transform_cell(body)).binds)
        values = {name: self.shell.user_ns[name] for name in names if name in self.shell.user_ns}
        for name, value in values.items():
            check_param(name, value)
        self.state.params.update(values)
        self.state.current = None
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "none"
        self.shell.display_pub.publish({"text/plain": f"params · {shown}"}, metadata={"wfnb": "status"})
        self.notify()  # the notebook left its variant: an open browser shows it stale
        return values

    # -- variants ---------------------------------------------------------

    def status_table(self) -> list[tuple[str, str, str]]:
        """(step, status, reason) for each step, in order."""
        return [(step, status, why) for step, (status, why) in self.state.statuses().items()]

    def checkout(self, ref: str) -> Variant:
        """Restore a variant's values into the notebook and make it the current variant."""
        variant = resolve(self.store, ref, self.workflow)
        namespace = self.shell.user_ns
        for record in variant.steps:  # every value readable first: a damaged one changes nothing
            try:
                stepvalues.load_values(self.store, record.record)
            except CorruptObject as error:
                raise BadArgument(
                    f"{variant.name} cannot be restored: a value of step {record.step} is damaged ({error}). "
                    f"Replay it instead: %wfnb replay {variant.name}"
                ) from None
        namespace.update(variant.params)
        for record in variant.steps:  # in order: a step's values may be parts of an earlier step's
            resolver = stepvalues.checkout_resolver(self.store, record.record, namespace)
            stepvalues.apply(namespace, record.record, stepvalues.read(self.store, record.record, resolver))
        self._adopt(variant)
        set_current(self.store, self.workflow, variant.number)
        self.notify()
        return variant

    def tag(self, name: str, note: str | None) -> Variant:
        """Name the current variant."""
        state = self.state
        if state.current is None:
            raise BadArgument(
                "The workflow is not at a variant now (a step is stale or has not run), so there is nothing to tag. "
                "Run the stale steps (see %wfnb status), or tag an earlier one with wfnb.tag('v3', name)."
            )
        variant = load_variant(self.store, self.workflow, state.current)
        tag_variant(self.store, variant, name, note)
        self.notify()
        return variant

    def forget(self, step: str) -> None:
        """Drop a step that is no longer in the notebook from the workflow."""
        if step not in self.state.order:
            raise BadArgument(f"The workflow {self.workflow} has no step {step!r}; its steps: {', '.join(self.state.order)}.")
        self.state.forget(step)


def check_param(name: str, value: Any) -> None:
    """A parameter must be plain JSON data, so that it can be shown, compared, exported and overridden."""
    try:
        text = json.dumps(value, allow_nan=False)
        exact = json.loads(text) == value and _plain(value)
    except (TypeError, ValueError, RecursionError):
        exact = False
    if not exact:
        raise BadArgument(
            f"parameter {name} = {_short_repr(value)} is not plain JSON data (a number, string, bool, None, or a "
            "list/dict of these with string keys). Keep parameters simple, e.g. window = 20 or method = 'ewm', "
            "and build other objects from them in a step."
        )


def _plain(value: Any) -> bool:
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _workflow_from_notebook(namespace: dict[str, Any]) -> str:
    """The notebook's file stem, from what Jupyter (or VS Code) tells the kernel; a fixed name otherwise."""
    candidates = (namespace.get("__session__"), namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", Path(candidate).stem)
            if stem.strip("."):
                return stem
    return _DEFAULT_WORKFLOW


_current: Session | None = None


def current_session() -> Session | None:
    """The session of the shell that loaded the extension, if any (for the Python API)."""
    return _current


def start_session(shell: InteractiveShell) -> Session:
    """Create the session for ``shell`` and make it the current one."""
    global _current
    _current = Session(shell)
    return _current


def resolve_store(store: Store | str | os.PathLike | None, *, create: bool = True) -> Store:
    """A store from what a Python API caller gave: a Store, a location, or None for the current one."""
    if isinstance(store, Store):
        return store
    if store is None and _current is not None:
        return _current.store
    return open_store(store, create=create)
