"""The content-addressed store: objects, step records and the run log, on disk.

``open_store()`` gives a ``Store``; see docs/store.md for the layout, the object
format and the durability rule. A store holds pickles: trust it like code.
"""

from __future__ import annotations

from wfnb.store.codecs import Encoded
from wfnb.store.core import Store, UnloadableObject, VerifyReport
from wfnb.store.layout import STORE_FORMAT_VERSION
from wfnb.store.opening import open_store

__all__ = ["STORE_FORMAT_VERSION", "Encoded", "Store", "UnloadableObject", "VerifyReport", "open_store"]
