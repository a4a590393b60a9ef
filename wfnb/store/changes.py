"""In-process notices that a store's refs changed, so that every open browser follows the history.

A variant recorded by a step, a replay or a sweep, a tag, a checkout: each is a
ref written in the store (see ``wfnb.store.refs``), and the refs announce every
write here, naming the store and the ref. Whoever shows that history (the
variant browser) subscribes, whatever ``Store`` object it opened, and whichever
thread wrote. Writes made by other processes (a sweep's workers, another
kernel) are announced by the process that learns of them (``wfnb.history.sweeps``) or
found by a refresh.

This module imports nothing of wfnb, so that the store can depend on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Listener", "announce", "subscribe", "unsubscribe"]

Listener = Callable[[str, str], None]  # (store root as text, ref name such as "workflows/demo/variants/000004")

_listeners: list[Listener] = []
_lock = threading.Lock()


def subscribe(listener: Listener) -> None:
    """Call ``listener(root, ref)`` after each ref write in this process (from any thread)."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def announce(root: object, ref: str) -> None:
    """Tell the listeners that ref ``ref`` of the store at ``root`` was written or removed.

    A listener that raises is dropped: a broken view must never fail a store write.
    """
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(str(root), ref)
        except Exception:  # noqa: BLE001 - see the docstring
            unsubscribe(listener)
