"""Stores written by earlier versions of wfnb still load: tests/data/store-v1 is format 1, checked in.

If a test here fails after a change to the store code, the on-disk format
changed: bump STORE_FORMAT_VERSION, add tests/data/store-v2 (copy
make_store_v1.py), and decide what happens to version-1 stores. Never
regenerate store-v1.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from wfnb.store import STORE_FORMAT_VERSION, open_store
from wfnb.store.codecs import encode
from wfnb.store.objects import frame

DATA = Path(__file__).resolve().parents[1] / "data"


def _golden() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_store_v1", DATA / "make_store_v1.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WFNB_FSYNC", "0")
    copy = tmp_path / "store-v1"
    shutil.copytree(DATA / "store-v1", copy)  # opening adds tmp/ and corrupt/: never touch the original
    return open_store(copy)


def test_the_current_format_is_the_pinned_one() -> None:
    assert STORE_FORMAT_VERSION == 1, "bumped the format? add tests/data/store-v2 and keep store-v1"
    assert json.loads((DATA / "store-v1" / "FORMAT").read_text()) == {"store_format": 1}


def test_version_1_store_verifies_and_loads(old_store) -> None:
    golden = _golden()
    report = old_store.verify()
    assert report.ok and report.checked == 9, report
    for label, want in golden.golden_values().items():
        got = old_store.get_object(golden.digest_of(label))
        if isinstance(want, np.ndarray):
            assert type(got) is np.ndarray and got.dtype == want.dtype
            assert got.tobytes(order="A") == want.tobytes(order="A") and got.flags.f_contiguous == want.flags.f_contiguous
        elif label == "pickle":
            assert got[:2] == want[:2]
            for have, expected in zip(got[2:], want[2:]):
                np.testing.assert_array_equal(have, expected)
                assert have.flags.writeable
        elif label == "json":
            assert got == want and math.isinf(got["inf"])
        else:
            assert got is want
    record = old_store.read_record(golden.GOLDEN_RECORD_KEY)
    assert record["outputs"] == {label: golden.digest_of(label) for label in golden.golden_values()}
    assert old_store.get_json(record["manifest"]) == golden.GOLDEN_JSON
    assert old_store.runs() == [golden.GOLDEN_RUN]


def test_version_1_objects_are_written_byte_for_byte_the_same(old_store) -> None:
    """Deterministic codecs (not pickle, whose bytes belong to cloudpickle) must not drift."""
    golden = _golden()
    for label, value in golden.golden_values().items():
        if label == "pickle":
            continue
        digest = golden.digest_of(label)
        stored = (old_store.root / "objects" / digest[:2] / digest[2:]).read_bytes()
        assert b"".join(bytes(memoryview(chunk).cast("B")) for chunk in frame(encode(value))) == stored, label
