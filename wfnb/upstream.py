"""Results of another workflow read by a step: ``wfnb.variant("prepare/v3").outputs["clean"]``.

A variant of another notebook is an input like a file: what the step read must
be what a hit would give. So when a step calls ``wfnb.variant(ref)`` while it
runs, its trace gets a ``variant`` probe holding the ref *as given* (with the
workflow it was looked up in and the store) and what it resolved to: the
variant's workflow, number and identity (a hash of its steps' keys and
parameters, which fixes every output's content). On every hit the ref is
resolved again: a pinned ref (``"prepare/v3"``) resolves to the same variant
and the step stays cached; "latest" (``"prepare"``, the workflow's current
variant) resolves to a new variant once upstream made one, and the step runs
again, its status line saying ``prepare is now prepare/v4``. A ref that no
longer resolves (a variant removed, a store out of reach) makes the step run,
with one line saying so.

Which outputs the step read (and their content hashes) is kept in its record
(``upstream``) and in its variant's manifest (``uses``), so that the browser
can draw the link in both workflows without loading values.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:
    from wfnb.records import Variant
    from wfnb.store import Store

_stores: dict[str, Store] = {}  # stores opened to check a probe, by root (a hit should not re-open them)


def note_variant(ref: Any, workflow: str | None, store: Store, variant: Variant) -> None:
    """``wfnb.variant(ref)`` resolved to ``variant``: if a step is running, it now depends on that."""
    from wfnb.watch import current

    watch = current()
    if watch is None:
        return
    given = ref if isinstance(ref, str) else f"{variant.workflow}/{variant.name}"
    latest = "/" not in given and given == variant.workflow  # a workflow's name: its current variant
    what = json.dumps({"ref": given, "workflow": workflow, "store": str(store.root), "latest": latest}, sort_keys=True)
    watch.upstream[what] = state_of(variant)
    _use(watch, variant, given)


def note_output(variant: Variant, name: str, digest: str) -> None:
    """A step running now read output ``name`` of ``variant``."""
    from wfnb.watch import current

    watch = current()
    if watch is not None:
        _use(watch, variant, f"{variant.workflow}/{variant.name}")["outputs"][name] = digest


def _use(watch: Any, variant: Variant, ref: str) -> dict[str, Any]:
    return watch.uses.setdefault(
        (variant.workflow, variant.number),
        {"workflow": variant.workflow, "variant": variant.name, "identity": variant.identity, "ref": ref, "outputs": {}},
    )


def state_of(variant: Variant) -> str:
    """What a probe holds: ``prepare/v3 <identity>``."""
    return f"{variant.workflow}/{variant.name} {variant.identity}"


def observe(what: str) -> str:
    """Resolve the probe's ref again, as the step did (raises if it no longer resolves)."""
    from wfnb.snapshots import resolve
    from wfnb.store import open_store

    spec = json.loads(what)
    root = spec["store"]
    store = _stores.get(root)
    if store is None:
        store = _stores[root] = open_store(root, create=False)
    return state_of(resolve(store, spec["ref"], spec.get("workflow")))


def describe_ref(what: str) -> str:
    """The ref as the step gave it: ``prepare/v3``, or ``prepare (its current variant)``."""
    try:
        spec = json.loads(what)
        ref = str(spec["ref"])
    except (ValueError, KeyError, TypeError):
        return "a variant of another workflow"
    return f"{ref} (its current variant)" if spec.get("latest") else ref


def describe_probe(what: str, now: str | None) -> str:
    """The status line's reason: ``prepare is now prepare/v4``, or that the ref no longer resolves."""
    try:
        ref = str(json.loads(what)["ref"])
    except (ValueError, KeyError, TypeError):
        ref = "a variant of another workflow"
    if now is None:
        return f"the variant {ref} it read cannot be found now"
    return f"{ref} is now {_short(now)}"


def describe_change(what: str, old: str, new: str) -> str:
    """For ``wfnb why``: ``prepare (its current variant) was prepare/v3, now prepare/v4``."""
    same = _short(old) == _short(new)
    then, now = (old, new) if same else (_short(old), _short(new))
    return f"{describe_ref(what)} was {then}, now {now}" + (" (the same number, another identity: it was recorded again)" if same else "")


def _short(state: str) -> str:
    return state.split(" ", 1)[0]


# ---- links, for the browser ----------------------------------------------------------------------


def uses_of(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{"prepare/v3": ["clean"]}``: the variants of other workflows a record's step read, and which outputs."""
    found: dict[str, list[str]] = {}
    for use in record.get("upstream") or []:
        if isinstance(use, dict) and isinstance(use.get("workflow"), str) and isinstance(use.get("variant"), str):
            found[f"{use['workflow']}/{use['variant']}"] = sorted(use.get("outputs") or {})
    return found


def dependents(store: Store, workflow: str, number: int, others: Iterable[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Who read variant ``workflow/v<number>``: ``(other workflow/vN, step, outputs read)`` for each
    step of a variant of ``others`` that did, read from their manifests."""
    from wfnb.snapshots import list_variants

    target = f"{workflow}/v{number}"
    found = []
    for other in others:
        for variant in list_variants(store, other):
            for step, uses in variant.steps.uses().items():
                if target in uses:
                    found.append((f"{variant.workflow}/{variant.name}", step, tuple(uses[target])))
    return found
