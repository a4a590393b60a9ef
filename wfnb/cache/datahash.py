"""Content hashes of numpy, pandas and Arrow data, from their buffers.

The handlers here are driven by the encoder in ``wfnb.cache.encoder`` (see its
docstring for the encoding). Numeric buffers go to the hasher without a copy;
DataFrames are hashed column by column with their index, names and dtypes;
Arrow arrays from their validity, offsets and data buffers, so that equal
values hash equal whatever their chunking or slicing.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from wfnb.cache.encoder import _ATOMS, _HANDLERS, Handler, _atom_once, _items, _pack_len

if TYPE_CHECKING:
    from wfnb.cache.encoder import Encoder

_CHUNK = 1 << 22  # largest copy made of a non-contiguous array (4 MiB)
_NAN_CHUNK = 1 << 20  # floats are checked for NaN in pieces that stay in the cache while hashed
_RAW_KINDS = frozenset("biufcmMSUV")  # numpy kinds whose bytes are their value
_ARROW_STRINGS_FROM = 1 << 16  # all-str object arrays this long go to UTF-8 through Arrow, not a loop


def handler_for(kind: type) -> tuple[Handler, bool] | None:
    """The handler (and whether to memoize by identity) for numpy, pandas and Arrow types, else ``None``."""
    np = sys.modules.get("numpy")
    if np is not None:
        if issubclass(kind, np.ndarray):
            return _enc_ndarray, True
        if issubclass(kind, (np.generic, np.dtype)):
            _ATOMS[kind] = _w_numpy_scalar if issubclass(kind, np.generic) else _w_dtype
            return _atom_once, False
        if kind is getattr(sys.modules.get("numpy.random.mtrand"), "RandomState", None):  # not imported for this
            return _enc_random_state, True
    pd = sys.modules.get("pandas")
    if pd is not None:
        if issubclass(kind, pd.DataFrame):
            return _enc_frame, True
        if issubclass(kind, pd.Series):
            return _enc_series, True
        if issubclass(kind, pd.Index):
            return _enc_index, False  # immutable: equal indexes hash equal, shared or not
        if issubclass(kind, pd.api.extensions.ExtensionArray):
            return _enc_extension_array, True
        if kind is type(pd.NA) or kind is type(pd.NaT):
            _ATOMS[kind] = _w_na if kind is type(pd.NA) else _w_nat
            return _atom_once, False
    pa = sys.modules.get("pyarrow")
    if pa is not None and issubclass(kind, (pa.Array, pa.ChunkedArray)):
        return _enc_arrow, True
    cbook = sys.modules.get("matplotlib.cbook")
    if cbook is not None and issubclass(kind, cbook.CallbackRegistry):
        return _enc_callbacks, True
    transforms = sys.modules.get("matplotlib.transforms")
    if transforms is not None and issubclass(kind, transforms.TransformNode):
        return _enc_transform, True
    artist = sys.modules.get("matplotlib.artist")
    if artist is not None and issubclass(kind, artist.Artist) and "__getstate__" in vars(artist.Artist):
        return _enc_artist, True
    return None


# Parts of a matplotlib artist's pickled state that say how it was handled, not what it draws:
# whether it needs drawing again (a drawn figure is not stale, a restored one is), and for a
# figure its number in pyplot's list of open figures (the next free one when it is restored) and
# whether it is in that list now (the inline backend closes it after the cell that made it).
_ARTIST_BOOKKEEPING = frozenset({"_stale", "_number", "_restore_to_pylab"})


def _enc_artist(enc: Encoder, artist: Any) -> Iterator[object]:
    enc.write(b"~a")
    yield type(artist)
    state = artist.__getstate__()
    yield {key: value for key, value in state.items() if key not in _ARTIST_BOOKKEEPING} if type(state) is dict else state


# Parts of a matplotlib transform that say nothing about what it does: the transforms that
# depend on it (a dict keyed by object ids, different in every process) and a cache flag.
_TRANSFORM_BOOKKEEPING = frozenset({"_parents", "_invalid"})


def _enc_transform(enc: Encoder, node: Any) -> Iterator[object]:
    enc.write(b"~t")
    yield type(node)
    yield {key: value for key, value in vars(node).items() if key not in _TRANSFORM_BOOKKEEPING}


def _enc_random_state(enc: Encoder, generator: Any) -> Iterator[object]:
    """A legacy ``RandomState`` is the state its draws come from, not how its bit generator was seeded:
    numpy's global one restored by a hit (``set_state``) keeps the seed sequence its kernel started
    with, where a plain run's ``np.random.seed(...)`` left none, and both draw the same numbers."""
    if generator is getattr(sys.modules.get("numpy.random.mtrand"), "_rand", None):
        # numpy's global generator (held by scipy's distributions, so by statsmodels' results): its state
        # is a dependency of the steps that draw from it (wfnb.cache.randomness), not part of every value
        # holding it; hashed with it, such a value hashed otherwise in each fresh, unseeded kernel
        enc.write(b"~R")
        return
    enc.write(b"~r")
    yield generator.get_state(legacy=False)


def _enc_callbacks(enc: Encoder, registry: Any) -> Iterator[object]:
    """matplotlib's event connections: the signals and the callbacks kept when pickled, not the ids.

    Its pickled state draws the next connection id from a counter (so reading it
    changes it), and the ids depend on how many connections were made before.
    """
    enc.write(b"~e")
    yield registry._signals
    kept = []
    for signal, callbacks in sorted(registry.callbacks.items(), key=lambda item: str(item[0])):
        for cid, reference in callbacks.items():
            if cid in registry._pickled_cids:
                kept.append((signal, reference()))
    yield kept


# ---- numpy -----------------------------------------------------------------------------------


def _dtype_token(dtype: Any) -> str:
    if dtype.names is not None:
        return repr(dtype.descr)
    return dtype.str if dtype.kind in _RAW_KINDS or dtype.kind == "O" else repr(dtype)


def _w_dtype(buf: bytearray, obj: Any) -> None:
    data = _dtype_token(obj).encode()
    buf += b"y"
    buf += _pack_len(len(data))
    buf += data


def _w_numpy_scalar(buf: bytearray, obj: Any) -> None:
    token = _dtype_token(obj.dtype).encode()
    data = obj.tobytes()
    buf += b"g"
    buf += _pack_len(len(token))
    buf += token
    buf += _pack_len(len(data))
    buf += data


def _enc_ndarray(enc: Encoder, arr: Any) -> Iterator[object]:
    np = sys.modules["numpy"]
    kind = type(arr)
    if kind is np.ndarray:
        enc.write(b"A")
        yield from _array_body(enc, arr)
        return
    enc.write(b"a")  # a subclass: its type and its extra state are part of the value
    yield kind
    yield from _array_body(enc, arr.view(np.ndarray))
    ma = sys.modules.get("numpy.ma")
    if ma is not None and isinstance(arr, ma.MaskedArray):
        yield from _array_body(enc, ma.getmaskarray(arr))
        fill = getattr(arr, "_fill_value", None)  # not .fill_value: reading it stores a default
        fill = ma.default_fill_value(arr) if fill is None else fill
        # The default may not fit the dtype (999999 for uint8): cast it as numpy does when it is read.
        yield from _array_body(enc, np.asarray(fill).astype(arr.dtype))
        yield bool(arr.hardmask)
    else:
        yield getattr(arr, "__dict__", None)


def _array_body(enc: Encoder, arr: Any) -> Iterator[object]:
    """Shape, dtype and values of a plain ndarray, in C order whatever its memory layout."""
    dtype = arr.dtype
    enc.write_len(arr.ndim)
    enc.write(struct.pack(f"<{arr.ndim}Q", *arr.shape))
    if dtype.names is not None:  # structured: field by field, so padding bytes do not count
        enc.write(b"r")
        enc.write_str(_dtype_token(dtype))
        for name in dtype.names:
            yield from _array_body(enc, arr[name])
    elif dtype.kind in _RAW_KINDS:
        enc.write(b"n")
        enc.write_str(dtype.str)
        _feed_array(enc, arr)
    else:  # Python objects (object dtype, numpy's StringDType): element by element
        enc.write(b"o")
        enc.write_str(_dtype_token(dtype))
        yield from _object_items(enc, arr.ravel().tolist())


def _feed_array(enc: Encoder, arr: Any) -> None:
    """Feed the C-order bytes, in bounded contiguous chunks; every NaN as numpy's one NaN."""
    np = sys.modules["numpy"]
    if arr.dtype.kind not in "fc":
        for chunk in _c_order_chunks(np, arr, None):
            enc.feed(chunk)
        return
    component = np.dtype(f"{arr.dtype.byteorder}f{arr.dtype.itemsize // 2}") if arr.dtype.kind == "c" else arr.dtype
    with np.errstate(over="ignore", invalid="ignore"):  # summing to look for a NaN may overflow: fine
        for chunk in _c_order_chunks(np, arr, _NAN_CHUNK):
            enc.feed(_canonical_nans(np, chunk.view(component)).view(np.uint8))


def _c_order_chunks(np: Any, arr: Any, size: int | None) -> Iterator[Any]:
    """The array's bytes in C order as uint8 views (of ``size`` bytes at most), copying only strided parts."""
    if arr.flags.c_contiguous:
        flat = arr.reshape(-1).view(np.uint8)
        if size is None:
            yield flat
            return
        for start in range(0, flat.nbytes, size):
            yield flat[start : start + size]
        return
    row = arr.itemsize
    for n in arr.shape[1:]:
        row *= n
    if arr.ndim == 1 or row <= _CHUNK:
        step = max(1, _CHUNK // max(row, 1))
        for start in range(0, arr.shape[0], step):
            yield from _c_order_chunks(np, np.ascontiguousarray(arr[start : start + step]), size)
    else:
        for sub in arr:
            yield from _c_order_chunks(np, sub, size)


def _canonical_nans(np: Any, values: Any) -> Any:
    """Floats with every NaN bit pattern (sign, payload) replaced by the canonical NaN.

    The bits of a NaN are not its value: x86 makes ``0/0`` a negative NaN, ``np.nan``
    is positive, and frames that ``df.equals`` must hash alike. Only chunks that hold
    a NaN are copied; ``-0.0`` and ``0.0`` still differ (see docs/hashing.md).
    """
    total = np.add.reduce(values)  # NaN if any is (or if it overflows: then look)
    if total == total:
        return values
    missing = np.isnan(values)
    if not missing.any():
        return values
    values = values.copy()
    values[missing] = np.nan
    return values


def _object_items(enc: Encoder, items: list[Any]) -> Iterator[object]:
    """Elements of an object array; all-``str`` ones as lengths plus joined UTF-8 bytes."""
    if items and set(map(type, items)) == {str}:  # exactly str: a subclass goes element by element
        np = sys.modules["numpy"]
        enc.write(b"s")
        if len(items) >= _ARROW_STRINGS_FROM and _feed_strings_arrow(enc, np, items):
            return
        encoded = [item.encode("utf-8", "surrogatepass") for item in items]
        enc.feed(np.fromiter(map(len, encoded), dtype="<i8", count=len(encoded)))
        enc.feed(b"".join(encoded))
    else:
        enc.write(b"G")
        yield from _items(enc, items)


def _feed_strings_arrow(enc: Encoder, np: Any, items: list[str]) -> bool:
    """The same bytes as the loop above (UTF-8 lengths, then the joined UTF-8), built by Arrow in C.

    False (nothing fed) if Arrow refuses a string: lone surrogates need ``surrogatepass``.
    """
    import pyarrow as pa

    try:
        column = pa.array(items, type=pa.large_string())
    except (UnicodeEncodeError, pa.ArrowException):
        return False
    _, offsets, data = column.buffers()
    offsets = np.frombuffer(offsets, "<i8", count=len(items) + 1)
    enc.feed(np.diff(offsets).astype("<i8", copy=False))
    if data is not None:
        enc.feed(np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]])
    return True


# ---- pandas ----------------------------------------------------------------------------------


class _Column:
    """Values of a column or index, hashed by kind and never memoized (they are internals)."""

    __slots__ = ("values",)

    def __init__(self, values: Any) -> None:
        self.values = values


def _w_na(buf: bytearray, obj: object) -> None:
    buf += b"n"


def _w_nat(buf: bytearray, obj: object) -> None:
    buf += b"d"


def _pandas_kind(enc: Encoder, obj: object) -> Iterator[object]:
    """Which pandas class: by name for pandas' own, by content for a user subclass."""
    kind = type(obj)
    if kind.__module__.startswith("pandas."):
        enc.write(b"\0")
        enc.write_str(kind.__qualname__)
    else:
        enc.write(b"\1")
        yield kind


def _enc_frame(enc: Encoder, df: Any) -> Iterator[object]:
    enc.write(b"P")
    yield from _pandas_kind(enc, df)
    yield df.columns
    yield df.index
    ncols = df.shape[1]
    enc.write_len(ncols)
    column = getattr(df, "_get_column_array", None)  # the stored array, no Series built
    for i in range(ncols):
        _where = f"column {i} of a DataFrame"
        yield _Column(column(i) if column is not None else df.iloc[:, i].array)
    _where = "the attrs of a DataFrame"
    yield df.attrs
    yield df.flags.allows_duplicate_labels


def _enc_series(enc: Encoder, series: Any) -> Iterator[object]:
    enc.write(b"Q")
    yield from _pandas_kind(enc, series)
    yield series.name
    yield series.index
    yield _Column(series.array)
    yield series.attrs
    yield series.flags.allows_duplicate_labels


def _enc_index(enc: Encoder, index: Any) -> Iterator[object]:
    pd = sys.modules["pandas"]
    enc.write(b"X")
    yield from _pandas_kind(enc, index)
    if isinstance(index, pd.MultiIndex):  # by level values: equal however levels/codes are laid out
        enc.write(b"m")
        enc.write_len(index.nlevels)
        for level in range(index.nlevels):
            yield index.get_level_values(level)
        return
    yield index.name
    if isinstance(index, pd.RangeIndex):
        enc.write(b"r")
        yield (index.start, index.stop, index.step)
        return
    enc.write(b"v")
    yield _Column(index.array)
    yield getattr(index, "freqstr", None)  # shift/asfreq/resample read it


def _enc_extension_array(enc: Encoder, arr: Any) -> Iterator[object]:
    enc.write(b"E")
    yield from _pandas_kind(enc, arr)
    yield _Column(arr)


def _enc_column(enc: Encoder, column: _Column) -> Iterator[object]:
    np = sys.modules["numpy"]
    pd: Any = sys.modules.get("pandas")
    values = column.values
    enc.write_str(str(values.dtype))
    if isinstance(values, np.ndarray):
        enc.write(b"n")
        yield from _array_body(enc, values)
        return
    if type(values) is pd.arrays.NumpyExtensionArray:
        enc.write(b"n")
        yield from _array_body(enc, values.to_numpy())
        return
    arrow = getattr(values, "_pa_array", None)
    if arrow is not None and isinstance(values, pd.arrays.ArrowExtensionArray):
        enc.write(b"w")
        yield from _arrow_body(enc, arrow)
        return
    if isinstance(values, pd.Categorical):
        enc.write(b"k")
        yield values.categories
        yield bool(values.ordered)
        yield from _array_body(enc, values.codes)
        return
    if isinstance(values, (pd.arrays.DatetimeArray, pd.arrays.TimedeltaArray)):
        enc.write(b"t")  # unit and time zone are in the dtype written above
        yield from _array_body(enc, values.asi8)
        return
    from pandas.core.arrays.masked import BaseMaskedArray

    if isinstance(values, BaseMaskedArray):
        data, mask = values._data, values._mask
        if mask.any():  # what lies under the mask is not part of the value
            data = data.copy()
            data[mask] = 0
        enc.write(b"m")
        yield from _array_body(enc, mask)
        yield from _array_body(enc, data)
        return
    enc.write(b"x")  # any other extension array (python-backed strings, intervals, ...)
    yield from _array_body(enc, np.asarray(values, dtype=object))


_HANDLERS[_Column] = (_enc_column, False)


# ---- pyarrow ---------------------------------------------------------------------------------


def _enc_arrow(enc: Encoder, data: Any) -> Iterator[object]:
    enc.write(b"W")
    yield from _arrow_body(enc, data)


def _arrow_layout(pa: Any, typ: Any) -> tuple[str, int] | None:
    """(type token, byte width) with width 0 for booleans, -4/-8 for 32/64-bit offsets."""
    t = pa.types
    if t.is_boolean(typ):
        return "bool", 0
    if t.is_string(typ) or t.is_large_string(typ):
        return "utf8", -4 if t.is_string(typ) else -8
    if t.is_binary(typ) or t.is_large_binary(typ):
        return "binary", -4 if t.is_binary(typ) else -8
    if t.is_integer(typ) or t.is_floating(typ) or t.is_temporal(typ) or t.is_decimal(typ):
        if typ.bit_width % 8 == 0:
            return str(typ), typ.bit_width // 8
    if t.is_fixed_size_binary(typ):
        return str(typ), typ.byte_width
    return None


def _arrow_body(enc: Encoder, data: Any) -> Iterator[object]:
    """Logical values of an Arrow array from its buffers: chunking, slicing and null slots do not count."""
    np, pa = sys.modules["numpy"], sys.modules["pyarrow"]
    layout = _arrow_layout(pa, data.type)
    if layout is None:
        enc.write(b"p")
        enc.write_str(str(data.type))
        yield data.to_pylist()
        return
    token, width = layout
    chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
    enc.write(b"b")
    enc.write_str(token)
    enc.write_len(len(data))
    enc.write_len(data.null_count)
    nulls = [_arrow_nulls(np, chunk) for chunk in chunks]
    if data.null_count:
        for chunk, null in zip(chunks, nulls):
            enc.feed(null.view(np.uint8) if null is not None else np.zeros(len(chunk), np.uint8))
    if width >= 0:
        for chunk, null in zip(chunks, nulls):
            enc.feed(_arrow_fixed(np, chunk, width, null))
        return
    parts = [_arrow_binary(np, chunk, width, null) for chunk, null in zip(chunks, nulls)]
    for (offsets, _), null in zip(parts, nulls):
        _feed_lengths(enc, np, offsets, null)
    for _, raw in parts:
        enc.feed(raw)


def _arrow_nulls(np: Any, chunk: Any) -> Any:
    """Boolean null mask of a chunk, or None when it has no nulls."""
    if not chunk.null_count:
        return None
    bits = np.unpackbits(np.frombuffer(chunk.buffers()[0], np.uint8), bitorder="little")
    return bits[chunk.offset : chunk.offset + len(chunk)] == 0


def _arrow_fixed(np: Any, chunk: Any, width: int, null: Any) -> Any:
    start, n = chunk.offset, len(chunk)
    buffer = chunk.buffers()[1]
    if width == 0:  # booleans are bit-packed
        raw = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little")[start : start + n]
    else:
        raw = np.frombuffer(buffer, np.uint8)[start * width : (start + n) * width]
    if null is not None:
        raw = raw.reshape(n, max(width, 1)).copy()
        raw[null] = 0
    return raw.reshape(-1)


def _arrow_binary(np: Any, chunk: Any, width: int, null: Any) -> tuple[Any, Any]:
    """(offsets, value bytes) of a string or binary chunk, both views of its buffers when it has no nulls."""
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], "<i4" if width == -4 else "<i8")
    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1]
    raw = np.frombuffer(buffers[2], np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    raw = raw[offsets[0] : offsets[-1]] if len(offsets) else raw[:0]
    if null is not None:
        lengths = np.diff(offsets)
        if lengths[null].any():  # bytes under null slots are not part of the value
            raw = raw[np.repeat(~null, lengths)]
    return offsets, raw


def _feed_lengths(enc: Encoder, np: Any, offsets: Any, null: Any) -> None:
    """The lengths (``<i8``, 0 for a null slot) between ``offsets``, in bounded pieces: never all at once."""
    step = _CHUNK // 8
    for start in range(0, max(len(offsets) - 1, 0), step):
        piece = np.diff(offsets[start : start + step + 1]).astype("<i8", copy=False)
        if null is not None:
            piece[null[start : start + step]] = 0
        enc.feed(piece)
