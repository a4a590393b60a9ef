"""Look after a store: check it (``wfnb.verify()``, ``wfnb verify``, ``%wfnb verify``) and keep it in
bounds (``wfnb.gc()`` / ``wfnb gc``, ``wfnb.disk_usage()`` / ``wfnb du``).

A check makes two passes: every file against its checksum (``Store.verify``), then what the
refs say about each other (``wfnb.history.refcheck``): variants, their parents, tags,
HEAD. A store is clean only if both find nothing. Bounds are chosen by
``wfnb.history.retention`` and applied by ``wfnb.store.gc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.errors import api_boundary
from wfnb.history.refcheck import check_history
from wfnb.history.session import resolve_store
from wfnb.store import VerifyReport
from wfnb.store.gc import DEFAULT_GRACE_S, GcReport, check_grace, collect

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store



@api_boundary
def verify(store: Store | str | None = None) -> VerifyReport:
    """Check every object, record, run entry and ref of the store, and how the refs fit together.

    A damaged file is moved aside (to ``corrupt/``) so that the step that
    produced it runs again instead of loading it; a tag or HEAD naming a
    variant that is gone is moved aside too. Each problem says what was done
    and what to do. A read-only store is checked all the same, and left as it is.

    Parameters
    ----------
    store
        A store, a store location, or None for the current store.
    """
    target = resolve_store(store, create=False)
    files = target.verify()
    history = check_history(target)
    return VerifyReport(files.checked + history.checked, files.problems + tuple(history.problems))





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
    and of cache entries no kept variant uses (see ``wfnb.history.retention``), never of
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
    from wfnb.history.retention import parse_size, plan

    check_grace(float(grace))
    opened = resolve_store(store, create=False)
    limit = parse_size(max_size) if isinstance(max_size, str) else max_size
    chosen, problems = plan(opened, keep_last=keep_last, max_size=limit, grace_s=float(grace))
    report = collect(opened, chosen, grace_s=float(grace), dry_run=dry_run, problems=problems)
    if not dry_run and report.dropped:
        from wfnb.history.letgo import mark_let_go

        mark_let_go(opened, report.dropped)  # so that listings and reads say so (not "damaged")
    return report


@api_boundary
def disk_usage(workflow: str | None = None, store: Store | str | None = None, steps: bool = False) -> pd.DataFrame:
    """What each variant holds in the store: one row per variant (per step with ``steps=True``), with the
    bytes of the objects it needs, those no other variant needs (``only_here``: what dropping its values
    would free), and whether its values are still there."""
    from wfnb.history.retention import usage_frame

    return usage_frame(resolve_store(store, create=False), workflow, steps)
