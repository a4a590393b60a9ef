"""The encoding behind ``wfnb.cache.hashing``: a value as a self-delimiting stream of bytes.

Each value is written to a streaming xxh3-128 hasher as a tag for its kind, then
lengths and content, so that the encoding is injective (``["a", "b"]`` and
``["ab"]``, lists and tuples, ``1``, ``1.0`` and ``True`` differ). The traversal
keeps its own stack, so deep nesting needs no recursion, and a memo of the mutable
objects seen so far turns cycles into back-references.

Built-in values are encoded here; functions, classes and modules by
``wfnb.cache.codehash``; numpy, pandas and Arrow data by ``wfnb.cache.datahash``,
whose handlers ``wfnb.cache.hashing`` adds with ``add_finder``.
"""

from __future__ import annotations

import copyreg
import dis
import functools
import io
import struct
import types
from collections.abc import Callable, Iterator
from typing import Any

import xxhash

from wfnb.cache import codehash, libraryobjects, setorder
from wfnb.cache.codeorigin import is_user_file, library_version
from wfnb.errors import UnhashableValue

HASH_VERSION = b"wfnb-hash-2\0"  # fed first; bump on any change of the encoding (tests pin digests)

_FLUSH_AT = 1 << 16  # bytes buffered before they go to the hasher
_MAX_DEPTH = 100_000  # nesting beyond this is refused rather than exhausting memory
_NEWOBJ = copyreg.__newobj__  # type: ignore[attr-defined]  # what pickle calls for cls.__new__(cls); typeshed leaves it out
_I64 = 1 << 63

_pack_len = struct.Struct("<Q").pack
_pack_i64 = struct.Struct("<q").pack
_pack_f64 = struct.Struct("<d").pack
_pack_c128 = struct.Struct("<dd").pack

Handler = Callable[["Encoder", Any], Iterator[object]]


class Encoder:
    """One hash computation: the hasher, a write buffer, the memo and the work stack.

    Handlers are generators: they write bytes and yield sub-values, which ``run``
    encodes completely before resuming them, so the bytes come out in order.
    """

    __slots__ = ("hasher", "buf", "memo", "memo_ids", "keep", "stack", "parts")

    def __init__(self) -> None:
        self.hasher = xxhash.xxh3_128()
        self.buf = bytearray()
        self.memo: dict[int, int] = {}  # id -> position, for mutable objects seen so far
        self.memo_ids: list[int] = []
        self.keep: list[object] = []  # keeps memoized objects alive, so no id is reused
        self.stack: list[Iterator[object]] = []
        self.parts: list[tuple[Any, bytearray, int]] = []

    def write(self, data: bytes) -> None:
        self.buf += data

    def write_len(self, n: int) -> None:
        self.buf += _pack_len(n)

    def write_str(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self.buf += _pack_len(len(data))
        self.buf += data

    def feed(self, data: Any) -> None:
        """Send a large buffer straight to the hasher, without copying it."""
        if self.buf:
            self.flush()
        self.hasher.update(data)

    def flush(self) -> None:
        self.hasher.update(self.buf)
        self.buf.clear()

    def begin_part(self) -> None:
        """Hash what follows separately (a set element), with the memo as it is now."""
        self.parts.append((self.hasher, self.buf, len(self.memo_ids)))
        self.hasher, self.buf = xxhash.xxh3_128(), bytearray()

    def end_part(self) -> bytes:
        self.flush()
        digest = self.hasher.digest()
        self.hasher, self.buf, mark = self.parts.pop()
        for key in self.memo_ids[mark:]:
            del self.memo[key]
        del self.memo_ids[mark:]
        return digest

    def digest_of(self, value: object) -> bytes:
        """Digest of a value on its own (fresh memo), e.g. to cache a code object's digest."""
        sub = Encoder()
        sub.run(value)
        sub.flush()
        return sub.hasher.digest()

    def digest_or_none(self, value: object) -> bytes | None:
        """Digest of a value hashed apart (sharing the memo), or None if it cannot be hashed."""
        saved = self.hasher, self.buf, self.stack, len(self.memo_ids)
        self.hasher, self.buf, self.stack = xxhash.xxh3_128(), bytearray(), []
        try:
            self.run(value)
            self.flush()
            return self.hasher.digest()
        except UnhashableValue:
            for key in self.memo_ids[saved[3] :]:  # nothing half-hashed may be referred back to
                del self.memo[key]
            del self.memo_ids[saved[3] :]
            return None
        finally:
            self.hasher, self.buf, self.stack = saved[:3]

    def run(self, root: object) -> None:
        stack = self.stack
        try:
            self.visit(root)
            while stack:
                try:
                    item = next(stack[-1])
                except StopIteration:
                    stack.pop()
                    continue
                self.visit(item)
                if len(self.buf) > _FLUSH_AT:
                    self.flush()
        except UnhashableValue as err:
            path = _describe_path(stack)
            if not path:
                raise
            raise UnhashableValue(f"{err} It was reached through {path}.") from err.__cause__

    def visit(self, obj: object) -> None:
        kind = type(obj)
        writer = _ATOMS.get(kind)
        if writer is not None:
            writer(self.buf, obj)
            return
        handler, memoize = _HANDLERS.get(kind) or _resolve(kind)
        if memoize:
            key = id(obj)
            position = self.memo.get(key)
            if position is not None:
                self.buf += b"@"
                self.buf += _pack_len(position)
                return
            self.memo[key] = len(self.memo_ids)
            self.memo_ids.append(key)
            self.keep.append(obj)
        self.stack.append(handler(self, obj))
        if len(self.stack) > _MAX_DEPTH:
            raise UnhashableValue(
                f"This value cannot be hashed: it is nested more than {_MAX_DEPTH} levels deep. "
                "Flatten it, or keep it out of the step's inputs."
            )


def _describe_path(stack: list[Iterator[object]]) -> str:
    """Where the encoder was, from the ``_where``/``_key`` locals of the suspended handlers."""
    steps = []
    for gen in stack:
        frame = getattr(gen, "gi_frame", None)
        if frame is None:
            continue
        local = frame.f_locals
        if "_where" in local:
            steps.append(str(local["_where"]))
        elif "_key" in local:
            steps.append(f"key {local['_key']!r}")
    return " → ".join(steps)


# ---- atoms: written in place, never memoized ------------------------------------------------


def _w_none(buf: bytearray, obj: None) -> None:
    buf += b"N"


def _w_bool(buf: bytearray, obj: bool) -> None:
    buf += b"T" if obj else b"F"


def _w_int(buf: bytearray, obj: int) -> None:
    if -_I64 <= obj < _I64:
        buf += b"i"
        buf += _pack_i64(obj)
    else:
        data = obj.to_bytes((obj.bit_length() + 8) // 8, "little", signed=True)
        buf += b"I"
        buf += _pack_len(len(data))
        buf += data


_NAN = _pack_f64(float("nan"))


def _w_float(buf: bytearray, obj: float) -> None:
    buf += b"f"
    buf += _pack_f64(obj) if obj == obj else _NAN  # the IEEE bits: -0.0 != 0.0; every NaN is one NaN


def _w_complex(buf: bytearray, obj: complex) -> None:
    buf += b"c"
    buf += _pack_c128(obj.real, obj.imag)


def _w_str(buf: bytearray, obj: str) -> None:
    data = obj.encode("utf-8", "surrogatepass")
    buf += b"s"
    buf += _pack_len(len(data))
    buf += data


def _w_bytes(buf: bytearray, obj: bytes) -> None:
    buf += b"b"
    buf += _pack_len(len(obj))
    buf += obj


_ATOMS: dict[type, Callable[[bytearray, Any], None]] = {
    type(None): _w_none,
    bool: _w_bool,
    int: _w_int,
    float: _w_float,
    complex: _w_complex,
    str: _w_str,
    bytes: _w_bytes,
    type(...): lambda buf, obj: buf.extend(b"."),
    type(NotImplemented): lambda buf, obj: buf.extend(b"!"),
}


# ---- containers ----------------------------------------------------------------------------


def _items(enc: Encoder, items: Any) -> Iterator[object]:
    """Elements in order: atoms written here, anything else yielded to the encoder."""
    buf, atoms = enc.buf, _ATOMS
    for item in items:
        writer = atoms.get(type(item))
        if writer is None:
            yield item
        else:
            writer(buf, item)
            if len(buf) > _FLUSH_AT:
                enc.flush()


def _enc_list(enc: Encoder, obj: list[Any]) -> Iterator[object]:
    enc.write(b"L")  # written now, before anything else: the encoder calls handlers in order
    enc.write_len(len(obj))
    return _items(enc, obj)  # one generator per level, not two: deep nesting stays small


def _enc_tuple(enc: Encoder, obj: tuple[Any, ...]) -> Iterator[object]:
    enc.write(b"t")
    enc.write_len(len(obj))
    return _items(enc, obj)


def _enc_dict(enc: Encoder, obj: dict[Any, Any]) -> Iterator[object]:
    enc.write(b"D")  # in insertion order: code can observe it
    enc.write_len(len(obj))
    buf, atoms = enc.buf, _ATOMS
    for _key, value in obj.items():
        for part in (_key, value):
            writer = atoms.get(type(part))
            if writer is None:
                yield part
            else:
                writer(buf, part)


def _enc_set(enc: Encoder, obj: set[Any] | frozenset[Any]) -> Iterator[object]:
    if len(obj) > 1 and setorder.has_fixed_order(obj):
        # numbers: every plain run iterates them in the same order, which list(s) and `for` see
        enc.write(b"Q" if type(obj) is set else b"q")
        enc.write_len(len(obj))
        return _items(enc, obj)
    return _enc_unordered_set(enc, obj)


def _enc_unordered_set(enc: Encoder, obj: set[Any] | frozenset[Any]) -> Iterator[object]:
    digests = []
    atoms = _ATOMS
    for item in obj:  # each element hashed on its own, then sorted: order-independent
        writer = atoms.get(type(item))
        if writer is None:
            enc.begin_part()
            yield item
            digests.append(enc.end_part())
        else:
            part = bytearray()
            writer(part, item)
            digests.append(xxhash.xxh3_128_digest(part))
    digests.sort()
    enc.write(b"S" if type(obj) is set else b"Z")
    enc.write_len(len(digests))
    enc.write(b"".join(digests))


def _enc_bytearray(enc: Encoder, obj: bytearray) -> Iterator[object]:
    enc.write(b"B")
    enc.write_len(len(obj))
    enc.feed(obj)
    yield from ()


def _enc_mappingproxy(enc: Encoder, obj: Any) -> Iterator[object]:
    enc.write(b"V")  # a read-only view of a dict: hashed as the dict it shows
    yield dict(obj)


def _atom_once(enc: Encoder, obj: object) -> Iterator[object]:
    _ATOMS[type(obj)](enc.buf, obj)
    yield from ()


# ---- anything else: the pickle protocol ----------------------------------------------------


def _enc_library_object(enc: Encoder, obj: object, named: tuple[str, str]) -> Iterator[object]:
    """A library's module-level object (``scipy.stats.t``), as a restore gives it back: by name
    (``wfnb.cache.libraryobjects``), with the library's version and the data it holds (a random
    generator, settings). Its callable attributes are the library's code, which the version
    stands for: the lazily built ones (scipy's vectorized methods fill caches on a first call)
    would make the object hash otherwise after a hit than after a plain run that called it."""
    enc.write(b"~o")
    enc.write_str(named[0])
    enc.write_str(named[1])
    enc.write_str(library_version(named[0]) or "")
    yield {key: value for key, value in vars(obj).items() if not callable(value) or _is_user_function(value)}


def _is_user_function(value: object) -> bool:
    """A function of the notebook's (a callback set on the library's object): hashed by its code."""
    code = getattr(value, "__code__", None)
    return isinstance(code, types.CodeType) and is_user_file(code.co_filename)


def _container_reduce(obj: object) -> tuple[Any, ...] | None:
    """What ``__reduce_ex__(4)`` gives for a dict or list subclass on Python 3.11+, made without
    asking the object: on 3.10 its ``__getattr__`` is asked for ``__getstate__`` (an attribute-style
    config, ``__getattr__ = dict.__getitem__``, raises KeyError there)."""
    if not isinstance(obj, (dict, list)):
        return None
    try:
        state = object.__getattribute__(obj, "__dict__") or None
    except AttributeError:
        state = None
    if isinstance(obj, dict):
        return (_NEWOBJ, (type(obj),), state, None, iter(dict.items(obj)))
    return (_NEWOBJ, (type(obj),), state, iter(list.__iter__(obj)), None)


def _enc_reduced(enc: Encoder, obj: object) -> Iterator[object]:
    if isinstance(obj, io.IOBase) and obj.closed:  # what is left of a file once closed: its name and mode
        enc.write(b"C")
        yield type(obj).__qualname__
        yield str(getattr(obj, "name", ""))
        yield str(getattr(obj, "mode", ""))
        return
    if _closed_h5py_file(obj):  # what is left of an HDF5 file once closed: nothing but its kind
        enc.write(b"C")
        yield "h5py.File"
        yield ""
        yield ""
        return
    named = libraryobjects.reference(obj) if type(getattr(obj, "__dict__", None)) is dict else None
    if named is not None:  # one whose state lives in C (numpy's global RandomState) is hashed by it, below
        yield from _enc_library_object(enc, obj, named)
        return
    if callable(obj):
        token = codehash.global_token(obj)
        if token is not None:  # e.g. a numpy ufunc or a dispatcher: library code, by name
            codehash.write_global(enc, token)
            return
    reducer = copyreg.dispatch_table.get(type(obj))
    reduced: Any
    try:
        reduced = reducer(obj) if reducer is not None else obj.__reduce_ex__(4)
    except Exception as exc:
        reduced = _container_reduce(obj)
        if reduced is None:
            raise UnhashableValue(_unhashable_message(obj, str(exc))) from exc
    if isinstance(reduced, str):
        yield from codehash.enc_named_object(enc, obj, reduced)
        return
    if not isinstance(reduced, tuple) or not 2 <= len(reduced) <= 6:
        raise UnhashableValue(_unhashable_message(obj, f"__reduce_ex__ returned {type(reduced).__name__}"))
    func, args, state, list_items, dict_items, setter = reduced + (None,) * (6 - len(reduced))
    if state is not None and _ignores_state(type(obj)):  # type: ignore[arg-type]  # a class is hashable
        state = None  # what the class throws away on loading is not part of what the value is
    if type(obj) is functools.partial and isinstance(state, tuple) and len(state) == 4 and not state[3]:
        state = (*state[:3], None)  # reading a partial's __dict__ creates an empty one: not a change
    enc.write(b"R")
    yield func
    yield args
    yield _state_by_content(state)
    yield None if list_items is None else list(list_items)
    yield None if dict_items is None else list(dict_items)
    yield setter


def _state_by_content(state: Any) -> Any:
    """An object's pickled state as content: its ``__dict__`` (which ``__reduce_ex__`` hands back
    itself) as a copy, so that the hash does not depend on whether that dict object was met elsewhere
    in the value (``{'args': args, 'cfg': vars(args)}``): a restore rebuilds ``__dict__`` as a new
    dict, and a back-reference to it would turn into content, changing the hash of an equal value."""
    if type(state) is dict:
        return dict(state) if state else None  # an empty __dict__, made by reading it, is no state
    if type(state) is tuple and len(state) == 2 and all(part is None or type(part) is dict for part in state):
        return tuple(None if part is None else dict(part) for part in state)  # (__dict__, slots)
    return state


def _closed_h5py_file(obj: object) -> bool:
    """An ``h5py.File`` closed by the ``with`` block that opened it (``with h5py.File(p) as f:``)."""
    kind = type(obj)
    return kind.__name__ == "File" and kind.__module__.startswith("h5py.") and not obj


@functools.cache
def _ignores_state(kind: type) -> bool:
    """Whether the class's ``__setstate__`` is written to do nothing (``def __setstate__(self, state): pass``).

    scikit-learn's ``Bunch`` does so: a ``Bunch`` it makes holds a ``__dict__`` entry that
    a pickle round trip drops. Hashed with it, the value a step made and the same value
    restored from the store would differ, and the steps reading it would re-run.
    """
    setstate = getattr(kind, "__setstate__", None)
    code = getattr(setstate, "__code__", None)
    if code is None or code.co_argcount != 2:
        return False
    body = [ins for ins in dis.get_instructions(code) if ins.opname not in ("RESUME", "NOP", "CACHE")]
    if [ins.opname for ins in body] == ["RETURN_CONST"]:  # Python 3.12+
        return body[0].argval is None
    return [ins.opname for ins in body] == ["LOAD_CONST", "RETURN_VALUE"] and body[0].argval is None


def _unhashable_message(obj: object, reason: str) -> str:
    kind = type(obj)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return (
        f"This value cannot be hashed: objects of type {name!r} have no content to compare "
        f"({reason}). wfnb reuses a cached result only when everything the step reads has the "
        "same content; turn it into plain data (e.g. list(...) for a generator, a path instead "
        "of an open file), or create it inside the step that uses it."
    )


# ---- dispatch --------------------------------------------------------------------------


_HANDLERS: dict[type, tuple[Handler, bool]] = {  # and each type seen since, with its handler
    list: (_enc_list, True),
    dict: (_enc_dict, True),
    set: (_enc_set, True),
    bytearray: (_enc_bytearray, True),
    tuple: (_enc_tuple, False),
    frozenset: (_enc_set, False),
    type(type.__dict__): (_enc_mappingproxy, False),
}


Finder = Callable[[type], "tuple[Handler, bool] | None"]
_FINDERS: list[Finder] = [codehash.handler_for]


def add_finder(find: Finder) -> None:
    """Let ``find`` choose the handler of a type seen for the first time (before the pickle protocol)."""
    if find not in _FINDERS:  # added on import, before any type has been resolved
        _FINDERS.append(find)


def _resolve(kind: type) -> tuple[Handler, bool]:
    """Find (and cache) the handler for a type seen for the first time."""
    entry = None
    for find in _FINDERS:
        entry = find(kind)
        if entry is not None:
            break
    if entry is None:
        immutable = f"{kind.__module__}.{kind.__qualname__}" in _VALUE_TYPES
        entry = (_enc_reduced, not immutable)
    _HANDLERS[kind] = entry
    return entry


# Immutable types that go through the pickle protocol: not memoized, so that two equal
# values hash equal whether or not they are the same object.
_VALUE_TYPES = frozenset(
    {
        "datetime.date",
        "datetime.datetime",
        "datetime.time",
        "datetime.timedelta",
        "datetime.timezone",
        "decimal.Decimal",
        "fractions.Fraction",
        "uuid.UUID",
        "builtins.range",
        "builtins.slice",
        "pathlib.PurePosixPath",
        "pathlib.PosixPath",
        "pathlib.PureWindowsPath",
        "pathlib.WindowsPath",
        "pandas.Timestamp",
        "pandas.Timedelta",
    }
)
