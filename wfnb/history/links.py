"""What a step read of another workflow's results, noted while it runs and kept for the links shown.

When a step calls ``wfnb.variant(ref)`` or reads one of its outputs, the running
step's watch notes the ref as given and the variant it resolved to (a probe of
kind ``variant``, checked on every hit by ``wfnb.history.upstream``) and which
outputs it read, with their content hashes. Those land in the step's record
(``upstream``) and its variant's manifest (``uses``), so that the browser draws
the link in both workflows without loading values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wfnb.cache.watch import current

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant
    from wfnb.store import Store


def note_variant(ref: Any, workflow: str | None, store: Store, variant: RecordedVariant) -> None:
    """``wfnb.variant(ref)`` resolved to ``variant``: if a step is running, it now depends on that."""
    watch = current()
    if watch is None:
        return
    given = ref if isinstance(ref, str) else f"{variant.workflow}/{variant.name}"
    latest = "/" not in given and given == variant.workflow  # a workflow's name: its current variant
    what = json.dumps({"ref": given, "workflow": workflow, "store": str(store.root), "latest": latest}, sort_keys=True)
    watch.upstream[what] = state_of(variant)
    _use(watch, variant, given)


def note_output(variant: RecordedVariant, name: str, digest: str) -> None:
    """A step running now read output ``name`` of ``variant``."""
    watch = current()
    if watch is not None:
        _use(watch, variant, f"{variant.workflow}/{variant.name}")["outputs"][name] = digest


def _use(watch: Any, variant: RecordedVariant, ref: str) -> dict[str, Any]:
    return watch.uses.setdefault(
        (variant.workflow, variant.number),
        {"workflow": variant.workflow, "variant": variant.name, "identity": variant.identity, "ref": ref, "outputs": {}},
    )


def state_of(variant: RecordedVariant) -> str:
    """What a probe holds: ``prepare/v3 <identity>``."""
    return f"{variant.workflow}/{variant.name} {variant.identity}"


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


def uses_of(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{"prepare/v3": ["clean"]}``: the variants of other workflows a record's step read, and which outputs."""
    found: dict[str, list[str]] = {}
    for use in record.get("upstream") or []:
        if isinstance(use, dict) and isinstance(use.get("workflow"), str) and isinstance(use.get("variant"), str):
            found[f"{use['workflow']}/{use['variant']}"] = sorted(use.get("outputs") or {})
    return found
