"""The store on disk: layout, blob format, names, dedup, corruption, records, runs, FORMAT."""

from __future__ import annotations

import json
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest
import xxhash

from wfnb.errors import CorruptObject, StoreError, UnstorableValue
from wfnb.store import (
    STORE_FORMAT_VERSION,
    Encoded,
    Store,
    UnloadableObject,
    open_store,
)
from wfnb.store.localfs import LocalFiles
from wfnb.store.objects import MAGIC

DIGEST = "0123456789abcdef0123456789abcdef"


def _object_file(store: Store, digest: str) -> Path:
    return store.root / "objects" / digest[:2] / digest[2:]


def _leftovers(store: Store) -> list[str]:
    return sorted(os.listdir(store.root / "tmp"))


# ----- layout and open_store
def test_open_creates_the_layout_and_format(store: Store) -> None:
    assert sorted(p.name for p in store.root.iterdir()) == ["FORMAT", "corrupt", "objects", "records", "refs", "runs", "tmp"]
    assert json.loads((store.root / "FORMAT").read_text()) == {"store_format": STORE_FORMAT_VERSION}
    assert open_store(store.root).root == store.root  # reopening is fine


def test_default_location_is_env_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WFNB_STORE", raising=False)
    assert open_store().root == tmp_path / ".wfnb"
    monkeypatch.setenv("WFNB_STORE", "")  # empty counts as unset
    assert open_store().root == tmp_path / ".wfnb"
    monkeypatch.setenv("WFNB_STORE", str(tmp_path / "elsewhere"))
    assert open_store().root == tmp_path / "elsewhere"
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert open_store("rel").root == tmp_path / "elsewhere" / "rel"  # absolute from the start


def test_a_file_as_location_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    with pytest.raises(StoreError, match="is an existing file"):
        open_store(target)


def test_a_foreign_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a wfnb store.*notes.txt"):
        open_store(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]  # nothing scattered into it


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"store_format": 2}', "format version 2.*newer wfnb"),
        (b'{"store_format": 0}', "not"),
        (b"garbage\x00", "garbage"),
        (b"", "FORMAT file containing ''"),
        (b'{"store_format": "1"}', "FORMAT file containing"),
    ],
)
def test_bad_format_is_refused_with_what_was_found(tmp_path: Path, content: bytes, expected: str) -> None:
    open_store(tmp_path / "s")
    (tmp_path / "s" / "FORMAT").write_bytes(content)
    with pytest.raises(StoreError, match=expected) as caught:
        open_store(tmp_path / "s")
    assert str(tmp_path / "s") in str(caught.value) and "WFNB_STORE" in str(caught.value)


def test_urls_and_bad_fsync_setting_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StoreError, match="only work on local directories and S3"):
        open_store("gcs://bucket/store")  # S3 is tested against a real server in tests/remote
    monkeypatch.setenv("WFNB_FSYNC", "yes")
    with pytest.raises(StoreError, match="WFNB_FSYNC is set to 'yes'"):
        open_store(tmp_path / "s")


def test_open_removes_tmp_files_of_dead_writers_and_old_ones(store: Store) -> None:
    tmp = store.root / "tmp"
    host = LocalFiles(store.root)._tmp_name().rsplit("-", 2)[0]
    dead = tmp / f"{host}-{2**22 + 12345}-deadbeef"  # above any pid_max: never alive
    alive = tmp / f"{host}-{os.getpid()}-cafe"
    other_host = tmp / "otherhost-1-beef"
    old_other_host = tmp / "otherhost-1-old"
    for path in (dead, alive, other_host, old_other_host):
        path.write_bytes(b"partial")
    day_ago = time.time() - 25 * 3600
    os.utime(old_other_host, (day_ago, day_ago))
    open_store(store.root)
    assert sorted(os.listdir(tmp)) == sorted([alive.name, other_host.name])


# ----- names
@pytest.mark.parametrize(
    "bad",
    ["../x", "/etc/passwd", "a" * 31, "a" * 33, "A" * 32, "g" * 32, "a" * 31 + "\x00", "a" * 31 + "\n", "", 12, None],
    ids=repr,
)
def test_bad_names_are_refused_everywhere(store: Store, bad: object) -> None:
    encoded = store.encode(1)
    calls = [
        lambda: store.put_object(bad, encoded),
        lambda: store.get_object(bad),
        lambda: store.has_object(bad),
        lambda: store.object_size(bad),
        lambda: store.get_json(bad),
        lambda: store.read_record(bad),
        lambda: store.commit_record(bad, {}),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="32 lowercase hexadecimal"):
            call()
    assert sorted(os.listdir(store.root / "objects")) == []


# ----- blob format and dedup
def test_blob_layout_is_magic_header_padding_payload(store: Store) -> None:
    arr = np.arange(10, dtype=np.int32)
    written = store.put_object(DIGEST, store.encode(arr))
    raw = _object_file(store, DIGEST).read_bytes()
    assert written == len(raw)
    magic, length, header_hash = struct.unpack_from("<8sIQ", raw)
    assert magic == MAGIC and len(MAGIC) == 8
    header_bytes = raw[20 : 20 + length]
    assert xxhash.xxh3_64_intdigest(header_bytes) == header_hash
    header = json.loads(header_bytes)
    assert header["codec"] == "ndarray" and header["payload_size"] == 40
    payload_offset = len(raw) - 40
    assert payload_offset % 64 == 0 and set(raw[20 + length : payload_offset]) <= {0}
    assert raw[payload_offset:] == arr.tobytes()
    assert header["payload_xxh3_128"] == xxhash.xxh3_128_hexdigest(arr.tobytes())
    assert store.object_size(DIGEST) == len(raw) and store.disk_usage() == len(raw)


def test_putting_the_same_digest_twice_writes_once(store: Store) -> None:
    encoded = store.encode(np.arange(1000.0))
    assert store.put_object(DIGEST, encoded) > 8000
    before = _object_file(store, DIGEST).stat()
    assert store.put_object(DIGEST, encoded) == 0
    after = _object_file(store, DIGEST).stat()
    assert (before.st_ino, before.st_size) == (after.st_ino, after.st_size)  # not rewritten
    assert after.st_mtime_ns >= before.st_mtime_ns  # only freshened, for gc's grace period
    assert store.has_object(DIGEST) and not store.has_object("f" * 32)


def test_json_blobs_are_named_by_their_canonical_bytes(store: Store) -> None:
    first = store.put_json({"b": [1, 2], "a": None})
    assert first == store.put_json({"a": None, "b": [1, 2]})  # key order does not matter
    assert first == xxhash.xxh3_128_hexdigest(b'{"a":null,"b":[1,2]}')
    assert store.get_json(first) == {"a": None, "b": [1, 2]}
    assert len(list((store.root / "objects").rglob("*"))) == 2  # one fan-out dir, one file
    store.put_object(DIGEST, store.encode({"a": 1}))
    with pytest.raises(StoreError, match="not a JSON blob"):
        store.get_json(DIGEST)
    with pytest.raises(UnstorableValue, match="plain JSON"):
        store.put_json({"a": {1, 2}})


def test_a_json_blob_under_the_wrong_name_is_detected(store: Store) -> None:
    digest = store.put_json({"a": 1})
    wrong = "e" * 32
    _object_file(store, wrong).parent.mkdir(parents=True, exist_ok=True)
    os.link(_object_file(store, digest), _object_file(store, wrong))
    with pytest.raises(CorruptObject, match="does not match its name"):
        store.get_json(wrong)
    assert store.get_json(digest) == {"a": 1}


# ----- corruption
def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _damage_payload(path: Path) -> None:
    _flip(path, path.stat().st_size - 3)


def _damage_header(path: Path) -> None:
    raw = path.read_bytes()
    _flip(path, raw.index(b'"shape":[') + len(b'"shape":['))  # a digit of the shape: still valid JSON


def _damage_magic(path: Path) -> None:
    _flip(path, 0)


def _damage_padding(path: Path) -> None:
    raw = path.read_bytes()
    (length,) = struct.unpack_from("<I", raw, 8)
    _flip(path, 20 + length)


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 1)


def _extend(path: Path) -> None:
    with open(path, "ab") as f:
        f.write(b"\x00")


def _zero_length(path: Path) -> None:
    os.truncate(path, 0)


def _zeros(path: Path) -> None:
    path.write_bytes(bytes(path.stat().st_size))


DAMAGES = [_damage_payload, _damage_header, _damage_magic, _damage_padding, _truncate, _extend, _zero_length, _zeros]


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__.strip("_"))
def test_damaged_objects_are_detected_quarantined_and_rewritable(store: Store, damage) -> None:
    arr = np.arange(300.0).reshape(30, 10)
    encoded = store.encode(arr)
    store.put_object(DIGEST, encoded)
    damage(_object_file(store, DIGEST))
    with pytest.raises(CorruptObject) as caught:
        store.get_object(DIGEST)
    message = str(caught.value)
    assert DIGEST in message and "corrupt" in message and "\n" not in message
    assert not _object_file(store, DIGEST).exists()
    (quarantined,) = os.listdir(store.root / "corrupt")
    assert DIGEST[2:] in quarantined and quarantined in message
    assert not store.has_object(DIGEST)
    assert store.put_object(DIGEST, encoded) > 0  # not skipped: the bad file is gone
    np.testing.assert_array_equal(store.get_object(DIGEST), arr)
    assert store.verify().ok


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__.strip("_"))
def test_verify_finds_and_quarantines_damaged_objects(store: Store, damage) -> None:
    store.put_object(DIGEST, store.encode(np.arange(300.0).reshape(30, 10)))
    store.put_object("1" * 32, store.encode("fine"))
    damage(_object_file(store, DIGEST))
    report = store.verify()
    assert report.checked == 2 and not report.ok
    ((path, reason),) = report.problems
    assert path == f"objects/{DIGEST[:2]}/{DIGEST[2:]}" and "moved to corrupt/" in reason
    assert store.verify().ok and store.verify().checked == 1


def test_put_replaces_an_existing_damaged_object(store: Store) -> None:
    encoded = store.encode(np.arange(100))
    store.put_object(DIGEST, encoded)
    _truncate(_object_file(store, DIGEST))
    assert store.put_object(DIGEST, encoded) > 0  # the short file was not taken as "exists"
    assert len(os.listdir(store.root / "corrupt")) == 1
    np.testing.assert_array_equal(store.get_object(DIGEST), np.arange(100))


def test_missing_objects_raise_corrupt(store: Store) -> None:
    with pytest.raises(CorruptObject, match=f"Object {DIGEST} is missing"):
        store.get_object(DIGEST)
    with pytest.raises(CorruptObject, match="missing"):
        store.object_size(DIGEST)


def test_intact_pickles_that_cannot_load_are_not_quarantined(store: Store) -> None:
    payload = b"cwfnb_no_such_module\nGone\n."  # a pickle of a class whose module is gone
    encoded = Encoded("pickle", {"type": "type", "pickle_size": len(payload), "buffers": []}, (payload,))
    store.put_object(DIGEST, encoded)
    with pytest.raises(UnloadableObject, match="intact but cannot be loaded.*No module named 'wfnb_no_such_module'"):
        store.get_object(DIGEST)
    assert store.has_object(DIGEST) and os.listdir(store.root / "corrupt") == []
    assert issubclass(UnloadableObject, CorruptObject)
    assert store.verify().ok  # the bytes are fine


def test_inconsistent_array_meta_is_corrupt(store: Store) -> None:
    store.put_object(DIGEST, Encoded("ndarray", {"dtype": "<f8", "shape": [3], "order": "C"}, (b"\x00" * 16,)))
    with pytest.raises(CorruptObject, match="cannot be decoded"):
        store.get_object(DIGEST)
    assert len(os.listdir(store.root / "corrupt")) == 1


# ----- records
def test_records_commit_and_read_back(store: Store) -> None:
    key = "a" * 32
    assert store.read_record(key) is None
    store.commit_record(key, {"outputs": {"x": DIGEST}, "seconds": 1.5, "t": (1, 2)})
    assert store.read_record(key) == {"outputs": {"x": DIGEST}, "seconds": 1.5, "t": [1, 2]}
    store.commit_record(key, {"replaced": True})
    assert store.read_record(key) == {"replaced": True}
    path = store.root / "records" / "aa" / f"{key}.json"
    assert json.loads(path.read_text())["data"] == {"replaced": True}  # readable with any tool
    assert _leftovers(store) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw.replace(b"true", b"fals"),  # valid JSON, wrong checksum
        lambda raw: raw[: len(raw) // 2],
        lambda raw: b"",
        lambda raw: raw.replace(b"a" * 32, b"b" * 32),  # a record copied under another key
    ],
    ids=["flipped", "truncated", "empty", "wrong-key"],
)
def test_damaged_records_are_quarantined(store: Store, damage) -> None:
    key = "a" * 32
    store.commit_record(key, {"replaced": True})
    path = store.root / "records" / "aa" / f"{key}.json"
    path.write_bytes(damage(path.read_bytes()))
    assert not store.verify().ok
    store.commit_record(key, {"replaced": True})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptObject, match=f"record {key} .* is corrupt"):
        store.read_record(key)
    assert store.read_record(key) is None and len(os.listdir(store.root / "corrupt")) == 2


def test_records_must_be_json_dicts(store: Store) -> None:
    with pytest.raises(UnstorableValue, match="must be a dict"):
        store.commit_record("a" * 32, [1])  # type: ignore[arg-type]  # a wrong type on purpose: it must be refused
    with pytest.raises(UnstorableValue, match="plain JSON"):
        store.commit_record("a" * 32, {"x": object()})
    assert _leftovers(store) == [] and store.read_record("a" * 32) is None


# ----- runs
def test_runs_are_sorted_by_started_then_write_order(store: Store) -> None:
    entries = [
        {"started": "2024-01-02T00:00:00", "n": 1},
        {"started": "2024-01-01T00:00:00", "n": 2},
        {"started": "2024-01-01T00:00:00", "n": 3},  # tie: write order
        {"started": 5.0, "n": 4},
        {"n": 5},
        {"started": 1, "n": 6},
    ]
    for entry in entries:
        store.log_run(entry)
    assert [entry["n"] for entry in store.runs()] == [6, 4, 2, 3, 1, 5]
    (day,) = os.listdir(store.root / "runs")
    assert day == time.strftime("%Y%m%d", time.gmtime()) and len(os.listdir(store.root / "runs" / day)) == 6


def test_a_damaged_run_entry_is_skipped_with_a_warning(store: Store) -> None:
    store.log_run({"started": 1, "n": 1})
    store.log_run({"started": 2, "n": 2})
    assert len(store.runs()) == 2  # which waits for the run log's writer thread: both entries are on disk
    (day,) = os.listdir(store.root / "runs")
    first = sorted((store.root / "runs" / day).iterdir())[0]
    first.write_bytes(first.read_bytes()[:-5])
    with pytest.warns(UserWarning, match="damaged run-log entry"):
        assert store.runs() == [{"started": 2, "n": 2}]
    assert store.verify().ok


def test_verify_counts_everything_and_reports_strays(store: Store) -> None:
    store.put_object(DIGEST, store.encode([1, 2]))
    store.put_json({"a": 1})
    store.commit_record("c" * 32, {})
    store.log_run({"started": 0})
    assert store.verify().checked == 4 and store.verify().ok
    (store.root / "objects" / "stray.txt").write_text("x")
    report = store.verify()
    assert report.problems == (("objects/stray.txt", "not an object: its path is not objects/<2 hex>/<30 hex>"),)
