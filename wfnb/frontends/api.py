"""The Python verbs for past work: ``wfnb.variants()``, ``wfnb.variant(ref)``, ``wfnb.replay(...)``, ``wfnb.tag(...)``,
``wfnb.why(step)``, ``wfnb.pin(ref)``, and ``wfnb.runs()``, the log of step executions.

In a notebook they use its store and workflow; elsewhere, ``$WFNB_STORE`` or
``./.wfnb`` and every workflow in it. Each raises one ``WfnbError`` whose
message says what to do, without wfnb's own frames (``api_boundary``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wfnb.errors import BadArgument, api_boundary
from wfnb.frontends.listing import variants_frame
from wfnb.history.records import RecordedVariant
from wfnb.history.session import current_session, find_variant, resolve_store
from wfnb.history.snapshots import tag_variant
from wfnb.history.variants import Variant

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.history.explain import Explanation
    from wfnb.store import Store



@api_boundary
def variants(workflow: str | None = None, store: Store | str | None = None) -> pd.DataFrame:
    """One row per variant, oldest first: number, tags (as in ``wfnb list --json``), created, parent, changed steps, status,
    then one column per parameter and per metric.

    Parameters
    ----------
    workflow
        Which workflow; default: the notebook's own, or every workflow outside a notebook.
    store
        A store or its location; default: the notebook's store, else ``$WFNB_STORE``, else ``./.wfnb``.
    """
    return variants_frame(resolve_store(store, create=False), workflow or _default_workflow(store))


@api_boundary
def variant(ref: str | int, workflow: str | None = None, store: Store | str | None = None) -> Variant:
    """A variant by ``v3``, tag, or unique hash prefix, with its code, parameters, metrics and outputs.

    ``"prepare/v3"`` names a variant of another workflow, and ``"prepare"`` alone that
    workflow's current variant. Called in a step, the variant it gives is one of the
    step's inputs (``wfnb.history.upstream``): a new variant of ``"prepare"`` runs the step
    again, while ``"prepare/v3"`` keeps it cached.
    """
    return Variant.of(find_variant(ref, workflow, store))


@api_boundary
def replay(ref: str | int | Variant, workflow: str | None = None, *, check: bool = False, **params: Any) -> Any:
    """Replay a variant with some parameters overridden; see ``Variant.replay``.

    With ``check=True``, run its steps again as recorded, without the cache, and return a
    ``CheckReport`` saying step by step which outputs differ from the recorded ones
    (numbers: the largest absolute and relative difference; frames: the columns; figures:
    the pixels). A step seen to differ is marked as nondeterministic: in its variant
    (``Variant.nondeterministic``) and on its cached result, whose hits then say so.
    """
    target = Variant.of(ref) if isinstance(ref, RecordedVariant) else variant(ref, workflow)
    return target.replay(check=check, **params)


@api_boundary
def tag(ref: str | int, name: str, note: str | None = None, workflow: str | None = None) -> Variant:
    """Name a variant (tags are unique per workflow), with an optional note."""
    target = variant(ref, workflow)
    tag_variant(target._store(), target, name, note)
    return variant(target.number, target.workflow)


@api_boundary
def pin(ref: str | int, note: str | None = None, workflow: str | None = None, store: Store | str | None = None) -> Variant:
    """Pin a variant: ``wfnb gc``, however it bounds the store (``--keep-last``, ``--max-size``), keeps
    everything it needs (its values and its steps' cached results). Pinning twice changes nothing."""
    from wfnb.history.snapshots import pin_variant

    target = variant(ref, workflow, store)
    pin_variant(target._store(), target, note)
    return variant(target.number, target.workflow, store)


@api_boundary
def unpin(ref: str | int, workflow: str | None = None, store: Store | str | None = None) -> Variant:
    """Unpin a variant: ``wfnb gc`` may then remove its values (if no tag and no other rule keeps them)."""
    from wfnb.history.snapshots import unpin_variant

    target = variant(ref, workflow, store)
    if not unpin_variant(target._store(), target):
        raise BadArgument(f"{target.workflow}/{target.name} is not pinned, so there is nothing to unpin.")
    return variant(target.number, target.workflow, store)


@api_boundary
def why(step: str, workflow: str | None = None, store: Store | str | None = None) -> Explanation:
    """Why step ``step`` last ran (ingredient by ingredient, against its nearest earlier entry), or which
    stored result it used and when that was made.

    The status line gives one short reason; this is the long answer: the code lines
    that changed, which input changed and by how much, which helper, module, file
    or package version, which part of the run-time trace.

    Parameters
    ----------
    step
        The step's name.
    workflow
        Its workflow; default: the notebook's own (required outside a notebook).
    store
        A store or its location; default: the notebook's store, else ``$WFNB_STORE``, else ``./.wfnb``.
    """
    from wfnb.errors import check_name
    from wfnb.history.explain import explain

    name = workflow or _default_workflow(store)
    if name is None:
        raise BadArgument(f"wfnb.why({step!r}) needs the workflow outside a notebook: wfnb.why({step!r}, workflow='NAME').")
    return explain(resolve_store(store, create=False), check_name("workflow", name), step)


def _default_workflow(store: Store | str | None) -> str | None:
    session = current_session()
    if session is not None and store is None:
        return session.workflow
    return None





RUN_COLUMNS = ["workflow", "step", "key", "cached", "started", "duration_s", "outputs", "error"]


@api_boundary
def runs(store: Store | str | None = None) -> pd.DataFrame:
    """Every step execution in the store, newest last.

    Cache hits are executions too (``cached`` is True), so the table shows how
    much work the cache saved as well as what was computed.

    Parameters
    ----------
    store
        A store, a store location, or None for the notebook's current store
        (``%wfnb store``, else ``$WFNB_STORE``, else ``./.wfnb``).
    """
    import pandas as pd

    entries = resolve_store(store, create=False).runs()
    frame = pd.DataFrame([{column: entry.get(column) for column in RUN_COLUMNS} for entry in entries], columns=RUN_COLUMNS)
    frame["cached"] = frame["cached"].astype(bool)
    frame["started"] = pd.to_datetime(frame["started"], utc=True, format="ISO8601")
    frame["duration_s"] = frame["duration_s"].astype(float)
    return frame
