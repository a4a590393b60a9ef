"""The run log's writer: entries go to disk from a background thread, off a step's hot path.

Writing an entry (a new file renamed into place) was a fifth of a trivial cache hit. The
entry is packed by the caller (its content is fixed then) and written by one thread per
process, in order. Whoever reads the log in this process (``Store.runs``, ``recent_runs``,
``verify``) waits for the entries still queued, and so does interpreter exit. Nothing else
changes: run-log entries were never synced, and step records are written as before.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
from collections.abc import Callable

_queue: queue.Queue[Callable[[], object]] = queue.Queue()
_thread: threading.Thread | None = None
_lock = threading.Lock()


def submit(write: Callable[[], object]) -> None:
    """Queue ``write`` (one entry's file, which keeps its own failure for the store to say)."""
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_work, name="wfnb-runlog", daemon=True)
            _thread.start()
        _queue.put(write)


def wait() -> None:
    """Return once every entry queued so far is on disk (or failed)."""
    if _thread is not None:
        _queue.join()


def _work() -> None:
    while True:
        write = _queue.get()
        try:
            write()
        except Exception:  # noqa: BLE001 - ``write`` keeps its failure; the thread goes on for the next entries
            pass
        finally:
            _queue.task_done()


def _forked() -> None:
    """In a forked child: the parent's thread is not there, and its queue is the parent's business."""
    global _queue, _thread, _lock
    _queue, _thread, _lock = queue.Queue(), None, threading.Lock()


atexit.register(wait)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)
