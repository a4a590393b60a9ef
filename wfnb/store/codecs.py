"""Values to payload bytes and back, losslessly, without copying large buffers.

A codec is chosen by the value's exact type, most specific first:

``json``
    Plain data whose JSON round trip is exact (None, bool, int, float, str, lists,
    dicts with str keys; NaN and infinities allowed). Readable in the store with
    any tool. A tuple, an int subclass or a list that appears twice would come
    back changed, so those go to pickle.
``ndarray``
    ``type(x) is np.ndarray`` with a dtype that ``.npy`` describes exactly (no
    objects, no metadata): the raw memory, described by dtype, shape and order.
``module``
    A module object, stored by name and re-imported.
``pickle``
    Everything else (DataFrames too), through cloudpickle protocol 5 with the
    large buffers out of band, each aligned to 64 bytes, so neither writing nor
    reading copies them. Loading a pickle runs code: a store must be trusted
    like code.

``encode`` returns the payload as a list of buffer parts (views of the value's
own memory); ``decode`` rebuilds the value from a payload that the store has
read into one writable, 64-byte-aligned buffer, again as views of it.
"""

from __future__ import annotations

import ast
import copyreg
import importlib
import io
import json
import mmap
import pickle
import sys
import types
import warnings
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any, Literal, cast

import cloudpickle

if TYPE_CHECKING:  # numpy is imported when an array is stored or read: a step of plain values never needs it
    import numpy as np

from wfnb.errors import UnstorableValue

CodecName = Literal["json", "ndarray", "module", "pickle"]
CODECS: tuple[CodecName, ...] = ("json", "ndarray", "module", "pickle")
ENVIRONMENT_DEPENDENT = frozenset({"module", "pickle"})  # decoding may fail though the bytes are intact
ALIGN = 64  # cache-line and AVX-512 alignment for out-of-band buffers
_JSON_MAX_NODES = 100_000  # past this, pickle is faster and nobody reads the JSON
_JSON_MAX_DEPTH = 200  # json's C encoder recurses
_JSON_MAX_INT_BITS = 13_000  # int('…') refuses more than 4300 digits by default
_ZEROS = bytes(ALIGN)


@dataclass(frozen=True)
class Encoded:
    """A value ready to be written: codec, JSON-able meta, and payload parts.

    The payload is exactly the concatenation of ``parts`` (padding included).
    Parts are views of the value's memory, so the value must not be mutated
    before the object is written.
    """

    codec: CodecName
    meta: dict[str, Any]
    parts: tuple[Any, ...]

    @property
    def payload_size(self) -> int:
        """Total size of the payload in bytes."""
        return sum(memoryview(part).nbytes for part in self.parts)


def encode(value: object) -> Encoded:
    """Encode ``value`` with the most specific codec that round-trips it exactly.

    Raises
    ------
    UnstorableValue
        If the value needs pickle and does not pickle (generators, locks,
        sockets, …). The message names the type and the reason.
    """
    if _is_exact_json(value):
        text = json.dumps(value, ensure_ascii=True, allow_nan=True, separators=(",", ":"))
        return Encoded("json", {}, (text.encode("ascii"),))
    numpy: Any = sys.modules.get("numpy")  # not imported here: a store of plain values never loads numpy
    if numpy is not None and type(value) is numpy.ndarray:
        encoded = _encode_ndarray(cast("np.ndarray", value))
        if encoded is not None:
            return encoded
    if isinstance(value, types.ModuleType) and sys.modules.get(value.__name__) is value:
        return Encoded("module", {"name": value.__name__}, ())
    return _encode_pickle(value)


def decode_encoded(encoded: Encoded) -> object:
    """Decode an ``Encoded`` value in memory, as a read from the store would (for round-trip checks)."""
    import numpy as np

    payload = np.empty(encoded.payload_size, np.uint8)
    offset = 0
    for part in encoded.parts:
        view = memoryview(part).cast("B")
        payload[offset : offset + view.nbytes] = np.frombuffer(view, np.uint8)
        offset += view.nbytes
    return decode(encoded.codec, encoded.meta, payload)


def decode(codec: str, meta: dict[str, Any], payload: Any) -> object:
    """Rebuild a value from its codec, meta and payload (any bytes-like object).

    Given a writable buffer (as the store passes), arrays are views of it: no
    copy. Given read-only bytes, the payload is copied once so that the arrays
    are writable, as they were before they were stored.
    """
    if codec == "json":
        return json.loads(bytes(memoryview(payload)))
    if codec == "ndarray":
        return _decode_ndarray(meta, payload)
    if codec == "module":
        return importlib.import_module(meta["name"])
    if codec == "pickle":
        buf = memoryview(_writable_bytes(payload))
        end = meta["pickle_size"]
        views = [buf[offset : offset + size] for offset, size in meta["buffers"]]
        if end > len(buf) or any(len(view) != size for view, (_, size) in zip(views, meta["buffers"])):
            raise ValueError("pickle payload is shorter than its meta says")
        return pickle.loads(buf[:end], buffers=views)
    raise ValueError(f"unknown codec {codec!r} (written by a newer wfnb?)")


def map_ndarray(meta: dict[str, Any], fd: int, offset: int, size: int) -> np.ndarray:
    """An ``ndarray`` payload as a plain array over a copy-on-write map of its file.

    Nothing is read now: pages are read when first touched. The map is private,
    so writing to the array (allowed unless it was stored read-only) never
    reaches the file. The array is a plain ``np.ndarray`` (not ``np.memmap``),
    so it hashes exactly like the array read eagerly.
    """
    import numpy as np

    whole = mmap.mmap(fd, offset + size, access=mmap.ACCESS_COPY)
    return _decode_ndarray(meta, np.frombuffer(whole, dtype=np.uint8, count=size, offset=offset))


def aligned_buffer(size: int) -> np.ndarray:
    """A writable uint8 array of ``size`` bytes whose start is 64-byte aligned.

    The store reads payloads into it with ``readinto``: a numpy allocation
    costs far fewer page faults than a fresh ``bytes`` of the same size.
    """
    import numpy as np

    raw = np.empty(size + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start : start + size]


def type_name(value: object) -> str:
    """``module.QualName`` of a value's type, for messages."""
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


# ----- json
def _is_exact_json(value: object) -> bool:
    """True if ``json.loads(json.dumps(value))`` gives back exactly ``value``.

    Exact types only (a subclass would come back as its base), str keys only,
    and no container reachable twice (aliasing and cycles would be lost).
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen: set[int] = set()
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        kind = type(item)
        if item is None or kind is bool or kind is float or kind is str:
            continue
        if kind is int:
            if item.bit_length() > _JSON_MAX_INT_BITS:
                return False
            continue
        if kind is not list and kind is not dict:
            return False
        if id(item) in seen or depth >= _JSON_MAX_DEPTH or nodes + len(item) > _JSON_MAX_NODES:
            return False
        seen.add(id(item))
        if kind is dict:
            if any(type(key) is not str for key in item):
                return False
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)
    return True


# ----- ndarray
def _encode_ndarray(arr: np.ndarray) -> Encoded | None:
    import numpy as np

    descr = _exact_descr(arr.dtype)
    if descr is None:
        return None
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        arr = np.ascontiguousarray(arr)  # one bounded copy; strided views are rare outputs
    order = "C" if arr.flags.c_contiguous else "F"
    meta: dict[str, Any] = {"dtype": descr, "shape": list(arr.shape), "order": order}
    if not arr.flags.writeable:
        meta["writeable"] = False
    if arr.nbytes == 0:
        return Encoded("ndarray", meta, ())
    flat = (arr if order == "C" else arr.T).reshape(-1)  # a view: the memory is contiguous
    return Encoded("ndarray", meta, (memoryview(flat.view(np.uint8)),))  # type: ignore[arg-type]  # numpy's stubs give ndarray a buffer only from Python 3.12


def _decode_ndarray(meta: dict[str, Any], payload: Any) -> np.ndarray:
    import numpy as np

    dtype = _dtype_from_descr(meta["dtype"])
    shape = tuple(meta["shape"])
    order = meta["order"]
    if order not in ("C", "F") or any(type(n) is not int or n < 0 for n in shape):
        raise ValueError(f"bad array meta {meta!r}")
    size = prod(shape) * dtype.itemsize
    if size == 0:
        arr = np.empty(shape, dtype=dtype, order=order)
    else:
        buf = _writable_bytes(payload)
        if buf.nbytes != size:
            raise ValueError(f"array payload has {buf.nbytes} bytes, its meta says {size}")
        arr = buf.view(dtype).reshape(shape, order=order)
    if meta.get("writeable", True) is False:
        arr.flags.writeable = False
    return arr


def _exact_descr(dtype: np.dtype) -> str | None:
    """The ``.npy`` description of ``dtype`` as a string, or None if it is not exact."""
    from numpy.lib.format import descr_to_dtype, dtype_to_descr

    if dtype.hasobject:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # metadata or custom dtypes would be lost
            descr = dtype_to_descr(dtype)
            if descr_to_dtype(descr) != dtype:
                return None
    except Exception:  # noqa: BLE001 - any doubt means pickle, which is exact
        return None
    return descr if isinstance(descr, str) else repr(descr)


def _dtype_from_descr(text: str) -> np.dtype:
    """Inverse of ``_exact_descr``: structured descriptions are Python literals, as in ``.npy``."""
    from numpy.lib.format import descr_to_dtype

    if not isinstance(text, str):
        raise ValueError(f"bad dtype description {text!r}")
    return descr_to_dtype(ast.literal_eval(text) if text.startswith("[") else text)  # type: ignore[arg-type]  # a plain str too


# ----- pickle
_NEWOBJ = copyreg.__newobj__  # type: ignore[attr-defined]  # pickle's own constructor call; typeshed leaves it out


class _Pickler(cloudpickle.CloudPickler):
    """cloudpickle, except for Arrow-backed pandas arrays and dicts that are their own ``__dict__``.

    A dict subclass whose ``__dict__`` is the dict itself (``self.__dict__ = self``,
    statsmodels' ``Dataset``, attribute-style configs) comes back from a plain pickle
    with a separate ``__dict__``: an attribute set later is no longer a key. It is
    rebuilt as it was. scikit-learn's ``Bunch`` (what ``permutation_importance`` and the
    ``load_*`` functions return) ignores its state when unpickled, so it came back without
    the attributes it had; its attributes are set back without its ``__setstate__``.

    pandas pickles an ``ArrowExtensionArray`` by combining its chunks first: a
    copy of every string of a column (and as much memory again) just to write it.
    Pickled as the chunked array it holds, its buffers go out of band like any
    other, and ``__setstate__`` (pandas' own) rebuilds it the same. Arrays that are
    slices of much bigger buffers keep pandas' way, which writes only the slice.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._arrow_types = _plain_arrow_array_types()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, dict) and type(obj) is not dict and _is_own_attribute_dict(obj):
            return _attribute_dict, (type(obj),), None, None, iter(dict.items(obj))
        if isinstance(obj, dict) and _is_sklearn_bunch(type(obj)):
            return _NEWOBJ, (type(obj),), dict(object.__getattribute__(obj, "__dict__")), None, iter(dict.items(obj)), _set_attributes
        if type(obj) in self._arrow_types:
            chunked = obj._pa_array
            if chunked.get_total_buffer_size() <= chunked.nbytes * 1.05 + 4096:
                return _NEWOBJ, (type(obj),), {**obj.__dict__, "_pa_array": chunked, "_cache": {}}
        return super().reducer_override(obj)


def _is_own_attribute_dict(obj: dict[Any, Any]) -> bool:
    try:
        return object.__getattribute__(obj, "__dict__") is obj
    except Exception:  # noqa: BLE001 - no __dict__ (slots), or a descriptor that fails
        return False


def _attribute_dict(kind: type[dict[Any, Any]]) -> dict[Any, Any]:
    """An empty ``kind`` whose ``__dict__`` is itself; the pickle then fills its items."""
    obj = kind.__new__(kind)
    obj.__dict__ = obj
    return obj


def _is_sklearn_bunch(kind: type) -> bool:
    """A ``sklearn.utils.Bunch`` (or a subclass) that keeps Bunch's own pickling."""
    module = sys.modules.get("sklearn.utils._bunch")
    bunch = getattr(module, "Bunch", None)
    return bunch is not None and issubclass(kind, bunch) and getattr(kind, "__setstate__", None) is bunch.__setstate__ and kind.__reduce_ex__ is bunch.__reduce_ex__


def _set_attributes(obj: object, state: dict[str, Any]) -> None:
    object.__getattribute__(obj, "__dict__").update(state)


def _plain_arrow_array_types() -> frozenset[type]:
    """pandas' Arrow-backed array classes that pickle through pandas' own ``__getstate__``/``__setstate__``."""
    pd = sys.modules.get("pandas")
    base = getattr(getattr(pd, "arrays", None), "ArrowExtensionArray", None)
    if base is None:
        return frozenset()
    found, stack = set(), [base]
    while stack:
        kind = stack.pop()
        stack.extend(kind.__subclasses__())
        if kind.__getstate__ is base.__getstate__ and kind.__setstate__ is base.__setstate__ and kind.__reduce_ex__ is base.__reduce_ex__:
            found.add(kind)
    return frozenset(found)


def _encode_pickle(value: object) -> Encoded:
    buffers: list[pickle.PickleBuffer] = []
    try:
        with io.BytesIO() as file:
            _Pickler(file, protocol=5, buffer_callback=buffers.append).dump(value)
            data = file.getvalue()
    except Exception as err:  # pickling can fail in any way a __reduce__ likes
        raise UnstorableValue(unpicklable_message(value, err)) from err
    parts: list[Any] = [data]
    offset = len(data)
    spans = []
    for buffer in buffers:
        try:
            raw = buffer.raw()
        except BufferError:  # a non-contiguous exporter: copy that one
            raw = memoryview(memoryview(buffer).tobytes())
        pad = -offset % ALIGN
        if pad:
            parts.append(_ZEROS[:pad])
        offset += pad
        spans.append([offset, raw.nbytes])
        parts.append(raw)
        offset += raw.nbytes
    meta = {"type": type_name(value), "pickle_size": len(data), "buffers": spans}
    return Encoded("pickle", meta, tuple(parts))


def unpicklable_message(value: object, err: Exception) -> str:
    name = type_name(value)
    if isinstance(err, RecursionError) or "recursion" in str(err):  # cloudpickle rewraps it
        why = "it is nested too deeply to be pickled (RecursionError)"
    else:
        detail = " ".join(str(err).split())
        detail = detail if len(detail) <= 200 else detail[:197] + "..."
        why = f"objects of type {name!r} cannot be pickled ({type(err).__name__}: {detail})"
    return (
        f"A value of type {name!r} cannot be stored: {why}. Keep it out of the step's outputs "
        "(del it at the end of the cell, or create it in a plain cell)."
    )


def unloadable_message(value: object, err: Exception) -> str:
    """Why a value that pickles cannot be stored: it does not load back."""
    name = type_name(value)
    detail = " ".join(str(err).split())
    detail = detail if len(detail) <= 200 else detail[:197] + "..."
    return (
        f"A value of type {name!r} cannot be stored: it pickles, but loading it back fails "
        f"({type(err).__name__}: {detail}), so a later session could not restore it. Keep it out of the "
        "step's outputs (del it at the end of the cell), or give its class a __getstate__/__setstate__ "
        "or a __getattr__ that raises AttributeError for names it does not have."
    )


def _writable_bytes(payload: Any) -> Any:
    """``payload`` as a writable uint8 array: a view if it is writable, else one copy.

    Without numpy loaded, the payload is a plain pickle read into a ``bytearray`` (``objects.payload_buffer``)
    and stays one: importing numpy only to wrap it would cost a first cache hit a tenth of a second.
    """
    if "numpy" not in sys.modules and not memoryview(payload).readonly:
        return memoryview(payload).cast("B")
    import numpy as np

    buf = np.frombuffer(payload, dtype=np.uint8) if memoryview(payload).nbytes else np.empty(0, np.uint8)
    if not buf.flags.writeable:
        copy = aligned_buffer(buf.nbytes)
        copy[:] = buf
        buf = copy
    return buf
