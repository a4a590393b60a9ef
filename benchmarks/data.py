"""The data every workload uses: seeded, so each run and each peer sees the same values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

SEED = 20261123


def make_array(n: int) -> np.ndarray:
    """``n`` float64 values in [0, 1): the issue's 400 MB array has 50 M of them."""
    return np.random.default_rng(SEED).random(n)


def make_frame(rows: int) -> pd.DataFrame:
    """4 float64, 1 int64 and 1 string column in pandas' default string dtype (Arrow-backed).

    The strings are 11 ASCII characters (``s`` and ten digits), built straight into
    Arrow buffers so that making 8 M of them takes no Python loop. At 8 M rows the
    frame holds about 440 MB.
    """
    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame({f"f{i}": rng.random(rows) for i in range(4)})
    frame["n"] = rng.integers(0, 1 << 40, rows)
    frame["s"] = pd.Series(make_arrow_strings(rng.integers(0, 10**10, rows)), dtype=default_string_dtype())
    return frame


def make_arrow_strings(numbers: np.ndarray) -> pa.StringArray:
    """``s%010d`` of each number, as an Arrow string array built from its buffers."""
    rows = len(numbers)
    chars = np.empty((rows, 11), np.uint8)
    chars[:, 0] = ord("s")
    rest = numbers.astype(np.int64)
    for column in range(10, 0, -1):
        chars[:, column] = ord("0") + rest % 10
        rest //= 10
    offsets = np.arange(0, (rows + 1) * 11, 11, dtype=np.int32)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(chars.reshape(-1)))


def default_string_dtype() -> object:
    """What ``pd.Series(["a"])`` gets: ``str`` (Arrow-backed, NaN for missing) in pandas 3."""
    return pd.Series(["a"]).dtype


def make_strings(n: int) -> np.ndarray:
    """``n`` distinct Python strings in an object array (some non-ASCII)."""
    return np.array([f"item-{i:08d}-é" if i % 7 == 0 else f"item-{i:08d}" for i in range(n)], dtype=object)


def make_small_frame(shape: tuple[int, int]) -> pd.DataFrame:
    rows, columns = shape
    rng = np.random.default_rng(SEED)
    return pd.DataFrame(rng.random((rows, columns)), columns=[f"c{i}" for i in range(columns)])


def frame_nbytes(frame: pd.DataFrame) -> int:
    """Bytes of the frame's buffers (Arrow strings: offsets and characters)."""
    return int(frame.memory_usage(index=True, deep=True).sum())
