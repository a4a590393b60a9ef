"""A step's outputs, changed inputs and effects stored as one object graph, restored equal *and* the same.

After a run, two outputs may share a list, an output may be a part of an input
(``sub = d["a"]``, a view of an input array), and a change made through a container
input (``box[0].append(1)``) is seen by every name that holds the changed object.
Pickling each name apart would restore copies. So everything a step leaves behind is
pickled once, as one graph, in which:

- an object that existed before the step, reached from an input the step did not
  change, is stored as its *path* from that input (``("d", ("k", "a"))``) and restored
  as the very object the notebook holds;
- a large array or frame is stored as its own content-addressed object (a *leaf*, written
  once however many steps produce it, restored without a copy), with its layout (memory
  order, writeable flag) kept per reference, since equal content is stored once;
- a view of another array in the graph (or of an input) is stored as a view of it;
- a library's own module-level object (``scipy.stats.norm``) is stored by name and restored
  as the library's object (``wfnb.cache.libraryobjects``).

A changed input is not replaced on a hit but brought *in place* to its new state
(``sync``), so that the objects the rest of the notebook holds see the change.
"""

from __future__ import annotations

import copyreg
import io
import itertools
import os
import pickle
import sys
import threading
import types
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wfnb.cache import libraryobjects, setorder
from wfnb.cache.encoder import _closed_h5py_file
from wfnb.store.codecs import _Pickler, _set_attributes

Path = tuple[Any, ...]  # (name, (kind, key), ...): kind "i" index, "k" dict key, "a" attribute, "x" a frame's axis
GRAPH_FORMAT = 1  # bump when the graph's pickle changes meaning
LEAF_MIN_BYTES = 64 << 10  # arrays and frames from this size are leaves: stored once, restored without a copy
_INDEX_BUDGET = 100_000  # objects indexed per step, at most: past it, parts of inputs are stored as copies
_PER_CONTAINER = 10_000  # items of one container looked into: a shared part is rarely deeper in a long list
_SCAN_DEPTH = 6  # levels of the graph looked into for parts of the inputs and arrays
_ATOMS = (type(None), bool, int, float, complex, str, bytes)
_KEY_TYPES = (str, int, float, bool, type(None))
_BUILTIN_CONTAINERS = (list, dict, set, bytearray)


# ---- before the run: where every object reachable from the inputs is ---------------------------------


@dataclass
class LiveIndex:
    """Objects reachable from the step's inputs before it ran, each with its path from an input."""

    paths: dict[int, Path] = field(default_factory=dict)
    objects: dict[int, Any] = field(default_factory=dict)  # keeps them alive: no id is reused meanwhile
    has_containers: bool = False
    definitions: dict[int, tuple[str, Any]] = field(default_factory=dict)  # the notebook's classes and functions

    @classmethod
    def of(cls, namespace: dict[str, Any], names: list[str], budget: int = _INDEX_BUDGET) -> LiveIndex:
        index = cls()
        for name, value in namespace.items():  # restored as themselves wherever a step's values hold them
            if isinstance(value, (type, types.FunctionType)) and getattr(value, "__module__", None) == "__main__":
                index.definitions[id(value)] = (name, value)
        pending = deque((namespace[name], (name,)) for name in sorted(names) if name in namespace)
        while pending and len(index.paths) < budget:
            value, path = pending.popleft()
            if isinstance(value, _ATOMS) or id(value) in index.paths:
                continue
            index.paths[id(value)] = path
            index.objects[id(value)] = value
            index.has_containers |= type(value) in _BUILTIN_CONTAINERS
            pending.extend(_children(value, path))
        return index

    def restricted_to(self, roots: set[str]) -> LiveIndex:
        """Only the objects reached from the inputs in ``roots`` (those the step left unchanged)."""
        kept = LiveIndex(definitions=self.definitions)
        for key, path in self.paths.items():
            if path[0] in roots:
                kept.paths[key] = path
                kept.objects[key] = self.objects[key]
                kept.has_containers |= type(self.objects[key]) in _BUILTIN_CONTAINERS
        return kept

    def path_of(self, obj: Any, namespace: dict[str, Any] | None = None) -> Path | None:
        path = self.paths.get(id(obj))
        if path is not None and self.objects.get(id(obj)) is obj:
            return path
        definition = self.definitions.get(id(obj))
        if definition is not None and definition[1] is obj and namespace is not None and namespace.get(definition[0]) is obj:
            return (definition[0],)
        return None


def _children(value: Any, path: Path) -> list[tuple[Any, Path]]:
    """The objects directly inside ``value`` worth a path: not atoms, and not past the first few thousand."""
    kind = type(value)
    if kind in (list, tuple):
        items = itertools.islice(enumerate(value), _PER_CONTAINER)
        return [(item, (*path, ("i", i))) for i, item in items if not isinstance(item, _ATOMS)]
    if kind is dict:
        items = itertools.islice(value.items(), _PER_CONTAINER)
        return [(item, (*path, ("k", key))) for key, item in items if isinstance(key, _KEY_TYPES) and not isinstance(item, _ATOMS)]
    if isinstance(value, (type, types.FunctionType, types.ModuleType, types.MethodType)):
        return []
    if _is_leaf_type(value):
        return [(axis, (*path, ("x", name))) for name, axis in axes(value)]
    found: list[tuple[Any, Path]] = []
    if isinstance(value, dict) and kind.__getitem__ is dict.__getitem__:  # statsmodels' Dataset, attribute-style configs
        items = itertools.islice(dict.items(value), _PER_CONTAINER)
        found += [(item, (*path, ("k", key))) for key, item in items if isinstance(key, _KEY_TYPES) and not isinstance(item, _ATOMS)]
    attributes = getattr(value, "__dict__", None)
    if type(attributes) is dict and not _is_library_data(value):
        found += [(item, (*path, ("a", key))) for key, item in attributes.items() if isinstance(key, str)]
    return found


def axes(value: Any) -> list[tuple[str, Any]]:
    """A Series' or DataFrame's index (and columns): shared with the frames built from it
    (``pd.DataFrame({'total': pop})`` holds ``pop.index`` itself), so that renaming it renames theirs."""
    pd = sys.modules.get("pandas")
    if pd is None or type(value) not in (pd.Series, pd.DataFrame):
        return []
    return [("index", value.index)] + ([("columns", value.columns)] if type(value) is pd.DataFrame else [])


def _is_leaf_type(value: Any) -> bool:
    np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
    return (np is not None and isinstance(value, np.ndarray)) or (pd is not None and isinstance(value, (pd.DataFrame, pd.Series, pd.Index)))


def _is_library_data(value: Any) -> bool:
    """Objects whose attributes are internal caches rather than the user's structure (figures, frames)."""
    return _is_library_data_type(type(value))


def _is_library_data_type(kind: type) -> bool:
    module = kind.__module__  # not always a string: a descriptor on some Cython types (Cython 3.1.0)
    return isinstance(module, str) and module.partition(".")[0] in ("matplotlib", "pandas", "numpy", "pyarrow")


def resolve(namespace: dict[str, Any], path: Path) -> Any:
    """The object at ``path`` in ``namespace``; raises LookupError if it is not there."""
    value = namespace[path[0]]
    for kind, key in path[1:]:
        if kind == "a":
            try:
                value = vars(value)[key]
            except (TypeError, KeyError):
                raise LookupError(path) from None
        elif kind == "x":
            found = dict(axes(value))
            if key not in found:
                raise LookupError(path)
            value = found[key]
        else:
            value = value[key]
    return value


# ---- after the run: one pickle ---------------------------------------------------------------------


@dataclass(frozen=True)
class LeafRef:
    """A large array or frame stored as its own object, and how this reference lays it out."""

    digest: str
    ordinal: int  # distinct objects with equal content stay distinct
    layout: tuple[tuple[str, Any], ...] = ()


@dataclass
class Packed:
    """The graph's pickle and the leaves it refers to (digest → value, to store)."""

    data: bytes
    leaves: dict[str, Any]


def pack(
    graph: dict[str, Any], live: LiveIndex, digest_of: Callable[[Any], str], namespace: dict[str, Any] | None = None,
    *, by_attributes: bool = False,
) -> Packed:
    """Pickle ``graph`` with live references and leaves (see the module docstring).

    With ``namespace``, the notebook's classes and functions that were already there
    before the step (and still are) are stored by name, and restored as themselves.
    With ``by_attributes``, objects whose class writes its own ``__setstate__`` are stored
    as their attributes and restored without it: for a class whose ``__setstate__`` does
    not give back what its ``__getstate__`` took (statsmodels' ``NegativeBinomial`` sets
    ``_transparams`` back to True, which its ``fit`` had left False).
    """
    leaves: dict[str, Any] = {}
    ordinals: dict[tuple[str, int], int] = {}
    buffer = io.BytesIO()
    arrays, shares_containers, ordered_sets = _scan(graph, live)
    pickler = _GraphPickler(buffer, live, leaves, ordinals, digest_of, arrays, shares_containers)
    pickler.watch_sets(ordered_sets)
    pickler._namespace = namespace
    pickler._by_attributes = by_attributes
    pickler.dump((GRAPH_FORMAT, graph))
    return Packed(buffer.getvalue(), leaves)


class _GraphPickler(_Pickler):
    def __init__(
        self,
        file: Any,
        live: LiveIndex,
        leaves: dict[str, Any],
        ordinals: dict,
        digest_of: Callable[[Any], str],
        arrays: set[int],
        shares_containers: bool,
    ) -> None:
        super().__init__(file, protocol=5)
        self._arrays = arrays
        self._live = live
        self._leaves = leaves
        self._ordinals = ordinals
        self._digest_of = digest_of
        self._shares = shares_containers
        self._ordered_sets: dict[int, Any] = {}
        self._set_tokens: dict[int, int] = {}
        if shares_containers:
            self.persistent_id = self._container_id  # only then: it is called for every object pickled

    def watch_sets(self, ordered_sets: dict[int, Any]) -> None:
        """Sets of numbers whose order a plain rebuild would change: stored with their order."""
        self._ordered_sets = ordered_sets
        if ordered_sets:
            self.persistent_id = self._container_id

    def _container_id(self, obj: Any) -> Any:
        kind = type(obj)
        if self._shares and kind in _BUILTIN_CONTAINERS:
            path = self._live.path_of(obj)
            if path is not None:
                return ("live", path)
        if (kind is set or kind is frozenset) and id(obj) in self._ordered_sets:
            token = self._set_tokens.get(id(obj))
            if token is not None:
                return ("same set", token)  # persistent ids are not memoized: the set stays one object
            self._set_tokens[id(obj)] = len(self._set_tokens)
            return ("set", kind is frozenset, list(obj), setorder.table_size(obj))
        return None

    _namespace: dict[str, Any] | None = None
    _by_attributes = False

    def reducer_override(self, obj: Any) -> Any:
        path = self._live.path_of(obj, self._namespace)
        if path is not None:
            return _live_object, (path,)
        np = sys.modules.get("numpy")
        if np is not None and isinstance(obj, np.ndarray):
            reduced = self._reduce_array(np, obj)
            if reduced is not None:
                return reduced
        pd = sys.modules.get("pandas")
        if pd is not None and type(obj) in (pd.DataFrame, pd.Series) and _nbytes(obj) >= LEAF_MIN_BYTES:
            return _leaf_object, (self._leaf(obj, ()),)
        if isinstance(obj, io.IOBase) and obj.closed:
            return _closed_file, _file_description(obj)
        if _closed_h5py_file(obj):
            return _closed_h5py, ()
        named = libraryobjects.reference(obj)
        if named is not None:
            return libraryobjects.library_object, named
        if self._by_attributes and _sets_its_own_state(type(obj)) and type(getattr(obj, "__dict__", None)) is dict:
            return copyreg.__newobj__, (type(obj),), dict(vars(obj)), None, None, _set_attributes  # type: ignore[attr-defined]  # copyreg's, untyped in typeshed
        return super().reducer_override(obj)

    def _reduce_array(self, np: Any, arr: Any) -> Any:
        ma = sys.modules.get("numpy.ma")
        if ma is not None and type(arr) is ma.MaskedArray:
            return _masked_array, (arr.view(np.ndarray), ma.getmaskarray(arr), arr._fill_value, bool(arr.hardmask))
        if type(arr) is not np.ndarray or arr.dtype.hasobject:
            return None
        base = _array_owner(np, arr)
        if base is not None and base is not arr and (
            self._live.path_of(base) is not None or id(base) in self._arrays or base.nbytes >= LEAF_MIN_BYTES
        ):
            start = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            return _array_view, (base, start, arr.shape, arr.strides, arr.dtype, bool(arr.flags.writeable))
        layout = (("order", "F" if arr.flags.f_contiguous and not arr.flags.c_contiguous else "C"), ("writeable", bool(arr.flags.writeable)))
        if arr.nbytes >= LEAF_MIN_BYTES:
            return _leaf_object, (self._leaf(arr, layout),)
        order = dict(layout)["order"]
        data = np.asarray(arr, order=order)
        flat = (data if order == "C" else data.T).reshape(-1).view(np.uint8) if data.size else np.empty(0, np.uint8)
        return _small_array, (pickle.PickleBuffer(flat) if flat.flags.c_contiguous else flat.tobytes(), arr.dtype, arr.shape, order, dict(layout)["writeable"])

    def _leaf(self, obj: Any, layout: tuple[tuple[str, Any], ...]) -> LeafRef:
        digest = self._digest_of(obj)
        self._leaves[digest] = obj
        ordinal = self._ordinals.setdefault((digest, id(obj)), sum(1 for d, _ in self._ordinals if d == digest))
        return LeafRef(digest, ordinal, layout)


def _sets_its_own_state(kind: type) -> bool:
    """A class of plain attributes (no slots, not a container) with a ``__setstate__`` written in Python."""
    if not isinstance(getattr(kind, "__setstate__", None), types.FunctionType) or issubclass(kind, (dict, list, set, tuple)):
        return False
    own_reduce = kind.__reduce_ex__ is not object.__reduce_ex__ or kind.__reduce__ is not object.__reduce__
    return not (own_reduce or _is_library_data_type(kind) or any(vars(klass).get("__slots__") for klass in kind.__mro__[:-1]))


def _scan(graph: dict[str, Any], live: LiveIndex) -> tuple[set[int], bool, dict[int, Any]]:
    """Near the graph's top (outputs, and what containers in them hold, a few levels down): the ids
    of the arrays (a view of one is stored as a view), and whether a list, dict or set of an input
    is there (only then is every object pickled checked against the inputs', which costs), and the sets of
    numbers whose order a plain rebuild would not keep (``wfnb.cache.setorder``)."""
    np = sys.modules.get("numpy")
    arrays: set[int] = set()
    shares = False
    ordered_sets: dict[int, Any] = {}
    pending = [(value, 0) for value in graph.values()]
    while pending:
        value, depth = pending.pop()
        kind = type(value)
        if np is not None and isinstance(value, np.ndarray):
            arrays.add(id(value))
        elif kind in (set, frozenset) and id(value) not in ordered_sets and _needs_order(value):
            ordered_sets[id(value)] = value
            shares = shares or (kind is set and live.path_of(value) is not None)
        elif kind in _BUILTIN_CONTAINERS or kind is tuple:
            shares = shares or (kind is not tuple and live.path_of(value) is not None)
            if depth < _SCAN_DEPTH and kind is not bytearray:
                items = value.values() if kind is dict else value
                pending.extend((item, depth + 1) for item in itertools.islice(items, _PER_CONTAINER) if not isinstance(item, _ATOMS))
        elif isinstance(value, types.ModuleType):
            continue  # stored by name: what it holds is not the step's
        elif depth < _SCAN_DEPTH and type(getattr(value, "__dict__", None)) is dict and not _is_library_data(value):
            pending.extend((item, depth + 1) for item in itertools.islice(vars(value).values(), _PER_CONTAINER) if not isinstance(item, _ATOMS))
    return arrays, shares, ordered_sets


def _needs_order(value: set[Any] | frozenset[Any]) -> bool:
    return 1 < len(value) and setorder.has_fixed_order(value) and not setorder.keeps_order(value)


def _nbytes(obj: Any) -> int:
    try:
        return int(obj.memory_usage(index=True, deep=False).sum()) if hasattr(obj, "columns") else int(obj.memory_usage(index=True, deep=False))
    except Exception:  # noqa: BLE001 - any doubt: keep it in the graph
        return 0


def _array_owner(np: Any, arr: Any) -> Any:
    """The ndarray that owns ``arr``'s memory (itself if it owns it), or None if not an ndarray."""
    owner = arr
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    return owner if type(owner) is np.ndarray and not owner.dtype.hasobject else None


def _file_description(obj: Any) -> tuple[str, str, str | None]:
    name = getattr(obj, "name", "")
    return (os.fsdecode(name) if isinstance(name, (str, bytes)) else str(name), str(getattr(obj, "mode", "r")), getattr(obj, "encoding", None))


# ---- restoring -----------------------------------------------------------------------------------


class _Context(threading.local):
    resolve_live: Callable[[Path], Any] | None = None
    load_leaf: Callable[[str], Any] | None = None
    leaves: dict[tuple[str, int], Any] | None = None


_context = _Context()


def unpack(data: bytes, resolve_live: Callable[[Path], Any], load_leaf: Callable[[str], Any]) -> dict[str, Any]:
    """The graph pickled by ``pack``; live paths and leaves are looked up with the two callables."""
    saved = (_context.resolve_live, _context.load_leaf, _context.leaves)
    _context.resolve_live, _context.load_leaf, _context.leaves = resolve_live, load_leaf, {}
    try:
        version, graph = _GraphUnpickler(io.BytesIO(data)).load()
    finally:
        _context.resolve_live, _context.load_leaf, _context.leaves = saved
    if version != GRAPH_FORMAT:
        raise ValueError(f"graph format {version!r} (this wfnb reads {GRAPH_FORMAT})")
    return graph


class _GraphUnpickler(pickle.Unpickler):
    """Restores the inputs' containers the pickler stored by path (``_GraphPickler._container_id``), and
    the sets of numbers it stored with their order.

    A method of the class, not an attribute set on an instance: since Python 3.13 an
    ``Unpickler``'s ``persistent_load`` is read-only on the instance.
    """

    def __init__(self, file: Any) -> None:
        super().__init__(file)
        self._sets: list[Any] = []  # sets stored with their order, by token

    def persistent_load(self, pid: Any) -> Any:
        if pid[0] == "set":
            _, frozen, items, size = pid
            made = setorder.rebuild(frozenset if frozen else set, items, size)
            self._sets.append(made)
            return made
        if pid[0] == "same set":
            return self._sets[pid[1]]
        return _live_object(pid[1])


def _live_object(path: Path) -> Any:
    return _context.resolve_live(path)  # type: ignore[misc]  # a callable attribute, set per unpack


def _leaf_object(ref: LeafRef) -> Any:
    leaves = _context.leaves
    key = (ref.digest, ref.ordinal)
    if leaves is not None and key in leaves:
        return leaves[key]
    value = _laid_out(_context.load_leaf(ref.digest), dict(ref.layout))  # type: ignore[misc]  # each load is a new object
    if leaves is not None:
        leaves[key] = value
    return value


def _laid_out(value: Any, layout: dict[str, Any]) -> Any:
    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.ndarray) or not layout:
        return value
    if layout.get("order") == "F" and not value.flags.f_contiguous:
        value = np.asfortranarray(value)
    elif layout.get("order") == "C" and not value.flags.c_contiguous:
        value = np.ascontiguousarray(value)
    writeable = layout.get("writeable", True)
    if writeable and not value.flags.writeable:
        value = value.copy(order="K")
    elif not writeable:
        value.flags.writeable = False
    return value


def _small_array(data: Any, dtype: Any, shape: tuple[int, ...], order: str, writeable: bool) -> Any:
    import numpy as np

    raw = np.frombuffer(data, dtype=np.uint8) if len(memoryview(data)) else np.empty(0, np.uint8)
    if not raw.flags.writeable:
        raw = raw.copy()
    arr = raw.view(dtype).reshape(shape, order=order) if raw.size else np.empty(shape, dtype=dtype, order=order)  # type: ignore[call-overload]  # order: "C" or "F"
    arr.flags.writeable = writeable
    return arr


def _array_view(base: Any, start: int, shape: tuple[int, ...], strides: tuple[int, ...], dtype: Any, writeable: bool) -> Any:
    import numpy as np

    view = np.ndarray(shape, dtype=dtype, buffer=base, offset=start, strides=strides)
    if not writeable:
        view.flags.writeable = False
    return view


def _masked_array(data: Any, mask: Any, fill_value: Any, hard: bool) -> Any:
    import numpy as np

    restored = np.ma.masked_array(data, mask=mask, hard_mask=hard)
    restored._fill_value = fill_value  # type: ignore[attr-defined]  # as it was: unset, or set (numpy casts a fill given to the constructor)
    return restored


def _closed_file(name: str, mode: str, encoding: str | None) -> Any:
    """A closed file that says what it was: name, mode, closed."""
    binary = "b" in mode
    handle: Any = open(os.devnull, "rb" if binary else "r", encoding=None if binary else (encoding or "utf-8"))
    raw = handle if binary else handle.buffer
    raw = getattr(raw, "raw", raw)
    try:
        raw.name = name
        if not binary:
            handle.mode = mode
    except (AttributeError, TypeError):
        pass
    handle.close()
    return handle


def _closed_h5py() -> Any:
    """A closed ``h5py.File``, as the ``with`` block that opened one leaves it."""
    import h5py

    handle = h5py.File(io.BytesIO(), "w")
    handle.close()
    return handle
