"""Errors wfnb raises, each named for what the user has to fix; and the names it accepts.

Every message is one paragraph: what is wrong, what was given, how to fix it.
The magics turn these into a one-line ``UsageError``; the Python API raises
them through ``api_boundary``, so that neither shows a traceback through wfnb's
internals: the user's own line, then the message.

Names of steps, workflows and tags end up in file names, refs and command
lines, so ``check_name`` keeps them to a small alphabet that is safe everywhere.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

_Function = TypeVar("_Function", bound=Callable[..., Any])
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class WfnbError(Exception):
    """Base class of every error wfnb raises on purpose."""


class BadArgument(WfnbError):
    """A magic argument, name, path or option value is not acceptable."""


class UnknownName(BadArgument, KeyError):
    """A name looked up by key (a step, an output) that is not there; a ``KeyError`` too, for ``in`` and ``get``."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0]) if self.args else ""


class UnhashableValue(WfnbError):
    """A value's content cannot be hashed, so a cache hit could not be trusted."""


class UnstorableValue(WfnbError):
    """A value cannot be written to the store (it does not pickle)."""


class CorruptObject(WfnbError):
    """An object in the store does not match its checksum or cannot be read."""


class ValuesLetGo(CorruptObject):
    """A variant's values were let go by ``wfnb gc`` (its history stays): a replay computes them again.

    Not damage: a ``CorruptObject`` only so that code that recomputes a missing value handles it too."""


class StoreError(WfnbError):
    """The store cannot be opened, read or written (permissions, disk full, bad layout)."""


class StepFailed(WfnbError):
    """The user's own code in a step raised; its traceback was already shown."""

    changed: tuple[str, ...] = ()  # inputs the failed run had changed (in place, or bound again) when it stopped


class StepInterrupted(StepFailed):
    """The user's own code in a step was interrupted (Ctrl-C): its ``KeyboardInterrupt`` is the cause.

    In a notebook the cell fails with that ``KeyboardInterrupt``, shown as a plain
    cell shows it, and nothing else: an interrupt is not a bug to fix.
    """


class StepNotStored(StepFailed):
    """A step's code ran (or was being restored), but wfnb could not finish storing or restoring its
    result: the disk was full, or the user interrupted wfnb's own work. Nothing half-written was kept."""


def api_boundary(function: _Function) -> _Function:
    """Let a public function raise wfnb's errors as its own: no internal frames, no chained causes.

    The message is the whole story (a failed step's own traceback was already
    shown, once), so what led to it inside wfnb is noise to the user. In
    IPython, ``show_errors_plainly`` also drops the one frame left here.
    """

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            return function(*args, **kwargs)
        except WfnbError as error:
            show_errors_plainly()
            raise error.with_traceback(None) from None

    return call  # type: ignore[return-value]  # the wrapper takes and returns what the function does


def show_errors_plainly(shell: Any = None) -> None:
    """Have IPython show a ``WfnbError`` with the user's frames only, and without its chained causes.

    IPython always shows the frame an exception was raised in, even one marked
    ``__tracebackhide__``; a custom handler for wfnb's own errors is the way to
    leave that frame out. Installed by ``%load_ext wfnb`` and on the first error
    the API raises; another extension's handler is left in place.
    """
    if shell is None:
        if "IPython" not in sys.modules:
            return
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None or getattr(shell, "custom_exceptions", None) not in ((), (WfnbError,)):
        return
    shell.set_custom_exc((WfnbError,), _structured_traceback)


def _structured_traceback(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    """Show the error as IPython shows any other (the front end's ``_showtraceback``), minus wfnb's frames."""
    value.__cause__ = None
    value.__suppress_context__ = True
    tb = without_wfnb_frames(tb)
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %debug, as showtraceback does
    shell._showtraceback(etype, value, shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset))


def without_wfnb_frames(tb: types.TracebackType | None) -> types.TracebackType | None:
    """The traceback ``tb`` without the frames of wfnb's own modules."""
    kept = []
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
            kept.append(tb)
        tb = tb.tb_next
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return rebuilt




_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid step/workflow/tag name, else raise BadArgument."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or set(name) == {"."}:
        raise BadArgument(
            f"{name!r} is not a valid {kind} name: use 1 to 128 letters, digits, '_', '-' or '.' "
            f"(not only dots), e.g. 'clean' or 'model-2'."
        )
    return name
