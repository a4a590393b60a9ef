"""One notebook's workflow: its store, its name, its parameters and the state of its steps.

Each step goes through the runner; the session then updates the workflow's
state, says which steps that left stale, and, when the whole workflow is
consistent and in a state not seen before, records it as a new variant.

The session also keeps the state in step with the notebook itself: a new
kernel starts from the workflow's current variant (or, if that record is
damaged, from the newest one, and says so); a step whose cell was deleted is
left out once the saved notebook no longer has it (or the status line says
what to type); after ``%wfnb checkout`` it remembers that the cells still show
other code, and says so until the notebook leaves or matches that variant.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfnb.cache import stepvalues
from wfnb.cache.cellcode import analyze_cell
from wfnb.cache.execution import ShellHost, warn
from wfnb.cache.hashing import hash_value
from wfnb.cache.runner import StepResult, StepRunner, run_sync
from wfnb.cache.statusline import StepReport
from wfnb.cache.stepline import StepOptions
from wfnb.cache.stepvalues import output_digests
from wfnb.errors import BadArgument, CorruptObject, StepFailed, StepInterrupted, StepNotStored, WfnbError
from wfnb.history import upstream
from wfnb.history.checkout import Restored
from wfnb.history.kernel import take_waiting
from wfnb.history.links import note_variant
from wfnb.history.notebookpath import NotebookOrigin, find_origin, note_notebook, notebook_workflow, saved_step_names
from wfnb.history.params import check_param, short_repr
from wfnb.history.snapshots import (
    RecordedVariant,
    current_number,
    known_variant,
    load_variant,
    newest_number,
    record_variant,
    resolve,
    set_current,
    tag_variant,
    workflows,
)
from wfnb.history.state import WorkflowState
from wfnb.store import Store, open_store
from wfnb.store.opening import open_store_to_write_or_read

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

upstream.register()  # a step that read another workflow's result (a `variant` probe) can be checked

__all__ = ["Session", "StepOptions", "current_session", "resolve_store", "start_session"]


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
        self._origin: NotebookOrigin | None = None
        self._workflow_named = False  # set by %wfnb workflow NAME: not the notebook's own name
        self._ran_at: dict[str, float] = {}  # step → when it last ran (or was restored) in this kernel
        self._restored: Restored | None = None  # after a checkout, while the cells show other code
        self._saved: tuple[tuple[int, int], frozenset[str] | None] | None = None  # the notebook file's steps, by stat
        self._left_out: list[str] = []  # steps left out when the kernel started, not said yet
        self.listeners: list[Callable[[Session], None]] = []  # told after each step, checkout or tag

    # -- configuration ----------------------------------------------------

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = _open_for_a_kernel(self._store_location)
        return self._store

    def use_store(self, location: str) -> Store:
        """Switch to another store (``%wfnb store PATH``); opened now, so a bad path fails here."""
        store = _open_for_a_kernel(location)
        self._store_location, self._store = location, store
        self._forget_state()
        return store

    @property
    def origin(self) -> NotebookOrigin:
        """Which notebook this kernel runs, as far as it can tell (see ``wfnb.history.notebookpath``)."""
        if self._origin is None:
            ran = self.shell.history_manager.input_hist_raw if self.shell.history_manager else []
            self._origin = find_origin(self.shell.user_ns, os.environ, list(ran), known=self._has_workflow)
        return self._origin

    def _has_workflow(self, name: str) -> bool:
        try:
            return name in workflows(self.store)
        except WfnbError:
            return False

    @property
    def workflow(self) -> str:
        if self._workflow is None:
            origin = self.origin
            self._workflow = origin.name
            if origin.path is not None:
                self._workflow = self._own_workflow(origin.path, origin.name)
            if not origin.known:
                warn(
                    f"this kernel was not told which notebook it runs (nbconvert, nbclient and papermill without "
                    f"--inject-paths do not say; nor does a plain IPython shell), so its steps are recorded as "
                    f"workflow {origin.name}, apart from other notebooks'. To continue one workflow from run to run, "
                    "put `%wfnb workflow NAME` after `%load_ext wfnb`."
                )
        return self._workflow

    def _own_workflow(self, path: Path, stem: str) -> str:
        """The workflow of notebook ``path``: its stem, unless the store has that workflow from another notebook
        with the same file name elsewhere (``notebookpath.notebook_workflow``); then said once."""
        name, other = notebook_workflow(self.store, path, stem)
        if other is not None:
            warn(
                f"the workflow {stem} in this store was recorded from another notebook of that name ({other}), so "
                f"this one's steps are recorded as workflow {name}. To choose another name, put `%wfnb workflow NAME` "
                "after `%load_ext wfnb`."
            )
        return name

    def _note_notebook(self) -> None:
        """Record which notebook this workflow is from, unless it was named by hand or cannot be written."""
        path = self.origin.path
        if path is not None and not self._workflow_named and not self.store.read_only:
            note_notebook(self.store, self.workflow, path)

    def use_workflow(self, name: str) -> None:
        self._workflow = name
        self._workflow_named = True
        self._forget_state()

    def _forget_state(self) -> None:
        """Another store or workflow: its state (and variant numbers) start from its own current variant."""
        self._runner = self._state = None
        self._base = self._growing = None
        self._restored = None
        self._left_out = []

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
            start = self._starting_variant()
            if start is not None:
                self._adopt(start)
                self._leave_out_deleted_steps()
        return self._state

    def _starting_variant(self) -> RecordedVariant | None:
        """The variant HEAD names; if HEAD or that variant is damaged, the newest sound one (made current again).

        Starting from nothing instead would let the next step alone make a
        "variant" of one step: a damaged record must never make a wrong variant.
        """
        store, workflow = self.store, self.workflow
        try:
            number = current_number(store, workflow)
            if number is None:  # no HEAD: the workflow was only replayed so far, or verify set a dangling one aside
                number = newest_number(store, workflow)
            return load_variant(store, workflow, number) if number is not None else None
        except (BadArgument, CorruptObject) as error:
            problem = str(error)
        fallback = newest_number(store, workflow)
        if fallback is None:
            warn(f"{problem} No sound variant of {workflow} is left, so this kernel starts afresh.")
            return None
        try:
            set_current(store, workflow, fallback)
            repaired = " and made it current again"
        except WfnbError:  # a read-only store: start from it all the same
            repaired = ""
        warn(f"{problem} This kernel starts from v{fallback}, the newest sound variant of {workflow}{repaired}.")
        return load_variant(store, workflow, fallback)

    def _adopt(self, variant: RecordedVariant) -> None:
        self._growing = None
        state = self._state if self._state is not None else WorkflowState(self.workflow)
        state.order = [record.step for record in variant.steps]
        state.records = {record.step: dict(record.record) for record in variant.steps}
        state.params = dict(variant.params)
        state.current = self._base = variant.number
        state.changed_in_place = {}  # the namespace now holds what the variant's steps made
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
        except StepFailed as failure:
            state.use(options.name, None)
            self._ran_at[options.name] = time.time()
            spoiled = self._changed_in_place(options.name, failure.changed)
            if spoiled and not isinstance(failure, StepInterrupted):
                raise StepFailed(f"{failure} {spoiled}") from failure.__cause__
            raise
        except KeyboardInterrupt:  # in wfnb's own work: reading its inputs, restoring a hit
            state.use(options.name, None)
            raise StepNotStored(
                f"wfnb was interrupted while it read the inputs of step {options.name} or restored its result. "
                "Nothing half-written was kept (the store is consistent), but the step's names may be only partly "
                "restored. Run the cell again."
            ) from None
        self._ran_at[options.name] = time.time()
        if result.record is not None:
            result = self._as_this_step(options.name, result)
        self._say_params_set_elsewhere(options.name, result.record)
        try:
            self._finish_step(options, previous, result)
        except KeyboardInterrupt:  # while the variant was being recorded: its write is all or nothing
            state.current = None
            raise StepNotStored(
                f"Step {options.name} is done, but wfnb was interrupted while it recorded the workflow's variant. "
                "Nothing half-written was kept (the store is consistent). Run the cell again to record it "
                "(the step is restored from the cache)."
            ) from None

    def _say_params_set_elsewhere(self, step: str, record: dict[str, Any] | None) -> None:
        """One line when the step read a parameter whose value a plain cell set again (not its ``%%params`` value):
        its result then belongs to no variant of the parameters the workflow records."""
        if record is None:
            return
        inputs = record.get("inputs") or {}
        for name, value in self.state.params.items():
            if name not in inputs:
                continue
            try:
                elsewhere = inputs[name] != hash_value(value)
            except WfnbError:
                continue
            if elsewhere and name in self.shell.user_ns:
                warn(
                    f"step {step} read {name} = {short_repr(self.shell.user_ns[name], 40)}, set outside %%params (which has "
                    f"{name} = {short_repr(value, 40)}), so no variant records the value it used. Set {name} in the %%params cell."
                )

    def _changed_in_place(self, step: str, changed: tuple[str, ...]) -> str:
        """After ``step`` failed having ``changed`` some of its inputs: those that earlier steps made.

        They are no longer what those steps made, so those steps must run again
        (a hit puts their values back); the state says so until they do. Returns
        the advice, or "".
        """
        state = self.state
        made: dict[str, str] = {}
        for earlier in state.order[: state.order.index(step)] if step in state.order else state.order:
            if earlier in state.records:
                made.update(dict.fromkeys(output_digests(state.records[earlier]), earlier))
        spoiled = {name: made[name] for name in sorted(changed) if name in made}
        state.changed_in_place.update(dict.fromkeys(spoiled, step))
        if not spoiled:
            return ""
        names, makers = ", ".join(spoiled), list(dict.fromkeys(spoiled.values()))
        return (
            f"Before it failed, it changed {names}, so {'it is' if len(spoiled) == 1 else 'they are'} no "
            f"longer what step {', '.join(makers)} made: run {', '.join(makers)} again first (its result is restored "
            f"from the cache), then this cell."
        )

    def _finish_step(self, options: StepOptions, previous: dict[str, Any] | None, result: Any) -> None:
        state = self.state
        if result.cached and state.current is not None and previous is not None and result.record is not None:
            same = previous.get("key") == result.record.get("key")
            if same and output_digests(previous) == output_digests(result.record):  # a hit that changes nothing: same variant
                state.place(options.name)
                state.made_again(options.name)
                result.report.note(f"variant v{state.current}")
                self.host.show(result.report)
                self.notify()
                return
        state.use(options.name, result.record)
        state.made_again(options.name)
        self._after_step(options.name, result.report)

    def _as_this_step(self, name: str, result: StepResult) -> StepResult:
        """A hit on a result recorded under another step name (a renamed ``%%step`` line, or the same code in
        another workflow) is recorded under this step's name and workflow; a renamed step takes the old one's
        place in the workflow instead of standing beside it."""
        record = result.record
        assert record is not None
        before = record.get("step")
        if (before, record.get("workflow")) == (name, self.workflow):
            return result
        state = self.state
        old = state.records.get(before) if isinstance(before, str) else None
        saved = self._saved_step_names()  # the same code in two steps of the notebook is no rename
        still_there = saved is not None and before in saved
        if result.cached and isinstance(before, str) and old is not None and old.get("key") == record.get("key") and name not in state.order and not still_there:
            state.rename(before, name)
            self._ran_at.pop(before, None)
            result.report.note(f"renamed from {before}")
        return replace(result, record={**record, "step": name, "workflow": self.workflow})

    def _after_step(self, step: str, report: StepReport) -> None:
        state = self.state
        self._leave_out_deleted_steps()
        gone, self._left_out = self._left_out, []
        if gone:
            report.note(f"left out {', '.join(gone)}: no longer in {self.origin.path.name if self.origin.path else 'the notebook'}")
        stale = state.stale_after(step)
        if stale:
            report.note(f"stale: {', '.join(stale)}")
        skipped = self._skipped(step)
        if skipped:
            one = len(skipped) == 1
            report.note(f"{', '.join(skipped)} {'was' if one else 'were'} skipped: no variant until {'it runs' if one else 'they run'}")
        in_the_way = skipped + (stale if self._saved_step_names() is None else [])
        if in_the_way:  # the saved notebook cannot tell (or was not saved): the user can
            one = len(in_the_way) == 1
            report.note(f"if {'its cell was' if one else 'their cells were'} deleted: %wfnb forget {' '.join(in_the_way)}")
        reached = self._record_if_consistent()
        if reached:
            report.note(reached)
        left = self._leaving_restored(step)
        if left:
            report.note(left)
        self.host.show(report)
        self.notify()

    def _record_if_consistent(self) -> str:
        """Record the state as a variant if it is consistent; "new variant v3", "variant v2", or ""."""
        state = self.state
        if not state.is_consistent():
            return ""
        if self.store.read_only:  # the state may be a recorded variant; nothing new is written
            known = known_variant(self.store, state)
            if known is None:
                return "no variant: the store is read-only"
            state.current = self._base = known.number
            return f"variant {known.name}"
        variant, created = record_variant(self.store, state, parent=self._base, grow=self._growing)
        set_current(self.store, self.workflow, variant.number)
        self._note_notebook()
        if created:
            self._growing = variant.number
        elif variant.number != self._growing:
            self._growing = None
        state.current = self._base = variant.number
        return f"new variant {variant.name}" if created else f"variant {variant.name}"

    def _leave_out_deleted_steps(self) -> list[str]:
        """Forget the steps the saved notebook no longer has, unless they ran here after it was saved.

        They are also kept in ``_left_out`` until the next status line says so.
        """
        path = self.origin.path
        names = self._saved_step_names()
        if path is None or names is None:
            return []
        try:
            saved_at = path.stat().st_mtime
        except OSError:
            return []
        gone = [s for s in self.state.order if s not in names and self._ran_at.get(s, 0.0) < saved_at]
        for step in gone:
            self.state.forget(step)
        self._left_out.extend(gone)
        return gone

    def _saved_step_names(self) -> frozenset[str] | None:
        """The step names of the notebook file as saved, read again only when the file changed."""
        path = self.origin.path
        if path is None:
            return None
        try:
            info = path.stat()
        except OSError:
            return None
        stamp = (info.st_mtime_ns, info.st_size)
        if self._saved is None or self._saved[0] != stamp:
            self._saved = (stamp, saved_step_names(path))
        return self._saved[1]

    def _skipped(self, step: str) -> list[str]:
        """Steps above the one just run that are stale or never ran: skipped, or their cell is gone."""
        order, statuses = self.state.order, self.state.statuses()
        here = order.index(step) if step in order else len(order)
        return [name for name in order[:here] if statuses[name][0] != "fresh"]

    def _leaving_restored(self, step: str) -> str:
        """After a checkout: once the notebook has left that variant, say so (once) and forget it."""
        restored = self._restored
        if restored is None or self.state.current == restored.number:
            return ""
        self._restored = None
        return restored.left_by(step)

    def notify(self) -> None:
        """Tell the listeners (an open browser) that the workflow changed; a failing listener is dropped."""
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception as error:  # noqa: BLE001 - a broken view must not break the notebook
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
        changed = any(self.state.params.get(k, object()) != v for k, v in values.items())
        self.state.params.update(values)
        self.state.current = None
        shown = ", ".join(f"{k}={v!r}" for k, v in values.items()) or "none"
        left = self._leaving_restored("") if changed else ""
        line = f"params · {shown}" + (f" · {left}" if left else "")
        self.shell.display_pub.publish({"text/plain": line}, metadata={"wfnb": "status"})
        self.notify()  # the notebook left its variant: an open browser shows it stale
        return values

    # -- variants ---------------------------------------------------------

    def status_table(self) -> list[tuple[str, str, str]]:
        """(step, status, reason) for each step, in order; then each step left out as no longer in the notebook."""
        self._leave_out_deleted_steps()
        restored = self._restored
        rows = []
        for step, (status, why) in self.state.statuses().items():
            if restored is not None and step in restored.steps and not why:
                why = f"restored from {restored.name}; its cell shows other code"
            rows.append((step, status, why))
        where = self.origin.path.name if self.origin.path else "the notebook"
        return rows + [(step, "left out", f"no longer in {where}") for step in self._left_out]

    @property
    def steps_run_here(self) -> tuple[str, ...]:
        """The steps this kernel has run or restored since it started (none: its cells are only on disk)."""
        return tuple(self._ran_at)

    def out_of_step(self) -> str:
        """After ``checkout``: how the notebook's cells differ from the variant restored, and how to bring
        its cells back; "" when they match (or the notebook has moved on). For the status and the browser."""
        return self._restored.explain() if self._restored is not None else ""

    def checkout(self, ref: str) -> RecordedVariant:
        """Restore a variant's values into the notebook and make it the current variant.

        The cells keep the code the notebook last ran; ``out_of_step()`` then
        says which differ from the variant, and how to get its cells.
        """
        variant = resolve(self.store, ref, self.workflow)
        before = self.state
        namespace = self.shell.user_ns
        for record in variant.steps:  # every value readable first: a damaged one changes nothing
            try:
                stepvalues.load_values(self.store, record.record)
            except CorruptObject as error:
                raise BadArgument(
                    f"{variant.name} cannot be restored: a value of step {record.step} is damaged or no longer in the store "
                    f"(wfnb gc lets the values of older variants go) ({error}). "
                    f"Replay it instead: %wfnb replay {variant.name}"
                ) from None
        restored = Restored.between(variant, before.records, before.params)
        namespace.update(variant.params)
        for record in variant.steps:  # in order: a step's values may be parts of an earlier step's
            resolver = stepvalues.checkout_resolver(self.store, record.record, namespace)
            stepvalues.apply(namespace, record.record, stepvalues.read(self.store, record.record, resolver))
        self._adopt(variant)
        self._restored = restored if restored.differs else None
        if not self.store.read_only:
            set_current(self.store, self.workflow, variant.number)
        self.notify()
        return variant

    def tag(self, name: str, note: str | None) -> RecordedVariant:
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

    def pin(self, ref: str | None, note: str | None) -> RecordedVariant:
        """Pin variant ``ref`` (default: the current one), so that ``wfnb gc`` keeps what it needs."""
        from wfnb.history.snapshots import pin_variant

        if ref is None and self.state.current is None:
            raise BadArgument(
                "The workflow is not at a variant now (a step is stale or has not run), so there is nothing to pin. "
                "Run the stale steps (see %wfnb status), or pin an earlier one: %wfnb pin v3"
            )
        variant = resolve(self.store, ref, self.workflow) if ref is not None else load_variant(self.store, self.workflow, self.state.current)  # type: ignore[arg-type]  # not None when ref is: checked above
        pin_variant(self.store, variant, note)
        self.notify()
        return load_variant(self.store, variant.workflow, variant.number)

    def forget(self, *steps: str) -> str:
        """Drop steps that are no longer in the notebook from the workflow (``%wfnb forget STEP ...``).

        If the rest is consistent, that is a variant at once; returns "new variant v3", "variant v2" or "".
        """
        unknown = [step for step in steps if step not in self.state.order]
        if unknown:
            raise BadArgument(
                f"The workflow {self.workflow} has no step {', '.join(map(repr, unknown))}; its steps: "
                f"{', '.join(self.state.order) or 'none yet'}."
            )
        for step in steps:
            self.state.forget(step)
            self._ran_at.pop(step, None)
        reached = self._record_if_consistent()
        self.notify()
        return reached


def _open_for_a_kernel(location: str | None) -> Store:
    """The store a notebook uses: to write, else (a colleague's archive, a read-only mount) read-only, said once."""
    store = open_store_to_write_or_read(location)
    if store.read_only:
        warn(f"the store at {store.root} is read-only: results already there are restored, nothing new is stored.")
    return store


_current: Session | None = None


def current_session() -> Session | None:
    """The session of the shell that loaded the extension, if any, made now if it was not yet."""
    shell = take_waiting()
    if shell is not None:
        start_session(shell)
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
    session = current_session()
    if store is None and session is not None:
        return session.store
    return open_store(store, create=create)


def find_variant(ref: str | int, workflow: str | None = None, store: Store | str | None = None) -> RecordedVariant:
    """A variant as a user names it (``wfnb.variant``): in a running step, one of the step's inputs."""
    session = current_session()
    where = workflow or (session.workflow if session is not None and store is None else None)
    opened = resolve_store(store, create=False)
    found = resolve(opened, ref, where)
    note_variant(ref, where, opened, found)
    return found
