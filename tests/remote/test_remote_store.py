"""The store on S3 (a real moto server on 127.0.0.1): the core store tests, conditional writes, the read cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import s3fs

from wfnb.errors import BadArgument, CorruptObject, StoreError
from wfnb.store import Store, open_store, settings

DIGEST = "0123456789abcdef0123456789abcdef"


def _fs(s3_server) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_server.endpoint}, skip_instance_cache=True)


def _key(url: str, rel: str) -> str:
    return f"{url.removeprefix('s3://')}/{rel}"


def _object_rel(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


def _gets(server, since: int, rel_part: str) -> int:
    return sum(n for line, n in server.requests(since).items() if line.startswith("GET ") and rel_part in line)


def _other_machine(url: str, tmp_path: Path, name: str) -> Store:
    """The same store opened with another local cache: what a second machine sees."""
    settings.configure(cache_dir=tmp_path / name)
    try:
        return open_store(url)
    finally:
        settings.reset()


# ----- the core store tests, on S3
def test_open_put_get_dedup_and_layout(s3_url, s3_server) -> None:
    store = open_store(s3_url)
    assert str(store.root) == s3_url and repr(store) == f"Store('{s3_url}')"
    arr = np.arange(1000.0)
    assert store.put_object(DIGEST, store.encode(arr)) > 8000
    mark = s3_server.mark()
    assert store.put_object(DIGEST, store.encode(arr)) == 0  # written once
    assert not any(line.startswith("PUT") for line in s3_server.requests(mark))
    np.testing.assert_array_equal(store.get_object(DIGEST), arr)
    assert store.has_object(DIGEST) and not store.has_object("f" * 32)
    assert store.object_size(DIGEST) == store.disk_usage()
    blob = store.put_json({"b": [1, 2], "a": None})
    assert store.get_json(blob) == {"a": None, "b": [1, 2]}
    found = sorted(p.split("/store/", 1)[1] for p in _fs(s3_server).find(s3_url))
    assert found == ["FORMAT", _object_rel(DIGEST), _object_rel(blob)]  # the local layout, key for key
    assert json.loads(_fs(s3_server).cat(_key(s3_url, "FORMAT"))) == {"store_format": 1}
    assert open_store(s3_url).verify().checked == 2


def test_records_runs_and_verify(s3_url) -> None:
    store = open_store(s3_url)
    key = "a" * 32
    assert store.read_record(key) is None
    store.commit_record(key, {"outputs": {"x": DIGEST}, "t": (1, 2)})
    assert store.read_record(key) == {"outputs": {"x": DIGEST}, "t": [1, 2]}
    store.commit_record(key, {"replaced": True})
    assert store.read_record(key) == {"replaced": True}
    for n in (2, 1):
        store.log_run({"started": n, "n": n})
    assert [e["n"] for e in store.runs()] == [1, 2]
    report = store.verify()
    assert report.ok and report.checked == 3


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing"])
def test_a_damaged_object_in_the_bucket_is_detected_moved_and_rewritable(s3_url, s3_server, tmp_path, damage) -> None:
    store = open_store(s3_url)
    arr = np.arange(300.0)
    encoded = store.encode(arr)
    store.put_object(DIGEST, encoded)
    fs, key = _fs(s3_server), _key(s3_url, _object_rel(DIGEST))
    raw = bytearray(fs.cat(key))
    if damage == "flip":
        raw[-3] ^= 1
        fs.pipe(key, bytes(raw))
    elif damage == "truncate":
        fs.pipe(key, bytes(raw[:-1]))
    else:
        fs.rm(key)
    other = _other_machine(s3_url, tmp_path, "cache-b")  # no cached copy there
    with pytest.raises(CorruptObject) as caught:
        other.get_object(DIGEST)
    message = str(caught.value)
    assert DIGEST in message and "\n" not in message
    if damage != "missing":
        assert "corrupt/" in message and not fs.exists(key)
        assert len(fs.find(_key(s3_url, "corrupt"))) == 1  # moved, never deleted
    assert other.put_object(DIGEST, encoded) > 0  # not skipped: the bad object is gone
    np.testing.assert_array_equal(_other_machine(s3_url, tmp_path, "cache-c").get_object(DIGEST), arr)
    assert store.verify().ok


def test_verify_checks_the_bucket_not_the_cache(s3_url, s3_server) -> None:
    store = open_store(s3_url)
    store.put_object(DIGEST, store.encode(np.arange(100.0)))
    fs, key = _fs(s3_server), _key(s3_url, _object_rel(DIGEST))
    raw = bytearray(fs.cat(key))
    raw[-1] ^= 1
    fs.pipe(key, bytes(raw))
    report = store.verify()  # the cached copy is fine; the bucket's is not
    assert [path for path, _ in report.problems] == [_object_rel(DIGEST)]
    assert not fs.exists(key)


def test_a_damaged_cached_copy_is_dropped_not_the_good_object(s3_url, s3_server, s3_env) -> None:
    store = open_store(s3_url)
    store.put_object(DIGEST, store.encode(np.arange(100.0)))
    (cached,) = Path(s3_env["WFNB_CACHE_DIR"]).rglob(DIGEST[2:])
    data = bytearray(cached.read_bytes())
    data[-1] ^= 1
    cached.write_bytes(bytes(data))
    with pytest.raises(CorruptObject):
        store.get_object(DIGEST)
    assert _fs(s3_server).exists(_key(s3_url, _object_rel(DIGEST)))  # the bucket's copy stays
    np.testing.assert_array_equal(store.get_object(DIGEST), np.arange(100.0))  # downloaded again
    assert store.verify().ok


def test_refs_on_s3(s3_url, s3_server) -> None:
    refs = open_store(s3_url).refs
    assert refs.create("workflows/w/tags/best", {"variant": 1})
    assert not refs.create("workflows/w/tags/best", {"variant": 2})
    assert refs.read("workflows/w/tags/best") == {"variant": 1}
    refs.replace("workflows/w/tags/best", {"variant": 3})
    assert refs.read("workflows/w/tags/best") == {"variant": 3}
    refs.replace("workflows/w/HEAD", {"variant": 1})  # a replace of a ref that did not exist
    for n in (2, 1, 10):
        refs.create(f"workflows/w/variants/{n:06d}", {"n": n})
    assert refs.names("workflows/w/variants") == [f"workflows/w/variants/{n:06d}" for n in (1, 2, 10)]
    assert refs.delete("workflows/w/tags/best") and not refs.delete("workflows/w/tags/best")
    for bad in ("../escape", "/abs", "a/../b", "nul\x00"):
        with pytest.raises(StoreError, match="not valid"):
            refs.create(bad, {})
    _fs(s3_server).pipe(_key(s3_url, "refs/workflows/w/HEAD.json"), b"{not json")
    with pytest.raises(CorruptObject, match="damaged"):
        refs.read("workflows/w/HEAD")


def test_open_errors_are_one_clear_paragraph(s3_env, bucket, s3_server, monkeypatch) -> None:
    with pytest.raises(StoreError, match="does not exist.*Create it first"):
        open_store("s3://no-such-bucket-here/store")
    _fs(s3_server).pipe(f"{bucket}/mine/notes.txt", b"mine")
    with pytest.raises(StoreError, match="not a wfnb store.*notes.txt"):
        open_store(f"s3://{bucket}/mine")
    _fs(s3_server).pipe(f"{bucket}/garbage/FORMAT", b"garbage")
    with pytest.raises(StoreError, match="FORMAT file containing 'garbage'"):
        open_store(f"s3://{bucket}/garbage")
    with pytest.raises(StoreError, match="There is no wfnb store"):
        open_store(f"s3://{bucket}/absent", create=False)
    with pytest.raises(StoreError, match="only work on local directories and S3"):
        open_store("gcs://bucket/store")
    monkeypatch.setenv("WFNB_STORAGE_OPTIONS", "{oops")
    with pytest.raises(BadArgument, match="WFNB_STORAGE_OPTIONS.*not valid JSON"):
        open_store(f"s3://{bucket}/store")
    with pytest.raises(BadArgument, match="must be a dict"):
        settings.configure(storage_options="endpoint")  # type: ignore[arg-type]  # a wrong type on purpose: it must be refused


# ----- two writers
def _race(count: int, action) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = action(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_writers_racing_for_one_object_write_it_once(s3_url, s3_server, tmp_path) -> None:
    stores = [_other_machine(s3_url, tmp_path, f"cache-{i}") for i in range(6)]  # separate clients and caches
    arr = np.arange(200_000.0)
    mark = s3_server.mark()
    written = _race(6, lambda i: stores[i].put_object(DIGEST, stores[i].encode(arr)))
    path = f"PUT /{s3_url.removeprefix('s3://')}/{_object_rel(DIGEST)}"
    requests = s3_server.requests(mark)
    assert requests[f"{path} 200"] == 1  # exactly one writer stored it; nobody overwrote it
    assert sorted(w > 0 for w in written) == [False] * 5 + [True]
    assert requests[f"{path} 412"] <= 5  # the others were refused, or found it written
    for store in stores:
        np.testing.assert_array_equal(store.get_object(DIGEST), arr)
    assert stores[0].verify().ok


def test_writers_racing_for_one_ref_and_one_record(s3_url, tmp_path) -> None:
    stores = [_other_machine(s3_url, tmp_path, f"cache-{i}") for i in range(8)]
    won = _race(8, lambda i: stores[i].refs.create("workflows/w/variants/000001", {"writer": i}))
    assert sorted(won) == [False] * 7 + [True]
    winner = won.index(True)
    assert stores[0].refs.read("workflows/w/variants/000001") == {"writer": winner}
    _race(8, lambda i: [stores[i].refs.replace("workflows/w/HEAD", {"writer": i, "n": n}) for n in range(5)])
    head = stores[0].refs.read("workflows/w/HEAD")
    assert head is not None and head["n"] == 4  # a whole document: some writer's last one
    _race(8, lambda i: stores[i].commit_record("b" * 32, {"writer": i, "payload": "x" * 1000}))
    record = stores[0].read_record("b" * 32)
    assert record is not None and record["payload"] == "x" * 1000
    assert stores[0].verify().ok
