"""Free the space of objects nothing refers to any more: ``wfnb.gc()`` and ``wfnb gc``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.errors import api_boundary
from wfnb.session import resolve_store
from wfnb.store.gc import DEFAULT_GRACE_S, GcReport, collect

if TYPE_CHECKING:
    from wfnb.store import Store

__all__ = ["GcReport", "gc"]


@api_boundary
def gc(store: Store | str | None = None, *, grace: float = DEFAULT_GRACE_S, dry_run: bool = False) -> GcReport:
    """Remove the objects that no step record and no variant refers to, and say how much was freed.

    Every step record (the cache) and every variant keeps all it names: gc only
    removes leftovers, such as the outputs of a record replaced by ``--force``
    or the inputs stored for a step that then failed. Objects younger than
    ``grace`` seconds are kept, so that a kernel that has just stored its
    outputs but not yet committed its step record never loses them.

    Parameters
    ----------
    store
        A store, its location, or None for the current store.
    grace
        Seconds an unreferenced object is kept after it was last written or used (default one hour).
    dry_run
        Only report what would be removed.
    """
    return collect(resolve_store(store, create=False), grace_s=float(grace), dry_run=dry_run)
