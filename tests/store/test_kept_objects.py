"""Small objects are read from their file once per store: their verified bytes are kept in memory.

Every hit of a step reads its graph object (its small outputs); on a busy disk opening that
file was most of a trivial hit. An object's bytes never change (its name is their hash), so
the kept copy is the object; each read decodes it anew, so no two reads share a value.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from IPython.utils.capture import capture_output

from wfnb.cache.hashing import hash_value
from wfnb.errors import CorruptObject
from wfnb.store import open_store
from wfnb.store.layout import object_path

_opened: list[str] = []
_listening = False


def _audit(event: str, args: tuple) -> None:
    if _listening and event == "open" and isinstance(args[0], str) and "/objects/" in args[0]:
        _opened.append(args[0])


sys.addaudithook(_audit)  # a hook cannot be removed: it only listens while a test asks


def test_a_small_object_read_once_comes_back_anew_without_its_file(tmp_path) -> None:
    store = open_store(tmp_path / "store")
    value = {"rows": [1, 2, 3], "table": np.arange(10.0)}
    digest = hash_value(value)
    store.put_object(digest, store.encode(value))
    first = store.get_object(digest)
    (store.root / object_path(digest)).unlink()

    again = store.get_object(digest)

    assert again["rows"] == [1, 2, 3] and np.array_equal(again["table"], np.arange(10.0))
    first["rows"].append(4)
    first["table"][0] = -1.0  # what one read gave is its own: the next read does not see it
    third = store.get_object(digest)
    assert third["rows"] == [1, 2, 3] and third["table"][0] == 0.0
    assert again["table"][0] == 0.0


def test_a_small_object_damaged_before_it_was_read_is_still_found(tmp_path) -> None:
    store = open_store(tmp_path / "store")
    digest = hash_value([1, 2])
    store.put_object(digest, store.encode([1, 2]))
    path = store.root / object_path(digest)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(CorruptObject):
        store.get_object(digest)


def test_a_hit_after_a_hit_opens_no_object_file(ip) -> None:
    global _listening
    cell = "%%step double\nx = [21 * 2]"
    with capture_output():
        assert ip.run_cell(cell).success
        assert ip.run_cell(cell).success  # the first hit reads the graph object from its file
        _opened.clear()
        _listening = True
        try:
            assert ip.run_cell(cell).success
        finally:
            _listening = False
    assert _opened == []
    assert ip.user_ns["x"] == [42]
