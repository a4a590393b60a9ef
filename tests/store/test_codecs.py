"""Round trips through the codecs, alone and through a real store on disk."""

from __future__ import annotations

import datetime
import json
import math
import os
import secrets
import subprocess
import sys
import textwrap
import threading
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

from wfnb.errors import UnstorableValue
from wfnb.store import Encoded, Store
from wfnb.store.codecs import ALIGN, aligned_buffer, decode, encode

REPO = Path(__file__).resolve().parents[2]


def _payload(encoded: Encoded) -> bytes:
    return b"".join(bytes(memoryview(part).cast("B")) for part in encoded.parts)


def _through_store(store: Store, value: object) -> object:
    digest = secrets.token_hex(16)  # a fresh name: the same store serves many hypothesis examples
    store.put_object(digest, store.encode(value))
    return store.get_object(digest)


def _assert_same_array(got: object, want: np.ndarray) -> None:
    assert type(got) is np.ndarray
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()  # bytewise: NaN payloads and -0.0 included


# ----- json
@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**200),
        1.5,
        -0.0,
        "",
        "héllo \ud800 \x00",
        [],
        {},
        {"b": 1, "a": [1, 2.5, None, "x", {"z": False}]},
        [[[[]]]],
    ],
)
def test_exact_json_values_use_json_and_round_trip(store: Store, value: object) -> None:
    encoded = encode(value)
    assert encoded.codec == "json"
    got = _through_store(store, value)
    assert got == value and type(got) is type(value)
    if isinstance(value, dict):
        assert list(got) == list(value)  # key order kept


def test_nan_and_infinities_are_json(store: Store) -> None:
    value = [math.nan, math.inf, -math.inf]
    assert encode(value).codec == "json"
    got = _through_store(store, value)
    assert math.isnan(got[0]) and got[1:] == [math.inf, -math.inf]


class _MyInt(int):
    pass


class _MyDict(dict):
    pass


_shared = [1]


@pytest.mark.parametrize(
    "value",
    [
        (1, 2),
        {1: "int key"},
        _MyInt(3),
        _MyDict(a=1),
        OrderedDict(a=1),
        [_shared, _shared],  # aliasing would be lost
        {"t": (1,)},
        b"bytes",
        {1, 2},
        Fraction(1, 3),
        2**20000,  # more digits than int() parses by default
    ],
    ids=lambda v: type(v).__name__,
)
def test_values_json_would_change_use_pickle(store: Store, value: object) -> None:
    assert encode(value).codec == "pickle"
    got = _through_store(store, value)
    assert got == value and type(got) is type(value)


def test_aliasing_and_cycles_survive() -> None:
    inner = [1, 2]
    outer: list = [inner, inner]
    outer.append(outer)
    got = decode(*_parts(encode(outer)))
    assert got[0] is got[1] and got[2] is got


def test_large_plain_data_uses_pickle() -> None:
    assert encode(list(range(200_000))).codec == "pickle"
    assert encode(list(range(1000))).codec == "json"


def _parts(encoded: Encoded) -> tuple[str, dict, bytes]:
    return encoded.codec, json.loads(json.dumps(encoded.meta)), _payload(encoded)


# ----- ndarray
@pytest.mark.parametrize(
    "arr",
    [
        np.arange(12.0).reshape(3, 4),
        np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4)),
        np.array(3.5),
        np.zeros((0, 3)),
        np.zeros((2, 0), order="F"),
        np.arange(10, dtype=">u4"),
        np.array(["a", "bcd"], dtype="U3"),
        np.array([b"x", b"yz"]),
        np.array(["2024-01-01T00:00:00.123456789", "NaT"], dtype="datetime64[ns]"),
        np.array([1, 2], dtype="timedelta64[s]"),
        np.array([1 + 2j, np.nan], dtype=np.complex64),
        np.array([True, False]),
        np.array([(1, 2.5, b"ab"), (3, -1.0, b"")], dtype=[("i", "<i4"), ("f", ">f8"), ("s", "S2")]),
        np.zeros(2, dtype=[(("title", "a"), "<i2", (2, 3)), ("nested", [("x", "u1"), ("y", "f4")])]),
        np.zeros(3, dtype=np.dtype({"names": ["a"], "formats": ["<i4"], "offsets": [4], "itemsize": 12})),
        np.zeros((2, 3), dtype=np.float16)[:, ::2],  # not contiguous
        np.arange(24.0).reshape(2, 3, 4).transpose(1, 0, 2),  # neither C nor F
    ],
    ids=lambda a: f"{a.dtype}-{a.shape}-{'C' if a.flags.c_contiguous else 'F' if a.flags.f_contiguous else 'strided'}",
)
def test_arrays_round_trip(store: Store, arr: np.ndarray) -> None:
    encoded = encode(arr)
    assert encoded.codec == "ndarray"
    got = _through_store(store, arr)
    _assert_same_array(got, arr)
    assert got.flags.writeable
    if arr.flags.f_contiguous and not arr.flags.c_contiguous:
        assert got.flags.f_contiguous
    assert got.ctypes.data % ALIGN == 0 or got.nbytes == 0


def test_array_encoding_does_not_copy() -> None:
    c_order = np.arange(1_000_000.0)
    f_order = np.asfortranarray(np.ones((500, 400)))
    for arr in (c_order, f_order):
        (part,) = encode(arr).parts
        assert np.shares_memory(np.frombuffer(part, np.uint8), arr)


def test_array_decoding_from_a_writable_buffer_does_not_copy() -> None:
    arr = np.arange(1000, dtype=np.int64)
    buf = aligned_buffer(arr.nbytes)
    buf[:] = np.frombuffer(_payload(encode(arr)), np.uint8)
    got = decode("ndarray", encode(arr).meta, buf)
    assert np.shares_memory(got, buf) and got.flags.writeable


def test_read_only_arrays_stay_read_only_and_others_are_writable(store: Store) -> None:
    ro = np.arange(5.0)
    ro.flags.writeable = False
    assert not _through_store(store, ro).flags.writeable
    assert _through_store(store, np.arange(5.0)).flags.writeable
    # decoding plain bytes (read-only) still gives a writable array
    assert decode("ndarray", encode(np.arange(3)).meta, _payload(encode(np.arange(3)))).flags.writeable


@pytest.mark.parametrize(
    "arr",
    [
        np.array([1, "x", None], dtype=object),
        np.zeros(2, dtype=[("a", "O"), ("b", "f8")]),
        np.array(["x", "yy"], dtype=np.dtypes.StringDType()),
        np.zeros(3, dtype=np.dtype(np.float64, metadata={"unit": "m"})),
        np.ma.masked_array([1, 2], mask=[0, 1]),  # a subclass
    ],
    ids=lambda a: f"{type(a).__name__}-{a.dtype}",
)
def test_arrays_npy_cannot_describe_go_to_pickle(store: Store, arr: np.ndarray) -> None:
    assert encode(arr).codec == "pickle"
    got = _through_store(store, arr)
    assert type(got) is type(arr) and got.dtype == arr.dtype
    assert got.dtype.metadata == arr.dtype.metadata
    np.testing.assert_array_equal(got, arr)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    arr=hnp.arrays(
        dtype=hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes() | hnp.array_dtypes(),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
    ),
    fortran=st.booleans(),
)
def test_any_array_round_trips(store: Store, arr: np.ndarray, fortran: bool) -> None:
    if fortran:
        arr = np.asfortranarray(arr)
    _assert_same_array(_through_store(store, arr), arr)


# ----- pickle: frames, objects, functions
def _frames() -> dict[str, pd.DataFrame]:
    idx = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)], names=["k", "n"])
    return {
        "mixed": pd.DataFrame(
            {
                "i": np.array([1, 2, 3], dtype=np.int8),
                "f": [1.5, np.nan, -0.0],
                "s": pd.array(["x", None, "z"], dtype="string[pyarrow]"),
                "str": pd.Series(["x", None, "é"], dtype="str"),
                "cat": pd.Categorical(["u", "v", "u"], categories=["v", "u", "w"], ordered=True),
                "tz": pd.date_range("2024-03-31", periods=3, freq="h", tz="Europe/Paris"),
                "nullable": pd.array([1, None, 3], dtype="Int64"),
                "obj": [{"a": 1}, (2,), None],
            },
            index=idx,
        ),
        "columns": pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=pd.Index([3, 1, 2], name="c")),
        "empty": pd.DataFrame({"a": pd.Series([], dtype="float32")}),
        "series": pd.Series([1, 2], index=pd.Index(["x", "y"], name="i"), name="s").to_frame(),
    }


@pytest.mark.parametrize("label", list(_frames()))
def test_dataframes_round_trip_exactly(store: Store, label: str) -> None:
    frame = _frames()[label]
    encoded = encode(frame)
    assert encoded.codec == "pickle"
    got = _through_store(store, frame)
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert list(got.dtypes) == list(frame.dtypes)
    assert got.index.names == frame.index.names and got.columns.name == frame.columns.name


def test_series_and_indexes_round_trip(store: Store) -> None:
    series = pd.Series(pd.date_range("2024-01-01", periods=4, tz="UTC"), name="when")
    pd.testing.assert_series_equal(_through_store(store, series), series)
    index = pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["x", "y"])
    pd.testing.assert_index_equal(_through_store(store, index), index, exact=True)


def test_restored_frame_columns_are_writable_views_of_one_buffer(store: Store) -> None:
    frame = pd.DataFrame({"a": np.arange(100_000.0), "b": np.arange(100_000)})
    encoded = encode(frame)
    big = [p for p in encoded.parts if memoryview(p).nbytes >= 800_000]
    assert len(big) == 2
    for column in ("a", "b"):
        source = frame[column].to_numpy(copy=False)
        assert any(np.shares_memory(np.frombuffer(p, np.uint8), source) for p in big)
    got = _through_store(store, frame)
    got.iloc[0, 0] = 42.0  # would raise on a read-only block
    assert got.iloc[0, 0] == 42.0 and frame.iloc[0, 0] == 0.0
    column = got["a"].to_numpy(copy=False)
    assert column.ctypes.data % ALIGN == 0


def test_out_of_band_buffers_are_aligned_and_not_copied() -> None:
    arrays = [np.arange(7, dtype=np.uint8), np.arange(1000.0), np.ones((30, 40), order="F")]
    encoded = encode({"k": arrays, "t": (1,)})
    assert encoded.codec == "pickle"
    offsets = [offset for offset, _ in encoded.meta["buffers"]]
    assert len(offsets) == 3 and all(offset % ALIGN == 0 for offset in offsets)
    shared = [any(np.shares_memory(np.frombuffer(p, np.uint8), a) for p in encoded.parts) for a in arrays]
    assert shared == [True, True, True]
    got = decode(*_parts(encoded))
    for want, have in zip(arrays, got["k"]):
        _assert_same_array(have, want)
        assert have.flags.writeable
    assert got["k"][2].flags.f_contiguous


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=hpd.data_frames(
        columns=[
            hpd.column("f", dtype=float),
            hpd.column("i", dtype=np.int32),
            hpd.column("s", elements=st.none() | st.text(max_size=5)),
            hpd.column("t", dtype="datetime64[ns]"),
        ],
        index=hpd.indexes(elements=st.integers(-5, 5) | st.text(max_size=3), max_size=6),
    )
)
def test_any_dataframe_round_trips(store: Store, frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(_through_store(store, frame), frame, check_exact=True)


def test_plain_python_objects_round_trip(store: Store) -> None:
    value = {
        "tuple": (1, (2, 3)),
        "set": frozenset({1, 2}),
        "bytes": bytearray(b"\x00\x01"),
        "date": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
        "np": np.float32(1.5),
        "arrays": [np.arange(3), np.array([[1, 2]], dtype=object)],
        "frame": pd.DataFrame({"a": [1]}),
    }
    got = _through_store(store, value)
    assert got.keys() == value.keys()
    assert got["tuple"] == value["tuple"] and got["set"] == value["set"]
    assert got["bytes"] == value["bytes"] and got["date"] == value["date"]
    assert type(got["np"]) is np.float32 and got["np"] == value["np"]
    pd.testing.assert_frame_equal(got["frame"], value["frame"])


def test_modules_are_stored_by_name(store: Store) -> None:
    import json as json_module

    encoded = encode(json_module)
    assert encoded.codec == "module" and encoded.meta == {"name": "json"} and encoded.parts == ()
    assert _through_store(store, json_module) is json_module
    assert _through_store(store, {"m": os}) == {"m": os}  # inside a container: pickled by reference


def test_functions_and_classes_from_main_are_stored_by_value(tmp_path: Path) -> None:
    """A later process that never defined them can still load and use them."""
    location = tmp_path / "store"
    writer = f"""
        import numpy as np
        from wfnb.store import open_store

        SCALE = 3

        class Point:
            def __init__(self, x):
                self.x = x
            def scaled(self):
                return self.x * SCALE

        def double(v):
            return 2 * v

        store = open_store({str(location)!r})
        store.put_object("1" * 32, store.encode(Point(np.arange(3))))
        store.put_object("2" * 32, store.encode(double))
        store.put_object("3" * 32, store.encode(lambda v: v + SCALE))
    """
    reader = f"""
        from wfnb.store import open_store
        store = open_store({str(location)!r})
        point = store.get_object("1" * 32)
        print(type(point).__name__, point.scaled().tolist(), store.get_object("2" * 32)(21), store.get_object("3" * 32)(1))
    """
    env = {**os.environ, "PYTHONPATH": str(REPO), "WFNB_FSYNC": "0"}
    for script in (writer, reader):
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Point", "[0,", "3,", "6]", "42", "4"]


# ----- unstorable
def _generator():
    yield 1


@pytest.mark.parametrize(
    ("make", "type_named"),
    [
        (_generator, "generator"),
        (lambda: {"lock": threading.Lock()}, "dict"),
        (threading.Lock, "_thread.lock"),
    ],
    ids=["generator", "lock-in-dict", "lock"],
)
def test_unpicklable_values_raise_unstorable_naming_the_type(make, type_named: str) -> None:
    with pytest.raises(UnstorableValue) as caught:
        encode(make())
    message = str(caught.value)
    assert f"type {type_named!r}" in message and "cannot be stored" in message
    assert "del it at the end of the cell" in message and "\n" not in message


def test_deep_nesting_raises_unstorable() -> None:
    deep: list = []
    for _ in range(100_000):
        deep = [deep, (1,)]
    with pytest.raises(UnstorableValue, match="nested too deeply"):
        encode(deep)


def test_reduce_raising_anything_becomes_unstorable() -> None:
    class Weird:
        def __reduce__(self):
            raise AttributeError("no reduce for you")

    with pytest.raises(UnstorableValue, match="AttributeError: no reduce for you"):
        encode(Weird())
