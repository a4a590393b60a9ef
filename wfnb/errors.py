"""Errors wfnb raises, each named for what the user has to fix.

Every message is one paragraph: what is wrong, what was given, how to fix it.
The magics turn these into a one-line ``UsageError`` so that no traceback
through wfnb's internals ever reaches the user.
"""

from __future__ import annotations


class WfnbError(Exception):
    """Base class of every error wfnb raises on purpose."""


class BadArgument(WfnbError):
    """A magic argument, name, path or option value is not acceptable."""


class UnhashableValue(WfnbError):
    """A value's content cannot be hashed, so a cache hit could not be trusted."""


class UnstorableValue(WfnbError):
    """A value cannot be written to the store (it does not pickle)."""


class CorruptObject(WfnbError):
    """An object in the store does not match its checksum or cannot be read."""


class StoreError(WfnbError):
    """The store cannot be opened, read or written (permissions, disk full, bad layout)."""


class StepFailed(WfnbError):
    """The user's own code in a step raised; its traceback was already shown."""
