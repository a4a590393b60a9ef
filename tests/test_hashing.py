"""Content hashes of data values: plain Python, numpy, pandas and Arrow (wfnb.cache.hashing).

What is pinned here is what docs/hashing.md promises: equal content gives an equal
hash (however the value was built or laid out, in any process), any change a program
could observe gives a different hash, and values without content raise.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import pathlib
import pickle
import struct
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.extra import pandas as hpd

from wfnb.cache.hashing import hash_bytes, hash_value
from wfnb.cache.setorder import has_fixed_order, rebuild, table_size
from wfnb.errors import UnhashableValue

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- plain Python values ---------------------------------------------------------------

ATOMS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats(allow_nan=True)
    | st.complex_numbers()
    | st.text(max_size=5)
    | st.binary(max_size=5)
)
HASHABLE = st.recursive(ATOMS, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=6)
VALUES = st.recursive(
    ATOMS,
    lambda inner: st.lists(inner, max_size=4)
    | st.tuples(inner, inner)
    | st.dictionaries(HASHABLE, inner, max_size=4)
    | st.sets(HASHABLE, max_size=4)
    | st.frozensets(HASHABLE, max_size=4),
    max_leaves=20,
)


def canon(value: object) -> object:
    """The value as docs/hashing.md compares it: exact types, float bits, dict order, set contents."""
    kind = type(value)
    if kind is float:
        return ("float", struct.pack("<d", value))
    if kind is complex:
        return ("complex", struct.pack("<dd", value.real, value.imag))
    if kind in (list, tuple):
        return (kind.__name__, tuple(canon(item) for item in value))
    if kind is dict:
        return ("dict", tuple((canon(k), canon(v)) for k, v in value.items()))
    if kind in (set, frozenset) and len(value) > 1 and has_fixed_order(value):  # numbers: their order is seen
        return (kind.__name__, "ordered", tuple(canon(item) for item in value))
    if kind in (set, frozenset):  # a multiset: two NaN objects with the same bits are two elements
        return (kind.__name__, frozenset(collections.Counter(canon(item) for item in value).items()))
    return (kind.__name__, value)


def mutate(value: object, data: st.DataObject) -> object:
    """A copy of ``value`` with one node somewhere replaced, or a dict reordered."""
    kind = type(value)
    if kind in (list, tuple) and value and data.draw(st.booleans()):
        items = list(value)
        i = data.draw(st.integers(0, len(items) - 1))
        items[i] = mutate(items[i], data)
        return kind(items)
    if kind is dict and value and data.draw(st.booleans()):
        items = list(value.items())
        if len(items) > 1 and data.draw(st.booleans()):
            return dict(reversed(items))
        i = data.draw(st.integers(0, len(items) - 1))
        items[i] = (items[i][0], mutate(items[i][1], data))
        return dict(items)
    return data.draw(VALUES)


@PROPERTY
@given(VALUES)
def test_equal_values_hash_equal_however_they_were_built(value):
    digest = hash_value(value)
    assert len(digest) == 32 and digest == digest.lower()
    for again in (copy.deepcopy(value), pickle.loads(pickle.dumps(value))):  # a set of numbers may come back in another order
        assert (hash_value(again) == digest) == (canon(again) == canon(value))


@PROPERTY
@given(VALUES, st.data())
def test_changing_any_element_changes_the_hash(value, data):
    changed = mutate(value, data)
    assume(canon(changed) != canon(value))
    assert hash_value(changed) != hash_value(value)


@PROPERTY
@given(VALUES, VALUES)
def test_hashes_are_equal_exactly_when_values_are(a, b):
    assert (hash_value(a) == hash_value(b)) == (canon(a) == canon(b))


def test_types_and_nesting_are_part_of_the_value():
    distinct = [1, 1.0, True, "1", b"1", bytearray(b"1"), 1 + 0j, None, [1], (1,), {1}, frozenset({1})]
    assert len({hash_value(v) for v in distinct}) == len(distinct)
    assert hash_value(["a", "b"]) != hash_value(["ab"])
    assert hash_value([[1], 2]) != hash_value([[1, 2]])
    assert hash_value("") != hash_value(b"") != hash_value(())
    assert hash_value(2**64) != hash_value(2**64 + 1) != hash_value(-(2**64))


def test_float_bits_rule():
    nan = float("nan")
    assert hash_value(nan) == hash_value(float("nan"))
    assert hash_value(nan) == hash_value(-nan)  # every NaN bit pattern is one NaN
    assert hash_value(0.0) != hash_value(-0.0)
    assert len({hash_value(nan), hash_value(None), hash_value(pd.NA), hash_value(pd.NaT)}) == 4


def test_a_set_of_numbers_hashes_by_its_order_and_is_rebuilt_in_it():
    """Every plain run iterates a set of numbers in the same order (their hashes are not salted), and
    code sees it; a set of strings iterates in an order each process draws anew."""
    nine_first, one_first = set(), set()
    for x in (9, 1):
        nine_first.add(x)
    for x in (1, 9):
        one_first.add(x)
    assert nine_first == one_first and list(nine_first) != list(one_first)
    assert hash_value(nine_first) != hash_value(one_first)
    assert hash_value({(1, 2.5), (9, 0.5)}) == hash_value({(1, 2.5), (9, 0.5)})
    assert not has_fixed_order({1, "a"}) and not has_fixed_order({1, None}) and not has_fixed_order({1.0, float("nan")})
    made = set()
    for x in (63, 97, 57):
        made.add(x)
    assert list(set(list(made))) != list(made)  # what pickle gives
    again = rebuild(set, list(made), table_size(made))
    assert again == made and list(again) == list(made) and hash_value(again) == hash_value(made)


def test_dict_order_counts_and_set_order_does_not():
    assert hash_value({"a": 1, "b": 2}) != hash_value({"b": 2, "a": 1})
    words = [f"w{i}" for i in range(50)]
    assert hash_value(set(words)) == hash_value(set(reversed(words)))
    assert hash_value(frozenset(words)) == hash_value(frozenset(reversed(words)))
    assert hash_value(set(words)) != hash_value(frozenset(words))


def test_subclasses_of_containers_include_their_type():
    point = collections.namedtuple("Point", "x y")
    assert hash_value(collections.OrderedDict(a=1)) != hash_value({"a": 1})
    assert hash_value(collections.Counter(a=1)) != hash_value({"a": 1})
    assert hash_value(point(1, 2)) != hash_value((1, 2))
    assert hash_value(collections.defaultdict(list, a=1)) != hash_value(collections.defaultdict(int, a=1))
    assert hash_value(collections.defaultdict(list, a=1)) == hash_value(collections.defaultdict(list, a=1))


class _Forgetful(dict):
    """Like scikit-learn's Bunch: keeps a note in its __dict__, which its __setstate__ throws away."""

    def __init__(self, **items):
        super().__init__(items)
        self.__dict__["note"] = {}

    def __setstate__(self, state):
        pass


def test_what_a_class_throws_away_on_loading_is_not_part_of_its_hash():
    value = _Forgetful(a=1)
    assert hash_value(pickle.loads(pickle.dumps(value))) == hash_value(value)
    assert hash_value(_Forgetful(a=2)) != hash_value(value)


def test_a_class_hashes_alike_whatever_the_order_of_its_members():
    # cloudpickle rebuilds a class with its members sorted by name
    assert hash_value(type("C", (), {"b": 1, "a": 2})) == hash_value(type("C", (), {"a": 2, "b": 1}))
    assert hash_value(type("C", (), {"b": 1, "a": 2})) != hash_value(type("C", (), {"b": 2, "a": 1}))


def test_self_referencing_containers_hash_and_compare_by_structure():
    a = [1]
    a.append(a)
    b = [1]
    b.append(b)
    d: dict = {"x": 1}
    d["self"] = d
    assert hash_value(a) == hash_value(b)
    assert hash_value(a) != hash_value([1, [1]])
    assert hash_value(d) != hash_value({"x": 1, "self": {}})
    e: dict = {"x": 1}
    e["self"] = e
    assert hash_value(d) == hash_value(e)


def test_sharing_a_mutable_object_is_part_of_the_value():
    x = [1, 2]
    assert hash_value([x, x]) == hash_value([x, x])
    assert hash_value([x, x]) != hash_value([x, list(x)])
    t = (1, 2)  # immutable: sharing it is invisible
    assert hash_value([t, t]) == hash_value([t, (1, int("2"))])


class _Node:
    """An object whose pickled state contains itself."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.me = self

    def __reduce__(self):
        return (_Node, ("x",), {"label": self.label, "me": self})


def test_objects_whose_reduction_contains_themselves_terminate():
    assert hash_value(_Node("a")) == hash_value(_Node("a"))
    assert hash_value(_Node("a")) != hash_value(_Node("b"))


def test_deep_nesting_needs_no_recursion():
    def nested(depth: int, leaf: object) -> list:
        value: list = [leaf]
        for _ in range(depth):
            value = [value]
        return value

    assert hash_value(nested(5_000, 1)) == hash_value(nested(5_000, 1))
    assert hash_value(nested(5_000, 1)) != hash_value(nested(5_000, 2))
    assert hash_value(nested(5_000, 1)) != hash_value(nested(4_999, 1))
    deep_dict: dict = {}
    for _ in range(50_000):
        deep_dict = {"k": deep_dict}
    hash_value(deep_dict)
    with pytest.raises(UnhashableValue, match="nested more than"):
        hash_value(nested(150_000, 1))


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda tmp: (i for i in range(3)), "generator"),
        (lambda tmp: threading.Lock(), "lock"),
        (lambda tmp: open(tmp / "f.txt", "w"), "TextIOWrapper"),
    ],
)
def test_values_without_content_raise_a_clear_error(tmp_path, make, kind):
    value = make(tmp_path)
    try:
        with pytest.raises(UnhashableValue) as caught:
            hash_value({"data": [1, value]})
    finally:
        getattr(value, "close", lambda: None)()
    message = str(caught.value)
    assert "cannot be hashed" in message and kind in message
    assert "no content to compare" in message and "key 'data'" in message


def test_hash_bytes_reads_buffers_and_refuses_text():
    assert hash_bytes(b"abc") == hash_bytes(bytearray(b"abc")) == hash_bytes(memoryview(b"xabc")[1:])
    assert hash_bytes(np.frombuffer(b"abc", np.uint8)) == hash_bytes(b"abc")
    assert hash_bytes(b"abc") != hash_value(b"abc")
    with pytest.raises(TypeError):
        hash_bytes("abc")  # type: ignore[arg-type]  # a wrong type on purpose: it must be refused


# ---- numpy -------------------------------------------------------------------------------

DTYPES = st.sampled_from(["<f8", "<f4", "<i8", "<i2", "|u1", "|b1", "<c16", "<M8[ns]", "<m8[s]", "<U3", "|S2"])
ARRAYS = hnp.arrays(dtype=DTYPES.map(np.dtype), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5))


@PROPERTY
@given(ARRAYS)
def test_array_layouts_and_views_hash_like_their_copies(arr):
    digest = hash_value(arr)
    assert hash_value(arr.copy()) == digest
    assert hash_value(np.asfortranarray(arr)) == digest
    assert hash_value(pickle.loads(pickle.dumps(arr))) == digest
    for view in (arr[::-1], arr[..., ::2], arr.T, np.moveaxis(arr, 0, -1)):
        assert hash_value(view) == hash_value(view.copy())
    padded = np.zeros((arr.shape[0] * 2,) + arr.shape[1:], dtype=arr.dtype)
    padded[::2] = arr
    assert hash_value(padded[::2]) == digest


@PROPERTY
@given(ARRAYS.filter(lambda a: a.size > 0), st.data())
def test_changing_any_bit_dtype_or_shape_changes_the_hash(arr, data):
    changed = arr.copy()
    raw = changed.reshape(-1).view(np.uint8)
    position = data.draw(st.integers(0, raw.size - 1))
    raw[position] ^= 1
    if arr.dtype.kind in "fc":  # within a NaN, the bits are not the value: every NaN hashes alike
        component = np.dtype(f"{arr.dtype.byteorder}f{arr.dtype.itemsize // 2}") if arr.dtype.kind == "c" else arr.dtype
        before, after = (a.reshape(-1).view(component)[position // component.itemsize] for a in (arr, changed))
        assume(not (np.isnan(before) and np.isnan(after)))
    assert hash_value(changed) != hash_value(arr)
    assert hash_value(arr.reshape(arr.shape + (1,))) != hash_value(arr)
    if arr.dtype.kind in "biuf":
        with np.errstate(invalid="ignore"):
            assert hash_value(arr.astype("<i4" if arr.dtype != np.dtype("<i4") else "<i8")) != hash_value(arr)
    assert hash_value(arr.view(np.uint8)) != hash_value(arr) or arr.dtype == np.uint8


def test_object_arrays_are_hashed_by_element():
    strings = np.array(["a", "bb", "é"], dtype=object)
    assert hash_value(strings) == hash_value(np.array(["a", "bb", "é"], dtype=object))
    assert hash_value(np.array(["a", "bb"], dtype=object)) != hash_value(np.array(["ab", "b"], dtype=object))
    assert hash_value(np.array(["a", None], dtype=object)) != hash_value(np.array(["a", np.nan], dtype=object))
    assert hash_value(strings) != hash_value(strings.astype("<U2"))
    assert hash_value(strings[::2]) == hash_value(strings[::2].copy())
    mixed = np.array([1, "a", [2, 3]], dtype=object)
    assert hash_value(mixed) == hash_value(np.array([1, "a", [2, 3]], dtype=object))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_numpy_scalars_structured_arrays_and_subclasses():
    assert hash_value(np.float64(1.0)) != hash_value(1.0)
    assert hash_value(np.float64(1.0)) != hash_value(np.float32(1.0))
    assert hash_value(np.float64(1.0)) == hash_value(np.float64(1.0))
    records = np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", "<f8")])
    aligned = np.array([(1, 2.0), (3, 4.0)], dtype=np.dtype([("a", "<i4"), ("b", "<f8")], align=True))
    assert hash_value(records[::-1]) == hash_value(records[::-1].copy())
    assert hash_value(aligned) == hash_value(aligned.copy())  # padding bytes do not count
    assert hash_value(np.matrix([[1, 2]])) != hash_value(np.array([[1, 2]]))
    masked = np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    assert hash_value(masked) == hash_value(np.ma.array([1.0, 2.0, 3.0], mask=[0, 1, 0]))
    assert hash_value(masked) != hash_value(np.ma.array([1.0, 2.0, 3.0], mask=[0, 0, 0]))
    assert hash_value(masked) != hash_value(masked.data)
    assert hash_value(np.dtype("<f8")) != hash_value(np.dtype(">f8"))


def test_large_arrays_are_not_copied_whole():
    big = np.ones((2000, 2500))  # 40 MB
    fortran = np.asfortranarray(big)
    half = np.ones((2000, 1250))
    tracemalloc.start()
    try:
        digest = hash_value(big)
        assert hash_value(fortran) == digest
        assert hash_value(big[:, ::2]) == hash_value(half)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


# ---- pandas and Arrow -----------------------------------------------------------------------


@st.composite
def frame_specs(draw):
    """Plain lists from which a DataFrame with many kinds of columns is built (twice, independently)."""
    n = draw(st.integers(0, 6))

    def column(elements):
        return draw(st.lists(elements, min_size=n, max_size=n))

    return {
        "f": column(st.floats(allow_nan=True, width=64)),
        "i": column(st.integers(-(2**63), 2**63 - 1)),
        "s": column(st.none() | st.text(max_size=3)),
        "c": column(st.sampled_from(["x", "y", "z"])),
        "t": column(st.integers(0, 2**33)),
        "m": column(st.none() | st.integers(-1000, 1000)),
        "b": column(st.none() | st.booleans()),
        "labels": draw(st.lists(st.text(max_size=2), min_size=n, max_size=n, unique=True)),
    }


def build_frame(spec: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "f": np.array(spec["f"], dtype="<f8"),
            "i": np.array(spec["i"], dtype="<i8"),
            "s": pd.array(spec["s"], dtype="str"),  # Arrow-backed, NaN for missing
            "sp": pd.array(spec["s"], dtype="string[python]"),
            "sa": pd.array(spec["s"], dtype="string[pyarrow]"),
            "c": pd.Categorical(spec["c"], categories=["x", "y", "z"]),
            "t": pd.to_datetime(np.array(spec["t"], dtype="<i8"), unit="s", utc=True).tz_convert("Europe/Paris"),
            "m": pd.array(spec["m"], dtype="Int64"),
            "b": pd.array(spec["b"], dtype="boolean"),
        },
        index=pd.Index(spec["labels"], name="key", dtype="str"),
    )


@PROPERTY
@given(frame_specs())
def test_equal_frames_hash_equal_however_they_were_built(spec):
    df = build_frame(spec)
    digest = hash_value(df)
    assert hash_value(build_frame(spec)) == digest
    assert hash_value(df.copy()) == digest
    assert hash_value(pickle.loads(pickle.dumps(df))) == digest
    k = len(df) // 2
    assert hash_value(pd.concat([df.iloc[:k], df.iloc[k:]])) == digest  # Arrow columns now in 2 chunks
    assert hash_value(df.iloc[::-1].iloc[::-1]) == digest
    for name in df.columns:
        assert hash_value(df[name]) == hash_value(build_frame(spec)[name])
    multi = df.set_index(["c", "i"], append=True)
    assert hash_value(multi) == hash_value(build_frame(spec).set_index(["c", "i"], append=True))


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@PROPERTY
@given(frame_specs().filter(lambda spec: spec["labels"]), st.data())
def test_changing_a_value_label_name_or_dtype_changes_the_hash(spec, data):
    digest = hash_value(build_frame(spec))
    column = data.draw(st.sampled_from(["f", "i", "s", "c", "t", "m", "b", "labels"]))
    row = data.draw(st.integers(0, len(spec["labels"]) - 1))
    changed = copy.deepcopy(spec)
    old = changed[column][row]
    new = data.draw(
        {
            "f": st.floats(allow_nan=True, width=64),
            "i": st.integers(-(2**63), 2**63 - 1),
            "s": st.none() | st.text(max_size=3),
            "c": st.sampled_from(["x", "y", "z"]),
            "t": st.integers(0, 2**33),
            "m": st.none() | st.integers(-1000, 1000),
            "b": st.none() | st.booleans(),
            "labels": st.text(max_size=2),
        }[column]
    )
    assume(canon(new) != canon(old) and (column != "labels" or new not in spec["labels"]))
    changed[column][row] = new
    assert hash_value(build_frame(changed)) != digest

    df = build_frame(spec)
    assert hash_value(df.rename(columns={"f": "g"})) != digest
    assert hash_value(df.rename_axis("other")) != digest
    assert hash_value(df[list(reversed(df.columns))]) != digest
    assert hash_value(df.astype({"m": "Int32"})) != digest
    assert hash_value(df.astype({"f": "<f4"})) != digest
    assert hash_value(df.reset_index()) != digest


@PROPERTY
@given(
    hpd.data_frames(
        [hpd.column("a", dtype=float), hpd.column("b", dtype=int), hpd.column("c", dtype=bool)],
        index=hpd.range_indexes(max_size=8),
    )
)
def test_generated_frames_hash_like_their_copies(df):
    digest = hash_value(df)
    assert hash_value(df.copy(deep=True)) == digest
    rebuilt = pd.DataFrame({name: df[name].to_numpy().copy() for name in df.columns}, index=df.index, columns=df.columns)
    assert hash_value(rebuilt) == digest
    assert hash_value(df.set_axis(pd.Index(list(range(len(df))), dtype="int64"))) != digest  # RangeIndex vs Index
    assert hash_value(df.to_numpy()) != digest


@PROPERTY
@given(hpd.series(dtype=float, index=hpd.indexes(dtype="int64", max_size=6)))
def test_series_hash_name_index_and_values(series):
    digest = hash_value(series)
    assert hash_value(series.copy()) == digest
    assert hash_value(series.rename("x")) != digest
    assert hash_value(series.to_frame()) != digest


def test_missing_slots_do_not_count_whatever_lies_under_them():
    a = pd.arrays.IntegerArray(np.array([1, 99, 3]), np.array([False, True, False]))
    b = pd.arrays.IntegerArray(np.array([1, -5, 3]), np.array([False, True, False]))
    assert hash_value(a) == hash_value(b)
    assert hash_value(pd.Series(a)) == hash_value(pd.Series(b))
    assert hash_value(a) != hash_value(pd.array([1, 99, 3], dtype="Int64"))
    validity = pa.py_buffer(np.packbits([1, 0], bitorder="little").tobytes())
    strings = pa.Array.from_buffers(
        pa.string(), 2, [validity, pa.py_buffer(np.array([0, 1, 4], np.int32).tobytes()), pa.py_buffer(b"xabc")]
    )
    assert hash_value(strings) == hash_value(pa.array(["x", None]))
    ints = pa.Array.from_buffers(pa.int64(), 2, [validity, pa.py_buffer(np.array([7, 12345], np.int64).tobytes())])
    assert hash_value(ints) == hash_value(pa.array([7, None], pa.int64()))


def test_arrow_chunks_and_slices_do_not_count():
    full = pa.array(["a", None, "ccc", "dd", None, "é"])
    assert hash_value(full.slice(2, 3)) == hash_value(pa.array(["ccc", "dd", None]))
    assert hash_value(pa.chunked_array([full])) == hash_value(pa.chunked_array([full.slice(0, 2), full.slice(2)]))
    assert hash_value(pa.array(["a"], pa.large_string())) == hash_value(pa.array(["a"], pa.string()))
    flags = pa.array([True, None, False, True])
    assert hash_value(flags.slice(1)) == hash_value(pa.array([None, False, True]))
    numbers = pa.chunked_array([[1, 2], [None, 4]])
    assert hash_value(numbers) == hash_value(pa.chunked_array([[1], [2, None, 4]]))
    assert hash_value(numbers) != hash_value(pa.chunked_array([[1, 2, 0, 4]]))
    nested = pa.array([[1, 2], None, [3]])
    assert hash_value(nested) == hash_value(pa.array([[1, 2], None, [3]]))


def test_string_storage_categories_and_time_zones_are_part_of_the_value():
    python = pd.Series(["a", None], dtype="string[python]")
    arrow = pd.Series(["a", None], dtype="string[pyarrow]")
    assert hash_value(python) != hash_value(arrow)
    assert hash_value(pd.Series(["a", None], dtype="str")) != hash_value(arrow)
    ab = pd.Series(pd.Categorical(["a", "b"], categories=["a", "b"]))
    ba = pd.Series(pd.Categorical(["a", "b"], categories=["b", "a"]))
    assert hash_value(ab) != hash_value(ba)
    assert hash_value(ab) != hash_value(pd.Series(["a", "b"]))
    utc = pd.Series(pd.date_range("2020-01-01", periods=3, tz="UTC"))
    assert hash_value(utc) != hash_value(utc.dt.tz_convert("Europe/Paris"))
    assert hash_value(utc) != hash_value(utc.dt.tz_localize(None))
    assert hash_value(utc.dt.as_unit("s")) != hash_value(utc.dt.as_unit("ms"))  # another unit


def test_indexes_by_kind():
    assert hash_value(pd.RangeIndex(3)) != hash_value(pd.Index([0, 1, 2]))
    assert hash_value(pd.RangeIndex(3, name="a")) != hash_value(pd.RangeIndex(3, name="b"))
    m1 = pd.MultiIndex.from_arrays([[2, 1], ["b", "a"]], names=["x", "y"])
    m2 = pd.MultiIndex.from_tuples([(2, "b"), (1, "a")], names=["x", "y"])
    assert hash_value(m1) == hash_value(m2)
    assert hash_value(m1) != hash_value(m1.set_names(["x", "z"]))
    sliced = pd.MultiIndex.from_arrays([[1, 2, 3], ["a", "b", "c"]])[:2]
    assert hash_value(sliced) == hash_value(pd.MultiIndex.from_arrays([[1, 2], ["a", "b"]]))
    days = pd.date_range("2020-01-01", periods=3, freq="D")
    assert hash_value(days) != hash_value(pd.DatetimeIndex(list(days)))  # freq differs
    df = pd.DataFrame({"a": [1, 2]})
    tagged = df.copy()
    tagged.attrs["source"] = "x"
    assert hash_value(df) != hash_value(tagged)


# ---- stability ----------------------------------------------------------------------------


def golden_values() -> dict[str, object]:
    return {
        "none": None,
        "int": 1,
        "big": -(2**100),
        "float": 1.5,
        "text": "héllo",
        "nested": [1, "a", (2.5, None), b"\x00", {"k": [True]}],
        "set": {"b", "a", "c"},
        "array": np.arange(6, dtype="<i8").reshape(2, 3),
        "frame": pd.DataFrame(
            {"x": np.array([1.0, np.nan]), "s": pd.array(["a", None], dtype="string[pyarrow]")},
            index=pd.RangeIndex(2),
        ),
    }


# Pinned digests: a change here means every existing cache entry is lost. Bump HASH_VERSION
# on purpose, then update these (wfnb-hash-2: every NaN bit pattern hashes as one NaN).
GOLDEN = {
    "none": "1055c12db6b8ebb50b93630f7c237ce0",
    "int": "b9ed30506df855bed6efec32fe120791",
    "big": "ade0fbf6f76ab1eb3601ff41b9981cad",
    "float": "ecd205de46ebe27551beb6d266a0b031",
    "text": "5480403a3959b167388e682fa1f95fe8",
    "nested": "14520a7848e028a8149206571b434cc8",
    "set": "e3307c80cc9aeb901e92fa9c99ddacca",
    "array": "590a416144c2fc133e63a7978b99e668",
    "frame": "8288e2be87dda3f9a17a6468250cd127",
}
# pandas 2 (what Python 3.10 gets): its classes live in pandas.core.*, named in a frame's hash,
# where pandas 3's say `pandas` and are hashed as classes.
GOLDEN_PANDAS_2 = {**GOLDEN, "frame": "67c6399bbccd2c39e9c309dee940ed79"}


def test_golden_hashes_do_not_change():
    expected = GOLDEN_PANDAS_2 if int(pd.__version__.partition(".")[0]) < 3 else GOLDEN
    assert {name: hash_value(value) for name, value in golden_values().items()} == expected


def test_hashes_are_equal_in_another_process():
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "import test_hashing as t; from wfnb.cache.hashing import hash_value;"
        "print(json.dumps({k: hash_value(v) for k, v in t.golden_values().items()}))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # another salt for str hashes and set order
    here = str(pathlib.Path(__file__).parent)
    result = subprocess.run([sys.executable, "-c", script, here], capture_output=True, text=True, env=env, check=True)
    assert json.loads(result.stdout) == {k: hash_value(v) for k, v in golden_values().items()}


def test_frames_that_are_equal_with_other_nan_bits_hash_alike():
    with np.errstate(invalid="ignore"):
        computed = np.array([1.0, 0.0]) / np.array([1.0, 0.0])  # x86 makes 0/0 a negative NaN
    computed[0] = 1.0
    literal = np.array([1.0, np.nan])
    assert np.signbit(computed[1]) != np.signbit(literal[1])  # different bits, the same value
    assert pd.DataFrame({"x": computed}).equals(pd.DataFrame({"x": literal}))
    assert hash_value(pd.DataFrame({"x": computed})) == hash_value(pd.DataFrame({"x": literal}))
    assert hash_value(computed.astype(np.float32)) == hash_value(literal.astype(np.float32))
    assert hash_value(computed.astype(np.complex128)) == hash_value(literal.astype(np.complex128))
    assert hash_value(computed[::-1][::-1]) == hash_value(literal)  # strided too
    assert hash_value(np.array([0.0])) != hash_value(np.array([-0.0]))  # the sign of zero shows in 1/x


def test_a_drawn_figure_hashes_as_its_restored_copy():
    """Drawing (``plt.show()``, ``savefig``, the inline backend) marks a figure's artists as not
    stale, and a restored figure is stale until drawn: that says nothing about what it draws."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([1, 3, 2])
    fig.canvas.draw()
    restored = pickle.loads(pickle.dumps((fig, ax)))
    assert restored[1].figure is restored[0]
    assert hash_value(restored) == hash_value((fig, ax))
    ax.set_title("changed")
    assert hash_value(restored) != hash_value((fig, ax))
