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

The probe is noted while the step runs by ``wfnb.history.links``; this module
checks it, and ``register`` adds the ``variant`` kind to the cache's probes
(``probes.add_kind``), so that the cache layer needs to know nothing of variants.
It also finds, for the browser, which steps of other workflows read a variant.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from wfnb.cache import probes
from wfnb.history.links import describe_probe, state_of
from wfnb.history.snapshots import list_variants, resolve
from wfnb.store import open_store

if TYPE_CHECKING:
    from wfnb.store import Store

_stores: dict[str, Store] = {}  # stores opened to check a probe, by root (a hit should not re-open them)


def observe(what: str) -> str:
    """Resolve the probe's ref again, as the step did (raises if it no longer resolves)."""
    spec = json.loads(what)
    root = spec["store"]
    store = _stores.get(root)
    if store is None:
        store = _stores[root] = open_store(root, create=False)
    return state_of(resolve(store, spec["ref"], spec.get("workflow")))


def dependents(store: Store, workflow: str, number: int, others: Iterable[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Who read variant ``workflow/v<number>``: ``(other workflow/vN, step, outputs read)`` for each
    step of a variant of ``others`` that did, read from their manifests."""
    target = f"{workflow}/v{number}"
    found = []
    for other in others:
        for variant in list_variants(store, other):
            for step, uses in variant.steps.uses().items():
                if target in uses:
                    found.append((f"{variant.workflow}/{variant.name}", step, tuple(uses[target])))
    return found


def register() -> None:
    """Let the cache check ``variant`` probes: called when the modules that make a ``StepRunner`` load
    (``session``, ``replay``). Until then such a probe cannot be taken, and its step runs."""
    probes.add_kind("variant", observe, describe_probe)
