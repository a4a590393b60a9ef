"""Write tests/data/store-v1: a tiny store in on-disk format 1, checked in to pin that format.

Run once per format version (``python tests/data/make_store_v1.py``), never to
"fix" a failing test: when the format changes, bump STORE_FORMAT_VERSION, copy
this script to make_store_v2.py and keep store-v1 as it is. The values below
are shared with tests/store/test_format_pinned.py.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import numpy as np
import xxhash

HERE = Path(__file__).resolve().parent
TARGET = HERE / "store-v1"


def golden_values() -> dict[str, object]:
    """The values in the golden store, by label; their digest is xxh3-128 of the label."""
    return {
        "json": {"name": "wfnb", "n": [1, 2.5, None, True, "é"], "inf": math.inf},
        "ndarray-c": np.arange(6, dtype="<i4").reshape(2, 3),
        "ndarray-f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "ndarray-struct": np.array([(1, b"ab"), (2, b"c")], dtype=[("i", "<i2"), ("s", "S2")]),
        "pickle": (1, frozenset({"a"}), np.arange(4, dtype=np.uint8), np.arange(3.0)),
        "module": json,
    }


GOLDEN_JSON = {"workflow": "demo", "steps": ["load", "clean"]}
GOLDEN_RECORD_KEY = xxhash.xxh3_128_hexdigest(b"record")
GOLDEN_RUN = {"started": "2024-01-01T00:00:00", "step": "load", "status": "ran"}


def digest_of(label: str) -> str:
    return xxhash.xxh3_128_hexdigest(label.encode())


def main() -> None:
    sys.path.insert(0, str(HERE.parents[1]))
    from wfnb.store import open_store

    if TARGET.exists():
        raise SystemExit(f"{TARGET} exists: golden stores are never rewritten")
    os.environ["WFNB_FSYNC"] = "0"
    store = open_store(TARGET)
    outputs = {}
    for label, value in golden_values().items():
        store.put_object(digest_of(label), store.encode(value))
        outputs[label] = digest_of(label)
    manifest = store.put_json(GOLDEN_JSON)
    store.commit_record(GOLDEN_RECORD_KEY, {"outputs": outputs, "manifest": manifest})
    store.log_run(GOLDEN_RUN)
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
