"""A writer process for the crash tests: writes until it is killed.

Usage: python _writer.py objects|records STORE_ROOT
Prints "writing" once the store is open and the value encoded, then loops.
"""

from __future__ import annotations

import sys

import numpy as np

from wfnb.store import open_store


def main(mode: str, root: str) -> None:
    store = open_store(root)
    if mode == "objects":
        encoded = store.encode(np.arange(5_000_000, dtype=np.float64))  # 40 MB: a write of tens of ms, not seconds of disk
    else:
        encoded = store.encode(np.arange(1000, dtype=np.float64))
    print("writing", flush=True)
    for i in range(1_000_000):
        digest = f"{i:032x}"
        store.put_object(digest, encoded)
        if mode == "records":
            store.commit_record(f"{i:032x}"[::-1], {"outputs": {"x": digest}, "i": i})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
