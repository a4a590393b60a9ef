"""The content-addressed store: objects, step records and the run log, on disk.

``open_store()`` gives a ``Store``; see docs/store.md for the layout, the object
format and the durability rule. A store holds pickles: trust it like code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfnb.store.codecs import Encoded
    from wfnb.store.core import Store, UnloadableObject, VerifyReport
    from wfnb.store.layout import STORE_FORMAT_VERSION
    from wfnb.store.opening import open_store

__all__ = ["STORE_FORMAT_VERSION", "Encoded", "Store", "UnloadableObject", "VerifyReport", "open_store"]

# Loaded on first use: importing a light module of the store (``wfnb.store.localfs``) must not
# import numpy through the codecs, which would cost ``%load_ext wfnb`` a tenth of a second.
_LAZY = {
    "Encoded": "wfnb.store.codecs",
    "Store": "wfnb.store.core",
    "UnloadableObject": "wfnb.store.core",
    "VerifyReport": "wfnb.store.core",
    "STORE_FORMAT_VERSION": "wfnb.store.layout",
    "open_store": "wfnb.store.opening",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        found = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = found
        return found
    raise AttributeError(f"module 'wfnb.store' has no attribute {name!r}")
