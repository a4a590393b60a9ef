"""Check a whole store: ``wfnb.verify()``, ``wfnb verify`` and ``%wfnb verify``.

Two passes: every file against its checksum (``Store.verify``), then what the
refs say about each other (``wfnb.refcheck``): variants, their parents, tags,
HEAD. A store is clean only if both find nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.errors import api_boundary
from wfnb.refcheck import check_history
from wfnb.session import resolve_store
from wfnb.store import VerifyReport

if TYPE_CHECKING:
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
