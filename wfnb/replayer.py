"""Replay a variant: its own code and parameters, in a fresh namespace, through the cache.

Nothing of the notebook is touched: the namespace is new, the notebook's
current variant stays what it is. Steps whose inputs are unchanged are
restored, not run; a parameter override re-runs exactly the steps that read it
and the ones downstream of them.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from wfnb.errors import BadArgument, CorruptObject, StepFailed
from wfnb.fingerprint import ABSENT
from wfnb.hosts import NamespaceHost
from wfnb.rebinding import rebind
from wfnb.report import StepReport
from wfnb.runner import StepOptions, StepRunner, run_sync
from wfnb.snapshots import Variant, record_variant
from wfnb.workflow import WorkflowState


def replay(
    variant: Variant, *, progress: Callable[[StepReport], None] | None = None, **params: Any
) -> Variant:
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
    from wfnb.session import check_param

    unknown = sorted(set(params) - set(variant.params))
    if unknown:
        known = ", ".join(sorted(variant.params)) or "none"
        raise BadArgument(f"{variant.name} has no parameter {', '.join(unknown)}; its parameters: {known}.")
    for name, value in params.items():
        check_param(name, value)
    store = variant._store()
    values = {**variant.params, **params}
    namespace: dict[str, Any] = dict(values)
    host = NamespaceHost(namespace, on_report=progress or _print_progress(variant))
    runner = StepRunner(store, variant.workflow, host)
    state = WorkflowState(variant.workflow, params=values)
    for step in variant.steps:
        _bring_inputs(store, step, namespace, variant)
        options = StepOptions(name=step.step, deps=tuple(step.record.get("deps", ())))
        try:
            result = run_sync(runner.run(options, step.code, params=values))
        except StepFailed as failure:
            raise StepFailed(f"replay of {variant.workflow}/{variant.name}: {failure}") from None
        state.use(step.step, result.record)
        host.show(result.report)
    if not state.is_consistent():
        not_fresh = [s for s, (status, _) in state.statuses().items() if status != "fresh"]
        raise StepFailed(
            f"replay of {variant.name} ran, but steps {', '.join(not_fresh)} could not be recorded (see the warnings above), "
            "so no variant was made."
        )
    replayed, _ = record_variant(store, state, parent=variant.number)
    return replayed


def _bring_inputs(store: Any, step: Any, namespace: dict[str, Any], variant: Variant) -> None:
    """Inputs no earlier step produced (helpers, imports, data from plain cells) come from the store."""
    for name, digest in step.inputs.items():
        if name in namespace or digest == ABSENT:
            continue
        try:
            namespace[name] = rebind(store.get_object(digest), namespace, adopt_globals=True)
        except CorruptObject as error:
            raise BadArgument(
                f"{variant.name} cannot be replayed: input {name!r} of step {step.step} is not in the store "
                f"({error}). It came from outside the workflow's steps and could not be stored; define it in a step."
            ) from None


def _print_progress(variant: Variant) -> Callable[[StepReport], None]:
    def show(report: StepReport) -> None:
        print(f"replay {variant.name} · {report.line()}", file=sys.stdout, flush=True)

    return show
