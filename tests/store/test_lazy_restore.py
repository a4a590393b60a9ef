"""The optional lazy restore: ``get_object(digest, lazy=True)`` maps an array instead of reading it.

It must give the same array as the eager read (type, dtype, layout, writability, hash),
never let a write reach the store, and still refuse a damaged header or a missing file.
Other codecs ignore ``lazy`` and are read and verified as usual.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from wfnb.cache.hashing import hash_value
from wfnb.errors import CorruptObject
from wfnb.store import Store

DIGEST = "0123456789abcdef0123456789abcdef"


def _put(store: Store, value: object) -> str:
    digest = hash_value(value)
    store.put_object(digest, store.encode(value))
    return digest


@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12, dtype="<f8").reshape(3, 4),
        np.asfortranarray(np.arange(12, dtype=">i4").reshape(3, 4)),
        np.array([b"ab", b"c"], dtype="S2"),
        np.zeros((2, 3), dtype=[("a", "<i2"), ("b", "<f8")]),
        np.arange(40, dtype=np.int64)[::3],  # non-contiguous: stored contiguous
    ],
    ids=["c-order", "f-order-big-endian", "bytes", "structured", "strided"],
)
def test_a_lazy_array_is_the_eager_array(store: Store, arr: np.ndarray) -> None:
    digest = _put(store, arr)
    eager, lazy = store.get_object(digest), store.get_object(digest, lazy=True)
    assert type(lazy) is np.ndarray  # not np.memmap: it must hash as the eager array does
    assert lazy.dtype == eager.dtype and lazy.shape == eager.shape
    assert lazy.flags.c_contiguous == eager.flags.c_contiguous and lazy.flags.f_contiguous == eager.flags.f_contiguous
    assert lazy.flags.writeable and np.array_equal(lazy, arr)
    assert hash_value(lazy) == hash_value(eager) == digest


def test_writing_to_a_lazy_array_never_reaches_the_store(store: Store) -> None:
    digest = _put(store, np.arange(100_000, dtype=np.float64))
    lazy = store.get_object(digest, lazy=True)
    lazy[:] = -1.0
    assert np.array_equal(store.get_object(digest), np.arange(100_000, dtype=np.float64))
    assert store.verify().ok


def test_a_read_only_array_stays_read_only(store: Store) -> None:
    arr = np.arange(10)
    arr.flags.writeable = False
    lazy = store.get_object(_put(store, arr), lazy=True)
    assert not lazy.flags.writeable
    with pytest.raises(ValueError):
        lazy[0] = 1


@pytest.mark.parametrize("value", [{"a": [1, 2]}, np.zeros(0), np.array([None, 1], dtype=object), (1, 2)])
def test_other_codecs_and_empty_arrays_are_read_as_usual(store: Store, value: object) -> None:
    restored = store.get_object(_put(store, value), lazy=True)
    assert hash_value(restored) == hash_value(value)


def test_a_damaged_header_or_a_missing_object_is_still_refused(store: Store) -> None:
    digest = _put(store, np.arange(1000, dtype=np.float64))
    path = store.root / "objects" / digest[:2] / digest[2:]
    raw = bytearray(path.read_bytes())
    raw[30] ^= 0xFF  # inside the header: its checksum no longer matches
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptObject, match="corrupt"):
        store.get_object(digest, lazy=True)
    assert not path.exists() and os.listdir(store.root / "corrupt")
    with pytest.raises(CorruptObject, match="missing"):
        store.get_object(DIGEST, lazy=True)


def test_a_truncated_file_is_refused_before_it_is_mapped(store: Store) -> None:
    digest = _put(store, np.arange(1000, dtype=np.float64))
    path = store.root / "objects" / digest[:2] / digest[2:]
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(CorruptObject, match="truncated"):
        store.get_object(digest, lazy=True)
