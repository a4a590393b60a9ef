"""The shell wfnb was loaded into, until its session is made.

``%load_ext wfnb`` only notes the shell here: the session, and the cache and store it
imports, are made on first use (a step, a ``%wfnb`` command, ``wfnb.runs()``), so that
loading the extension stays fast. This module imports nothing of wfnb for that reason.
"""

from __future__ import annotations

from typing import Any

_waiting: Any = None  # a shell loaded into, whose session is not made yet


def attach(shell: Any) -> None:
    """Note ``shell`` (``%load_ext``, ``%reload_ext``): its session is made when first needed."""
    global _waiting
    _waiting = shell


def take_waiting() -> Any:
    """The shell noted by ``attach`` whose session is still to be made, once; then None."""
    global _waiting
    shell, _waiting = _waiting, None
    return shell
