"""Keep a store in bounds: ``wfnb.gc()`` / ``wfnb gc`` and ``wfnb.disk_usage()`` / ``wfnb du``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.errors import api_boundary
from wfnb.session import resolve_store
from wfnb.store.gc import DEFAULT_GRACE_S, GcReport, check_grace, collect

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store

__all__ = ["GcReport", "disk_usage", "gc"]


@api_boundary
def gc(
    store: Store | str | None = None,
    *,
    grace: float = DEFAULT_GRACE_S,
    dry_run: bool = False,
    keep_last: int | None = None,
    max_size: int | str | None = None,
) -> GcReport:
    """Remove what the store no longer needs, and say how much was freed.

    Without bounds, every step record (the cache) and every variant keeps all it
    names: gc only removes leftovers, such as the outputs of a record replaced by
    ``--force`` or the inputs stored for a step that then failed. With
    ``keep_last`` and ``max_size`` it also lets go of the values of older variants
    and of cache entries no kept variant uses (see ``wfnb.retention``), never of
    what a pinned, tagged or current variant needs. Works on S3 stores too, and
    then prunes this machine's read cache of them. Objects and records younger
    than ``grace`` seconds are kept, so that a kernel that has just stored its
    outputs but not yet committed its step record never loses them.

    Parameters
    ----------
    store
        A store, its location, or None for the current store.
    grace
        Seconds a record or object is kept after it was last written or used (default one hour).
    dry_run
        Only report what would be removed.
    keep_last
        Per workflow, how many of the newest variants keep their values.
    max_size
        The most the store's objects should take, in bytes or as text (``"20GB"``, ``"500MB"``).
    """
    from wfnb.retention import parse_size, plan

    check_grace(float(grace))
    opened = resolve_store(store, create=False)
    limit = parse_size(max_size) if isinstance(max_size, str) else max_size
    chosen, problems = plan(opened, keep_last=keep_last, max_size=limit, grace_s=float(grace))
    return collect(opened, chosen, grace_s=float(grace), dry_run=dry_run, problems=problems)


@api_boundary
def disk_usage(workflow: str | None = None, store: Store | str | None = None, steps: bool = False) -> pd.DataFrame:
    """What each variant holds in the store: one row per variant (per step with ``steps=True``), with the
    bytes of the objects it needs, those no other variant needs (``only_here``: what dropping its values
    would free), and whether its values are still there."""
    from wfnb.retention import usage_frame

    return usage_frame(resolve_store(store, create=False), workflow, steps)
