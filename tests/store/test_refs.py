"""Refs: exclusive creation, atomic replacement, listing, damage detection, names that cannot escape."""

from __future__ import annotations

import multiprocessing

import pytest

from wfnb.errors import CorruptObject, StoreError
from wfnb.store import open_store


def test_create_is_exclusive_and_replace_overwrites(tmp_path):
    refs = open_store(tmp_path / "s").refs
    assert refs.create("workflows/w/tags/best", {"variant": 1})
    assert not refs.create("workflows/w/tags/best", {"variant": 2})
    assert refs.read("workflows/w/tags/best") == {"variant": 1}
    refs.replace("workflows/w/tags/best", {"variant": 3})
    assert refs.read("workflows/w/tags/best") == {"variant": 3}
    assert refs.read("workflows/w/tags/none") is None
    assert refs.delete("workflows/w/tags/best") and not refs.delete("workflows/w/tags/best")


def test_names_lists_below_a_prefix(tmp_path):
    refs = open_store(tmp_path / "s").refs
    for n in (2, 1, 10):
        refs.create(f"workflows/w/variants/{n:06d}", {"n": n})
    refs.create("workflows/other/variants/000001", {"n": 1})
    assert refs.names("workflows/w/variants") == [f"workflows/w/variants/{n:06d}" for n in (1, 2, 10)]
    assert refs.names("workflows/missing") == []


@pytest.mark.parametrize("name", ["../escape", "/abs", "a//b", "a/../b", "nul\x00", "..", "a/b c", ""])
def test_names_that_could_escape_are_refused(tmp_path, name):
    refs = open_store(tmp_path / "s").refs
    with pytest.raises(StoreError, match="not valid"):
        refs.create(name, {})


def test_a_damaged_ref_is_reported_moved_aside_and_found_by_verify(tmp_path):
    store = open_store(tmp_path / "s")
    store.refs.create("workflows/w/HEAD", {"variant": 1})
    store.refs.create("workflows/w/tags/t", {"variant": 1})
    path = tmp_path / "s" / "refs" / "workflows" / "w" / "HEAD.json"
    path.write_text(path.read_text().replace('"variant": 1', '"variant": 7'))
    report = store.verify()
    assert not report.ok and "refs/workflows/w/HEAD.json" in report.problems[0][0]
    assert store.refs.read("workflows/w/HEAD") is None  # quarantined by verify
    (tmp_path / "s" / "refs" / "workflows" / "w" / "tags" / "t.json").write_text("{not json")
    with pytest.raises(CorruptObject, match="damaged"):
        store.refs.read("workflows/w/tags/t")


def _claim(root, name, queue):
    queue.put(open_store(root).refs.create(name, {"pid": multiprocessing.current_process().pid}))


def test_only_one_of_many_processes_creates_a_name(tmp_path):
    root = tmp_path / "s"
    open_store(root)
    queue = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(target=_claim, args=(root, "race/x", queue)) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    results = [queue.get(timeout=5) for _ in workers]
    assert sorted(results) == [False, False, False, True]
