"""Replay a variant: its own code and parameters, in a fresh namespace, through the cache.

Nothing of the notebook is touched: the namespace is new, the notebook's
current variant stays what it is. Steps whose inputs are unchanged are
restored, not run; a parameter override re-runs exactly the steps that read it
and the ones downstream of them.

``run_steps`` is that loop on its own, for any list of step codes: a replay
feeds it a variant's steps, ``wfnb.Workflow.run`` the steps of an imported
workflow (a CSV, a DataFrame, a notebook file).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from wfnb.cache.execution import NamespaceHost
from wfnb.cache.fingerprint import ABSENT
from wfnb.cache.rebinding import rebind
from wfnb.cache.runner import StepRunner, run_sync
from wfnb.cache.statusline import StepReport
from wfnb.cache.stepline import StepOptions
from wfnb.errors import BadArgument, CorruptObject, StepFailed
from wfnb.history import upstream
from wfnb.history.attempts import note_failure
from wfnb.history.records import RecordedVariant, StepRecord
from wfnb.history.snapshots import record_variant, refill_variant
from wfnb.history.state import WorkflowState
from wfnb.store import Store

upstream.register()  # a step that read another workflow's result (a `variant` probe) can be checked

# A step's run records what it shows by taking over the process's sys.stdout, the shell's display hooks and
# matplotlib's list of open figures. Runs in threads of one process (a sweep's threading backend) share a lock
# and run their steps in turns, so that each records its own output and figures, never another's.
_turns = threading.local()


@contextmanager
def taking_turns(lock: threading.Lock) -> Iterator[None]:
    """While in this block, this thread's replays run each step holding ``lock`` (shared with other threads)."""
    _turns.lock = lock
    try:
        yield
    finally:
        del _turns.lock


@dataclass(frozen=True)
class StepCode:
    """What a fresh run of one step needs: its name, its code, the files it declared, and
    the hashes of the values it read when it was recorded (to fetch those no step produces)."""

    name: str
    code: str
    deps: tuple[str, ...] = ()
    inputs: Mapping[str, str] = field(default_factory=dict)  # name → value hash, as recorded
    outputs: Mapping[str, str] = field(default_factory=dict)  # name → value hash, as recorded
    indirect: tuple[str, ...] = ()  # inputs only its helpers read: they come with the helpers
    recorded: Mapping[str, Any] | None = None  # the record it was made with, to say why it runs again

    @classmethod
    def from_record(cls, record: StepRecord) -> StepCode:
        deps = tuple(record.record.get("deps", ()))
        indirect = tuple(record.record.get("indirect", ()))
        return cls(record.step, record.code, deps, dict(record.inputs), dict(record.outputs), indirect, record.record)


def replay(
    variant: RecordedVariant, *, progress: Callable[[StepReport], None] | None = None, **params: Any
) -> RecordedVariant:
    """Re-run ``variant`` with ``params`` overriding its parameters; return the resulting variant.

    Parameters
    ----------
    variant
        The variant to replay (see ``wfnb.variant``).
    progress
        Called with each step's report as it ends; by default one line per step is printed.
    **params
        New values for some of the variant's parameters.
    """
    params = check_overrides(f"{variant.workflow}/{variant.name}", params, variant.params)
    store = variant._store()
    return run_steps(
        store,
        variant.workflow,
        [StepCode.from_record(step) for step in variant.steps],
        {**variant.params, **params},
        progress=progress or print_progress(f"replay {variant.name}"),
        parent=variant.number,
        label=f"replay of {variant.workflow}/{variant.name}",
        missing_hint="It came from outside the workflow's steps and could not be stored; define it in a step.",
        refill=variant if _values_gone(store, variant) else None,
    )


def _values_gone(store: Store, variant: RecordedVariant) -> bool:
    """Whether ``wfnb gc`` let some of the variant's values go (its history stays; a replay computes them)."""
    from wfnb.store.gc import value_objects

    digests = [d for step in variant.steps for d in value_objects(dict(step.record)) if isinstance(d, str) and d]
    return any(not store.has_object(digest) for digest in digests)


def run_steps(
    store: Store,
    workflow: str,
    steps: Sequence[StepCode],
    params: Mapping[str, Any],
    *,
    progress: Callable[[StepReport], None],
    parent: int | None = None,
    namespace: Mapping[str, Any] | None = None,
    setup: str = "",
    label: str,
    missing_hint: str,
    refill: RecordedVariant | None = None,
) -> RecordedVariant:
    """Run ``steps`` in order in a fresh namespace through the cache, and record the variant they make.

    ``refill`` is a variant whose values were let go, being replayed as it was:
    the run refills it (``snapshots.refill_variant``) rather than recording a copy.

    The namespace starts with ``namespace`` (values the caller supplies), then
    the parameters; ``setup`` (plain code, e.g. imports) runs there uncached;
    an input that no earlier step produced and that is still missing is loaded
    from the store by the hash it had when it was recorded. ``label`` names the
    run in errors; ``missing_hint`` says how to supply an input the store lacks
    (``{name}`` in it is replaced by the input's name).
    """
    from wfnb.history.params import check_param

    for name, value in params.items():
        check_param(name, value)
    fresh: dict[str, Any] = {**(namespace or {}), **params}
    host = NamespaceHost(fresh, on_report=progress)
    if setup.strip():
        error = run_sync(host.execute(setup, False))
        if error is not None:
            raise StepFailed(f"{label}: its setup code failed ({type(error).__name__}: {error}); no step ran.")
    runner = StepRunner(store, workflow, host)
    state = WorkflowState(workflow, params=dict(params))
    for step in steps:
        bring_inputs(store, step, fresh, label, missing_hint)
        options = StepOptions(name=step.name, deps=step.deps)
        try:
            with getattr(_turns, "lock", None) or nullcontext():
                result = run_sync(runner.run(options, step.code, params=params, previous=step.recorded))
        except StepFailed as failure:
            if host.last_traceback:  # it was recorded with the step's output, not shown: show it now
                print(host.last_traceback, end="", file=sys.stderr, flush=True)
            cause = failure.__cause__
            detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
            error = f"{type(cause).__name__}: {cause}" if cause is not None else str(failure)
            note_failure(store, workflow, params, step.name, error, parent, label)  # a failure is a result too
            raise StepFailed(
                f"{label}: step {step.name} failed{detail}, so no variant was made and nothing was cached; its "
                "traceback is above. Try other parameters, or fix the step in the notebook and run it there."
            ) from cause
        state.use(step.name, result.record)
        host.show(result.report)
    if not state.is_consistent():
        not_fresh = [s for s, (status, _) in state.statuses().items() if status != "fresh"]
        raise StepFailed(
            f"{label} ran, but steps {', '.join(not_fresh)} could not be recorded (see the warnings above), "
            "so no variant was made."
        )
    refilled = refill_variant(store, state, refill) if refill is not None else None
    if refilled is not None:
        return refilled
    made, _ = record_variant(store, state, parent=parent)
    return made


def bring_inputs(store: Store, step: StepCode, namespace: dict[str, Any], label: str, hint: str) -> None:
    """Inputs no earlier step produced (helpers, imports, data from plain cells) come from the store."""
    for name, digest in step.inputs.items():
        if name in namespace or digest == ABSENT:
            continue
        try:
            namespace[name] = rebind(store.get_object(digest), namespace, adopt_globals=True)
        except CorruptObject as error:
            if name in step.indirect:
                continue  # read by a helper only: the helper brings it, or does not need it
            raise BadArgument(
                f"{label} cannot run: input {name!r} of step {step.name} is not in the store ({error}). {hint.format(name=name)}"
            ) from None


def check_overrides(owner: str, overrides: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides, each of its parameter's type (``params.as_parameter_type``); refuses overrides of
    parameters ``owner`` does not have, suggesting the one probably meant."""
    from wfnb.history.params import as_parameter_type

    unknown = sorted(set(overrides) - set(params))
    if not unknown:
        return {name: as_parameter_type(owner, name, value, params[name]) for name, value in overrides.items()}
    import difflib

    known = ", ".join(sorted(params)) or "none"
    guesses = [g for name in unknown for g in difflib.get_close_matches(name, list(params), n=1)]
    hint = f" Did you mean {', '.join(guesses)}?" if guesses else ""
    raise BadArgument(f"{owner} has no parameter {', '.join(unknown)}; its parameters: {known}.{hint}")


def print_progress(prefix: str) -> Callable[[StepReport], None]:
    """A progress callback that prints one line per step, e.g. ``replay v1 · step load · cached · …``."""

    def show(report: StepReport) -> None:
        print(f"{prefix} · {report.line()}", file=sys.stdout, flush=True)

    return show
