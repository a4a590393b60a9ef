"""gc's last step, retiring an object, against a writer that reuses it: neither order loses it."""

from __future__ import annotations

import os
import time

import numpy as np

from wfnb.store import open_store
from wfnb.store.layout import object_path


def _old_object(tmp_path):
    store = open_store(tmp_path / "s")
    value = np.arange(1000)
    digest = "ab" * 16
    store.put_object(digest, store.encode(value))
    path = store.root / object_path(digest)
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    return store, digest, path


def test_an_object_freshened_before_it_is_moved_aside_is_put_back(tmp_path):
    store, digest, path = _old_object(tmp_path)
    assert store.has_object(digest)  # the writer reuses it: freshened now
    assert not store._files.retire(object_path(digest), cutoff=time.time() - 3600)
    assert path.exists() and np.array_equal(store.get_object(digest), np.arange(1000))
    assert not list((store.root / "tmp").iterdir())


def test_a_writer_coming_after_the_retirement_writes_the_object_again(tmp_path):
    store, digest, path = _old_object(tmp_path)
    assert store._files.retire(object_path(digest), cutoff=time.time() - 3600)
    assert not path.exists()
    assert not store.has_object(digest)
    assert store.put_object(digest, store.encode(np.arange(1000))) > 0
    assert np.array_equal(store.get_object(digest), np.arange(1000))


def test_freshening_a_retired_object_says_so(tmp_path):
    store, digest, path = _old_object(tmp_path)
    path.unlink()
    assert store._files.freshen(object_path(digest)) is False
