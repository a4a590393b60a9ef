"""Content hashes of Python values: equal content gives an equal hash, in any process.

A step's cache key is built from the hashes of the values it reads, so a hash must
change whenever a value could behave differently, and must not depend on the
process: Python's builtin ``hash`` is salted per process and object ids are reused.
Each value is written to a streaming xxh3-128 hasher as a self-delimiting encoding
(``wfnb.cache.encoder``); large buffers (numpy arrays, pandas columns, Arrow
buffers) go to the hasher without a copy (``wfnb.cache.datahash``). The rules
users can rely on are in ``docs/hashing.md``.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

import xxhash

from wfnb.cache import datahash
from wfnb.cache.codeorigin import is_library_module, module_version
from wfnb.cache.encoder import HASH_VERSION, Encoder, add_finder
from wfnb.errors import UnhashableValue

__all__ = ["hash_value", "hash_bytes", "module_version", "is_library_module"]

add_finder(datahash.handler_for)


def hash_value(value: object) -> str:
    """xxh3-128 content hash of a value, as 32 lowercase hex characters.

    Equal content gives an equal hash, in any process and over time (until
    ``HASH_VERSION`` is bumped); a change that code could observe changes it. See
    ``docs/hashing.md`` for the rules per kind of value.

    Parameters
    ----------
    value : object
        Any value: data, containers, numpy and pandas objects, functions, classes,
        modules, or objects that can be pickled.

    Returns
    -------
    str
        32 lowercase hexadecimal characters.

    Raises
    ------
    UnhashableValue
        If the value (or something it contains or reads) has no content to compare,
        such as a generator, a lock or an open file.
    """
    memo_key = _immutable_key(value)
    if memo_key is not None:
        known = _IMMUTABLE_MEMO.get(id(value))
        if known is not None and known[0]() is value and known[1] == memo_key:
            return known[2]
    enc = Encoder()
    enc.write(HASH_VERSION)
    try:
        enc.run(value)
    except UnhashableValue:
        raise
    except Exception as error:  # the value's own code failed while it was read (a __getattr__, a __reduce__)
        raise UnhashableValue(
            f"A value of type {type(value).__name__} could not be hashed: reading it raised "
            f"{type(error).__name__}: {error}."
        ) from error
    enc.flush()
    digest = enc.hasher.hexdigest()
    if memo_key is not None:
        _remember_immutable(value, memo_key, digest)
    return digest


# ---- skipping the re-hash of an input that provably cannot have changed -------------------------
#
# A step hashes every input, and the same large input is read by step after step. Its digest
# may be reused only if the value cannot have changed since: the same object (held through a
# weak reference, so a reused id never matches) whose bytes nothing can write. Python gives no
# such guarantee for a writable array (any view, ctypes or C code may change it), nor for a
# read-only view of writable memory, so only a plain ``np.ndarray`` whose memory belongs to an
# immutable ``bytes`` object qualifies (``np.frombuffer(some_bytes)`` and views of it: numpy
# refuses to make them writable). Its shape, strides and dtype can be reassigned in place, so
# they are part of the memo key. Everything else is hashed every time.

_MEMO_MIN_BYTES = 1 << 20  # below this, hashing is cheaper than the bookkeeping
_IMMUTABLE_MEMO: dict[int, tuple[Any, tuple[object, ...], str]] = {}


def _immutable_key(value: Any) -> tuple[object, ...] | None:
    """What must be unchanged for a memoized digest of ``value`` to hold, or None if it may change."""
    np = sys.modules.get("numpy")
    if np is None or type(value) is not np.ndarray or value.flags.writeable or value.nbytes < _MEMO_MIN_BYTES:
        return None
    if value.dtype.hasobject:  # the bytes are pointers: the objects behind them may change
        return None
    owner = value.base
    while type(owner) is np.ndarray:
        owner = owner.base
    if type(owner) is memoryview and owner.readonly:
        owner = owner.obj
    if type(owner) is not bytes:
        return None
    return (value.__array_interface__["data"][0], value.shape, value.strides, value.dtype.str, id(owner))


def _remember_immutable(value: Any, key: tuple[object, ...], digest: str) -> None:
    ident = id(value)

    def forget(ref: weakref.ref[Any]) -> None:  # the array is gone: its id may be reused
        if _IMMUTABLE_MEMO.get(ident, (None,))[0] is ref:
            del _IMMUTABLE_MEMO[ident]

    _IMMUTABLE_MEMO[ident] = (weakref.ref(value, forget), key, digest)


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """xxh3-128 of raw bytes (any C-contiguous buffer, read without a copy), as 32 hex characters.

    Unlike ``hash_value``, no type tag is added: this names blobs by their bytes.
    """
    if isinstance(data, str):
        raise TypeError("hash_bytes() takes a bytes-like object, not str; encode it first")
    return xxhash.xxh3_128_hexdigest(data)
