"""Check every object in a store against its checksum: ``wfnb.verify()`` and ``wfnb verify``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.session import resolve_store

if TYPE_CHECKING:
    from wfnb.store import Store


def verify(store: Store | str | None = None):
    """Read every object, record and run entry of the store and report any that is damaged.

    A damaged object is moved aside (to ``corrupt/``) so that the step that
    produced it runs again instead of loading it.

    Parameters
    ----------
    store
        A store, a store location, or None for the current store.
    """
    return resolve_store(store, create=False).verify()
