"""The fast paths decide exactly as the slow general path would (wfnb.cache.hashing, wfnb.store).

A fast path may change how fast a value is hashed or restored, never whether a step is
a hit. Each test compares a fast path with a slow, obviously correct reference on the
same values: two values hash equal exactly when their reference keys (built from plain
Python objects and C-order bytes, with no buffer tricks) are equal; the Arrow path for
object strings gives the same digest as the loop; the memo of immutable inputs gives the
digest a fresh hash would, and only for values nothing can change; and every codec the
fast paths use round-trips losslessly.
"""

from __future__ import annotations

import gc
import struct

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from wfnb.cache import datahash, hashing
from wfnb.cache.hashing import hash_value
from wfnb.store import open_store

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- numpy: contiguous buffers, strided views, chunked copies --------------------------------

DTYPES = st.sampled_from(["<i1", "<u2", "<i4", ">i4", "<i8", "<f4", "<f8", ">f8", "<c16", "?", "<M8[ns]", "<m8[s]", "S3", "<U2"])


@st.composite
def array_pairs(draw):
    """Two arrays over a tiny alphabet (so that equal contents are common), each maybe a strided view."""
    dtype = np.dtype(draw(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    pool = draw(st.lists(hnp.from_dtype(dtype), min_size=1, max_size=2))
    raw = [draw(hnp.arrays(dtype, shape, elements=st.sampled_from(pool))) for _ in range(2)]
    if draw(st.booleans()):
        raw[1] = raw[0].copy()
    if dtype.kind in "iuf" and draw(st.booleans()):  # the same numbers in another numeric dtype
        with np.errstate(all="ignore"):
            raw[1] = raw[1].astype(draw(st.sampled_from(["<i8", "<f8", "<f4", "<u2"])))
    return [draw(_layout(arr)) for arr in raw]


@st.composite
def _layout(draw, arr):
    """The same values laid out differently: C, F, or a strided view into a bigger array."""
    how = draw(st.sampled_from(["c", "f", "strided", "reversed"]))
    if how == "f":
        return np.asfortranarray(arr)
    if how == "strided":
        big = np.zeros(tuple(2 * n for n in arr.shape), dtype=arr.dtype)
        view = big[tuple(slice(None, None, 2) for _ in arr.shape)]
        view[...] = arr
        return view
    if how == "reversed":
        flipped = np.ascontiguousarray(arr[::-1])
        return flipped[::-1]
    return arr


def slow_array_key(arr: np.ndarray) -> tuple:
    """What an array is, through no fast path: dtype, shape, and a C-order copy of its bytes."""
    return (arr.dtype.str, arr.shape, arr.tobytes(order="C"))


@PROPERTY
@given(array_pairs())
def test_array_hashes_decide_like_their_c_order_bytes(pair):
    a, b = pair
    assert (hash_value(a) == hash_value(b)) == (slow_array_key(a) == slow_array_key(b))
    assert hash_value(a) == hash_value(np.ascontiguousarray(a))  # zero-copy path vs chunked copies


def test_large_strided_views_go_through_bounded_chunks_and_hash_like_copies():
    big = np.random.default_rng(0).random((1100, 1024))  # rows of 8 KiB: many 4 MiB chunks
    view = big[::2, ::3]
    assert not view.flags.c_contiguous
    assert hash_value(view) == hash_value(view.copy())
    column = np.asfortranarray(big)[:, 5]
    assert hash_value(column) == hash_value(column.copy())


# ---- pandas: column by column from numpy and Arrow buffers ------------------------------------

TZS = ["UTC", "Europe/Paris", "Asia/Tokyo"]
KINDS = ["float", "int", "str", "pystr", "category", "datetime_tz", "Int64", "boolean"]


@st.composite
def frame_specs(draw):
    """A frame as plain data: columns of a few kinds, values from tiny alphabets, maybe a MultiIndex."""
    rows = draw(st.integers(0, 5))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
    columns = []
    for kind in kinds:
        if kind == "float":
            values = draw(st.lists(st.sampled_from([0.0, 1.5, float("nan"), -0.0]), min_size=rows, max_size=rows))
        elif kind in ("int", "Int64"):
            values = draw(st.lists(st.sampled_from([0, 7] + ([None] if kind == "Int64" else [])), min_size=rows, max_size=rows))
        elif kind == "boolean":
            values = draw(st.lists(st.sampled_from([True, False, None]), min_size=rows, max_size=rows))
        elif kind == "datetime_tz":
            values = draw(st.lists(st.sampled_from([0, 10**12, None]), min_size=rows, max_size=rows))
        else:
            values = draw(st.lists(st.sampled_from(["a", "bé", "", None]), min_size=rows, max_size=rows))
        extra = {}
        if kind == "category":
            extra["categories"] = draw(st.permutations(["a", "bé", ""]))
        if kind == "datetime_tz":
            extra["tz"] = draw(st.sampled_from(TZS))
        columns.append({"kind": kind, "values": values, **extra})
    names = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=len(columns), max_size=len(columns)))
    multi = draw(st.booleans())
    labels = draw(st.lists(st.sampled_from([1, 2]), min_size=rows, max_size=rows))
    second = draw(st.lists(st.sampled_from(["p", "q"]), min_size=rows, max_size=rows))
    return {"columns": columns, "names": names, "labels": labels, "second": second if multi else None}


def build_frame(spec: dict, layout: str) -> pd.DataFrame:
    data = {}
    for i, column in enumerate(spec["columns"]):
        data[i] = _build_column(column)
    frame = pd.DataFrame(data)
    frame.columns = spec["names"]
    if spec["second"] is None:
        frame.index = pd.Index(spec["labels"], dtype="int64", name="k")
    else:
        frame.index = pd.MultiIndex.from_arrays([spec["labels"], spec["second"]], names=["k", "j"])
    if layout == "copy":
        return frame.copy()
    if layout == "split" and len(frame) > 1:  # new blocks, Arrow columns in two chunks
        return pd.concat([frame.iloc[:1], frame.iloc[1:]])
    return frame


def _build_column(column: dict) -> pd.Series:
    kind, values = column["kind"], column["values"]
    if kind == "float":
        return pd.Series(values, dtype="float64")
    if kind == "int":
        return pd.Series(values, dtype="int64")
    if kind == "Int64":
        return pd.Series(values, dtype="Int64")
    if kind == "boolean":
        return pd.Series(values, dtype="boolean")
    if kind == "str":
        return pd.Series(values, dtype=pd.Series(["a"]).dtype)  # pandas' default: Arrow-backed
    if kind == "pystr":
        return pd.Series(values, dtype="string[python]")
    if kind == "category":
        return pd.Series(pd.Categorical(values, categories=column["categories"]))
    stamps = pd.to_datetime([v if v is None else v for v in values], unit="ns", utc=True)
    return pd.Series(stamps).dt.tz_convert(column["tz"])


def _canon(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return ("missing",)
    if isinstance(value, float):
        return ("f", struct.pack("<d", value)) if value == value else ("nan",)
    return (type(value).__name__, value)


def slow_frame_key(frame: pd.DataFrame) -> tuple:
    """A frame as plain Python objects: column labels, dtypes, index, each column's values."""
    columns = []
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        if isinstance(series.dtype, pd.CategoricalDtype):
            values = (tuple(series.cat.categories), series.cat.ordered, tuple(series.cat.codes))
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            values = tuple(None if pd.isna(v) else v.value for v in series)
        else:
            values = tuple(_canon(v) for v in series.tolist())
        columns.append((str(series.dtype), values))
    index = frame.index
    if isinstance(index, pd.MultiIndex):
        levels = [index.get_level_values(i) for i in range(index.nlevels)]
        index_key = ("multi", tuple(index.names), tuple((str(level.dtype), tuple(level)) for level in levels))
    else:
        index_key = (type(index).__name__, index.name, str(index.dtype), tuple(index))
    return (tuple(frame.columns), index_key, tuple(columns))


@PROPERTY
@given(frame_specs(), frame_specs(), st.sampled_from(["plain", "copy", "split"]), st.sampled_from(["plain", "copy", "split"]), st.booleans())
def test_frame_hashes_decide_like_their_python_values(spec_a, spec_b, layout_a, layout_b, same):
    if same:
        spec_b = spec_a
    a, b = build_frame(spec_a, layout_a), build_frame(spec_b, layout_b)
    assert (hash_value(a) == hash_value(b)) == (slow_frame_key(a) == slow_frame_key(b))


@pytest.mark.parametrize("na_value", [pd.NA, np.nan], ids=["string[pyarrow]", "str"])
def test_string_columns_with_missing_values_hash_from_buffers_like_their_values(na_value):
    """The same strings hash alike however Arrow holds them: in one chunk, in two, or as a slice of a longer
    array (its buffers start before the values); one value changed changes the hash."""
    dtype = pd.StringDtype("pyarrow", na_value=na_value)
    values = ["a", None, "ccc", None, "dd"]
    whole = pd.Series(values, dtype=dtype)
    rechunked = pd.concat([pd.Series(values[:2], dtype=dtype), pd.Series(values[2:], dtype=dtype)], ignore_index=True)
    sliced = pd.Series(["zz"] + values, dtype=dtype).iloc[1:].reset_index(drop=True)
    assert rechunked.dtype == sliced.dtype == whole.dtype
    assert rechunked.array._pa_array.num_chunks == 2 and sliced.array._pa_array.chunk(0).offset == 1
    assert hash_value(rechunked) == hash_value(whole) == hash_value(sliced)
    changed = pd.Series(["a", None, "ccc", "x", "dd"], dtype=dtype)
    assert hash_value(changed) != hash_value(whole)


def test_long_string_columns_stream_their_lengths_and_hash_like_any_chunking():
    n = 600_000  # the lengths are fed in pieces of 524,288: this crosses a piece boundary
    values = [None if i % 97 == 0 else f"v{i % 1000}" for i in range(n)]
    whole = pa.array(values, type=pa.large_string())
    pieces = pa.chunked_array([whole.slice(0, 1), whole.slice(1, 524_290), whole.slice(524_291)])
    narrow = pa.chunked_array([pa.array(values[:350_000]), pa.array(values[350_000:])])  # 32-bit offsets
    assert hash_value(whole) == hash_value(pieces) == hash_value(narrow)
    changed = values.copy()
    changed[560_000] = "other"
    assert hash_value(pa.array(changed, type=pa.large_string())) != hash_value(whole)
    moved = values.copy()
    moved[550_000], moved[550_001] = moved[550_000] + moved[550_001][0], moved[550_001][1:]
    assert "".join(v or "" for v in moved) == "".join(v or "" for v in values)
    assert hash_value(pa.array(moved)) != hash_value(whole)  # same bytes, other lengths


# ---- object-dtype strings: Arrow's UTF-8 conversion vs the Python loop ----------------------

STRINGS = st.lists(st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs", "Cs", "So"]), max_size=6), min_size=1, max_size=40)


@PROPERTY
@given(STRINGS)
def test_object_strings_through_arrow_hash_exactly_as_through_the_loop(strings):
    arr = np.array(strings + [""], dtype=object)[:-1]
    saved = datahash._ARROW_STRINGS_FROM
    try:
        datahash._ARROW_STRINGS_FROM = 1
        fast = hash_value(arr)
        datahash._ARROW_STRINGS_FROM = 1 << 62
        assert hash_value(arr) == fast
    finally:
        datahash._ARROW_STRINGS_FROM = saved


def test_the_arrow_path_is_taken_for_long_arrays_and_refuses_surrogates(monkeypatch):
    strings = np.array([f"s{i}é" for i in range(70_000)], dtype=object)
    taken = []
    original = datahash._feed_strings_arrow
    monkeypatch.setattr(datahash, "_feed_strings_arrow", lambda *a: taken.append(original(*a)) or taken[-1])
    fast = hash_value(strings)
    assert taken == [True]
    strings[3] = "\ud800"  # a lone surrogate: Arrow refuses it, the loop encodes it
    with_surrogate = hash_value(strings)
    assert taken == [True, False]
    monkeypatch.setattr(datahash, "_ARROW_STRINGS_FROM", 1 << 62)
    assert hash_value(strings) == with_surrogate
    strings[3] = "s3é"
    assert hash_value(strings) == fast


def test_str_subclasses_and_mixed_arrays_take_the_general_path():
    class Name(str):
        pass

    plain = np.array(["a", "b"] * 40_000, dtype=object)
    sub = plain.copy()
    sub[0] = Name("a")
    mixed = plain.copy()
    mixed[0] = None
    assert len({hash_value(plain), hash_value(sub), hash_value(mixed)}) == 3


# ---- skipping the re-hash of inputs that cannot change ------------------------------------------

MIB = 1 << 20


def test_an_array_over_immutable_bytes_is_hashed_once_and_correctly():
    data = np.random.default_rng(1).random(MIB // 8 + 8).tobytes()
    arr = np.frombuffer(data, dtype=np.float64)
    first = hash_value(arr)
    assert id(arr) in hashing._IMMUTABLE_MEMO
    assert hash_value(arr) == first == hash_value(arr.copy())  # the memo gives what a fresh hash gives
    view = arr[1:]
    assert hash_value(view) == hash_value(view.copy())
    arr.shape = (8, -1)  # shape (and strides, dtype) can be reassigned in place: part of the key
    assert hash_value(arr) == hash_value(arr.copy()) != first
    ident = id(arr)
    del arr, view
    gc.collect()
    assert ident not in hashing._IMMUTABLE_MEMO  # a recycled id can never match


def test_nothing_that_can_change_is_memoized():
    writable = np.zeros(MIB, dtype=np.uint8)
    frozen_view = writable.view()
    frozen_view.flags.writeable = False  # read-only view, writable memory: the base can change it
    mapped = np.frombuffer(bytearray(MIB), dtype=np.uint8)  # a mutable owner
    mapped_ro = mapped.view()
    mapped_ro.flags.writeable = False
    for value in (writable, frozen_view, mapped_ro):
        hash_value(value)
        assert id(value) not in hashing._IMMUTABLE_MEMO
    assert hashing._immutable_key(np.frombuffer(bytes(100), np.uint8)) is None  # small: not worth it
    before = hash_value(frozen_view)
    writable[0] = 1
    assert hash_value(frozen_view) != before
    before = hash_value(mapped_ro)
    mapped[5] = 1
    assert hash_value(mapped_ro) != before


def test_a_step_reading_an_immutable_input_still_hits_and_misses_correctly(ip, probe):
    ip.run_cell("import numpy as np\ndata = np.arange(200_000, dtype=np.float64).tobytes()\narr = np.frombuffer(data)")
    cell = "%%step total\nprobe.hit()\nt = arr.sum()"
    for _ in range(2):
        assert ip.run_cell(cell).success
    assert probe.count() == 1
    ip.run_cell("arr = np.frombuffer(data)[::-1]")  # a new object with other content
    assert ip.run_cell(cell).success and probe.count() == 2
    ip.run_cell("arr.shape = (2, -1)")  # the same object, reshaped in place
    assert ip.run_cell(cell).success and probe.count() == 3


# ---- lossless round trips of every codec the fast paths use ---------------------------------


@pytest.fixture
def store(tmp_path):
    return open_store(tmp_path / "store")


@PROPERTY
@given(array_pairs())
def test_ndarray_codec_round_trips_eagerly_and_lazily(tmp_path_factory, pair):
    store = open_store(tmp_path_factory.mktemp("s") / "store")
    for arr in pair:
        digest = hash_value(arr)
        store.put_object(digest, store.encode(arr))
        for restored in (store.get_object(digest), store.get_object(digest, lazy=True)):
            assert type(restored) is np.ndarray and restored.dtype == arr.dtype
            assert slow_array_key(restored) == slow_array_key(arr)
            assert hash_value(restored) == digest


@PROPERTY
@given(frame_specs(), st.sampled_from(["plain", "split"]))
def test_pickle_codec_round_trips_frames_of_every_column_kind(tmp_path_factory, spec, layout):
    store = open_store(tmp_path_factory.mktemp("s") / "store")
    frame = build_frame(spec, layout)
    digest = hash_value(frame)
    store.put_object(digest, store.encode(frame))
    restored = store.get_object(digest)
    assert slow_frame_key(restored) == slow_frame_key(frame)
    assert list(restored.dtypes) == list(frame.dtypes)
    assert hash_value(restored) == digest


def test_object_strings_round_trip_through_the_store(store):
    strings = np.array([f"s{i}é" for i in range(70_000)] + ["\ud800"], dtype=object)
    digest = hash_value(strings)
    store.put_object(digest, store.encode(strings))
    restored = store.get_object(digest)
    assert restored.tolist() == strings.tolist() and hash_value(restored) == digest


@pytest.mark.parametrize("dtype", ["default", "string[pyarrow]", "arrow"])
def test_arrow_columns_are_pickled_as_they_are_and_slices_stay_small(store, dtype):
    """pandas 3's default strings, and pandas 2's (Python 3.10's pins) Arrow-backed ones, asked for by name."""
    import pyarrow as pa

    if dtype == "default" and not hasattr(pd.Series(["a"]).array, "_pa_array"):
        dtype = "string[pyarrow]"  # pandas 2 keeps default strings as objects: the same test, by name
    chosen = {"default": pd.Series(["a"]).dtype, "string[pyarrow]": pd.StringDtype("pyarrow"), "arrow": pd.ArrowDtype(pa.string())}
    strings = pd.Series([f"s{i}" for i in range(200_000)], dtype=chosen[dtype])
    frame = pd.concat([pd.DataFrame({"s": strings.iloc[:100_000]}), pd.DataFrame({"s": strings.iloc[100_000:]})])
    assert frame["s"].array._pa_array.num_chunks == 2
    encoded = store.encode(frame)
    assert all(part.nbytes < 2_000_000 for part in map(memoryview, encoded.parts))  # out of band, not combined
    digest = hash_value(frame)
    store.put_object(digest, encoded)
    restored = store.get_object(digest)
    assert restored["s"].array._pa_array.num_chunks == 2 and restored.equals(frame) and hash_value(restored) == digest
    small = strings.iloc[10:20]  # a slice of 200,000 strings' buffers: pandas compacts it, so it stays small
    assert store.encode(small).payload_size < 10_000
    assert store.get_object(_put(store, small)).tolist() == small.tolist()


def _put(store, value):
    digest = hash_value(value)
    store.put_object(digest, store.encode(value))
    return digest
