"""Big blobs: the payload checksum is computed on a second thread while the payload is written.

The file must be byte for byte what the one-thread framing writes (the format is pinned),
verified on every read like any other, and never visible before its header is final.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wfnb.errors import CorruptObject
from wfnb.store import Store
from wfnb.store.codecs import encode
from wfnb.store.objects import frame

DIGEST = "fedcba9876543210fedcba9876543210"
BIG = 3 << 20  # float64 values: 24 MiB, past the size at which the checksum moves to a thread


def _object_file(store: Store, digest: str) -> Path:
    return store.root / "objects" / digest[:2] / digest[2:]


def _big_array() -> np.ndarray:
    return np.random.default_rng(7).random(BIG)


def test_a_big_payload_is_checksummed_on_another_thread_while_written(store: Store) -> None:
    arr = _big_array()
    seen: list[tuple[str, int]] = []

    def profile(frame: Any, event: str, arg: object) -> None:
        if event == "call":
            seen.append((frame.f_code.co_name, threading.get_ident()))

    threading.setprofile(profile)
    try:
        store.put_object(DIGEST, store.encode(arr))
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]
    others = {name for name, ident in seen if ident != threading.get_ident()}
    assert "_payload_digest" in others, f"no checksum on a second thread; calls seen there: {sorted(others)}"
    expected = b"".join(bytes(memoryview(chunk).cast("B")) for chunk in frame(encode(arr)))
    assert _object_file(store, DIGEST).read_bytes() == expected  # the same bytes as the one-thread framing
    assert np.array_equal(store.get_object(DIGEST), arr)
    assert os.listdir(store.root / "tmp") == []


def test_a_damaged_big_payload_is_still_caught_on_read(store: Store) -> None:
    arr = _big_array()
    store.put_object(DIGEST, store.encode(arr))
    path = _object_file(store, DIGEST)
    with open(path, "r+b") as f:
        f.seek(os.path.getsize(path) - BIG * 4)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    with pytest.raises(CorruptObject, match="checksum"):
        store.get_object(DIGEST)


def test_a_failed_big_write_leaves_nothing_and_no_placeholder_header(store: Store) -> None:
    arr = _big_array()
    encoded = store.encode(arr)
    strided = memoryview(np.arange(8.0)[::2])  # the write refuses it, after the payload
    broken = type(encoded)(encoded.codec, encoded.meta, (*encoded.parts, strided))
    with pytest.raises(BufferError):
        store.put_object(DIGEST, broken)
    assert not _object_file(store, DIGEST).exists()
    assert os.listdir(store.root / "tmp") == []
    store.put_object(DIGEST, encoded)  # a later write of the name is not skipped
    assert np.array_equal(store.get_object(DIGEST), arr)
