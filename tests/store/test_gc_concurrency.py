"""``gc`` running while another process writes never removes what that writer is about to name.

The writer reuses old, unreferenced objects (``put_object`` finds them and
freshens them) and then commits records naming them, while gc collects in a
loop with the default grace period. Every committed record must still find
all of its objects.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np
import pytest

from wfnb.store import open_store

pytest.importorskip("wfnb.store.gc", reason="gc is not part of this checkout yet")
from wfnb.store.gc import collect

COUNT = 300


def _digest(i: int) -> str:
    return f"{i:032x}"


def _writer(root: str, start: multiprocessing.synchronize.Event) -> None:
    os.environ["WFNB_FSYNC"] = "0"
    store = open_store(root)
    start.wait()
    for i in range(COUNT):
        digest = _digest(i)
        store.put_object(digest, store.encode(np.full(100, float(i))))  # exists: freshened, not written
        store.commit_record(_digest(i)[::-1], {"outputs": {"x": digest}})


def test_gc_concurrent_with_a_writer_never_removes_what_it_names(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = open_store(root)
    old = time.time() - 7200
    for i in range(COUNT):
        store.put_object(_digest(i), store.encode(np.full(100, float(i))))
        path = root / "objects" / _digest(i)[:2] / _digest(i)[2:]
        os.utime(path, (old, old))  # unreferenced and two hours old: gc's to take, unless the writer uses it
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    writer = context.Process(target=_writer, args=(str(root), start))
    writer.start()
    start.set()
    collections = removed = 0
    while writer.is_alive():
        removed += len(collect(open_store(root), grace_s=3600).removed)
        collections += 1
    writer.join()
    assert writer.exitcode == 0 and collections > 1
    for i in range(COUNT):
        record = store.read_record(_digest(i)[::-1])
        assert record is not None
        np.testing.assert_array_equal(store.get_object(record["outputs"]["x"]), np.full(100, float(i)))
    assert store.verify().ok
    report = collect(store, grace_s=0)
    assert not report.removed  # everything left is named by a record
