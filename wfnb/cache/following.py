"""What wfnb follows in the kernel from ``%load_ext wfnb`` on, before any step runs.

Module loads (local modules, numpy's seeding functions) and library classes changed by a
plain cell must be seen from the start, so these hooks go in at load time. This module is
kept light on purpose: the rest of the trace (``tracing``) loads with the first step.
"""

from __future__ import annotations

import re
from typing import Any

from wfnb.cache import localmodules, randomness, watch

# A cell that may set an attribute of a class: `X.y = …`, `X.y += …`, `del X.y`, setattr, an accessor.
_MAY_PATCH = re.compile(r"\w\.\w+\s*(=(?!=)|[-+*/|&]=)|\bdel\b|setattr|delattr|register_\w+_accessor")


def install(shell: Any) -> None:
    """Start following the kernel: module loads, and library classes changed by any cell."""
    watch.install()
    localmodules.install()
    randomness.install()
    events = shell.events
    for callback in list(events.callbacks.get("post_run_cell", [])):
        if getattr(callback, "wfnb", False):
            events.unregister("post_run_cell", callback)
    events.register("post_run_cell", _patches_seen(shell))


def _patches_seen(shell: Any) -> Any:
    def seen(result: Any) -> None:
        source = getattr(getattr(result, "info", None), "raw_cell", None)
        if not source or not _MAY_PATCH.search(source):
            return
        try:
            from wfnb.cache import patches

            patches.note_source(shell.transform_cell(source), shell.user_ns)
        except Exception:  # noqa: BLE001 - never break the user's cell
            pass

    seen.wfnb = True  # type: ignore[attr-defined]
    return seen
