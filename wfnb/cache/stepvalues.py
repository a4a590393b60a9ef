"""A step's results in the store: written as one object graph, read back, and put into a namespace.

A record made by this version names one graph object (``wfnb.cache.objectgraph``) holding
the step's outputs, the new state of the inputs it changed and the values of its
effects; large arrays and frames in it are objects of their own. Records written by
earlier versions name one object per output (and ``aliases``); they are still read.
"""

from __future__ import annotations

import pickle
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from wfnb.cache import inplace, objectgraph
from wfnb.cache.effects import Effects
from wfnb.cache.files import ABSENT
from wfnb.cache.hashing import hash_value
from wfnb.cache.objectgraph import LiveIndex, Path
from wfnb.cache.rebinding import rebind
from wfnb.errors import CorruptObject, UnhashableValue, UnstorableValue
from wfnb.store import Store


@dataclass
class StepValues:
    """What a step left behind, by kind."""

    outputs: dict[str, Any] = field(default_factory=dict)  # names it bound
    changed: dict[str, Any] = field(default_factory=dict)  # inputs it changed in place: their new state
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)  # classes it changed: their attributes
    effects: Effects = field(default_factory=Effects)
    kept_axes: dict[str, list[str]] = field(default_factory=dict)  # changed frames: the axes that stayed the same object

    def graph(self) -> dict[str, Any]:
        return {"outputs": self.outputs, "changed": self.changed, "classes": self.classes, "effects": self.effects,
                "kept_axes": self.kept_axes}

    @classmethod
    def of_graph(cls, graph: dict[str, Any]) -> StepValues:
        return cls(graph["outputs"], graph["changed"], graph["classes"], graph["effects"], graph.get("kept_axes", {}))


@dataclass(frozen=True)
class Written:
    """Where a step's values went: the graph object, its leaves, and the bytes stored."""

    graph: str
    leaves: tuple[str, ...]
    total: int
    new: int


def pack(
    values: StepValues, live: LiveIndex, namespace: dict[str, Any], known: Mapping[str, str] = {}, *, by_attributes: bool = False
) -> objectgraph.Packed:
    """The values as one graph (large arrays and frames as leaves). Raises UnstorableValue.

    ``known`` gives the outputs' digests already computed: a large output is not hashed twice.
    ``by_attributes``: see ``objectgraph.pack``.
    """
    by_id = {id(values.outputs[name]): digest for name, digest in known.items() if name in values.outputs}

    def digest_of(value: Any) -> str:
        return by_id.get(id(value)) or hash_value(value)

    try:
        return objectgraph.pack(values.graph(), live, digest_of, namespace, by_attributes=by_attributes)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError, RecursionError) as error:
        raise UnstorableValue(str(error)) from error


def round_trip(packed: objectgraph.Packed, namespace: Mapping[str, Any]) -> StepValues:
    """The values as a restore in this namespace will give them back (without touching the store)."""
    with classes_made_anew():
        graph = objectgraph.unpack(packed.data, namespace_resolver(namespace), _leaf_loader(packed.leaves))
    return StepValues.of_graph(graph)


def _leaf_loader(leaves: Mapping[str, Any]) -> Callable[[str], Any]:
    """Each leaf as a load from the store gives it: a new object each time it is asked for.

    Two equal but distinct frames share one digest; a restore loads each anew, so they stay
    two objects. The first load may be the packed value itself; the others are copies made
    the way the store makes them (its codec), not the same object handed out twice.
    """
    from wfnb.store.codecs import decode_encoded, encode

    given: set[str] = set()

    def load(digest: str) -> Any:
        if digest not in given:
            given.add(digest)
            return leaves[digest]
        return decode_encoded(encode(leaves[digest]))

    return load


_TRACKER_LOCK = threading.RLock()


@contextmanager
def classes_made_anew() -> Iterator[None]:
    """Unpickle classes stored by value as new classes, as in a fresh kernel.

    cloudpickle otherwise finds a class of this process with the same identity and
    overwrites its methods with the stored ones, whose globals are a private copy:
    the notebook's live class would then read old values of its globals.
    """
    import cloudpickle.cloudpickle as internals

    with _TRACKER_LOCK:
        saved = internals._DYNAMIC_CLASS_TRACKER_BY_ID
        internals._DYNAMIC_CLASS_TRACKER_BY_ID = weakref.WeakValueDictionary()
        try:
            yield
        finally:
            internals._DYNAMIC_CLASS_TRACKER_BY_ID = saved


def write(store: Store, packed: objectgraph.Packed) -> Written:
    """Store a packed graph and its leaves (each once, whoever wrote it first)."""
    new = 0
    for digest, leaf in packed.leaves.items():
        if not store.has_object(digest):
            new += store.put_object(digest, store.encode(leaf))
    graph = hash_value(packed.data)
    new += store.put_object(graph, store.encode(packed.data))
    total = sum(store.object_size(d) for d in (graph, *packed.leaves))
    return Written(graph, tuple(packed.leaves), total, new)


def read(
    store: Store, record: Mapping[str, Any], resolve_live: Callable[[Path], Any], held: Mapping[str, tuple[str, Any]] = {}
) -> StepValues:
    """A record's values; live paths are resolved with ``resolve_live``. Raises CorruptObject, LookupError.

    ``held`` (from ``held_outputs``) gives outputs the namespace still holds, by digest: such a
    leaf is taken from there instead of being read again, if it turns out to be that output itself
    and nothing else in the graph.
    """
    if "graph" not in record:
        return StepValues(outputs={name: store.get_object(digest) for name, digest in record["outputs"].items()})
    data: Any = store.get_object(record["graph"])  # the graph's bytes, as stored
    if held:
        handed: dict[str, int] = {}

        def load(digest: str) -> Any:
            handed[digest] = handed.get(digest, 0) + 1
            return held[digest][1] if digest in held and handed[digest] == 1 else store.get_object(digest)

        graph = _unpack(record, data, resolve_live, load)
        outputs = graph["outputs"]
        if all(handed.get(digest) == 1 and outputs.get(name) is value for digest, (name, value) in held.items() if digest in handed):
            return StepValues.of_graph(graph)
        # A held object went elsewhere too (an equal array in another value): it must not be shared; read it all.
    return StepValues.of_graph(_unpack(record, data, resolve_live, store.get_object))


def _unpack(record: Mapping[str, Any], data: Any, resolve_live: Callable[[Path], Any], load: Callable[[str], Any]) -> dict[str, Any]:
    try:
        with classes_made_anew():
            return objectgraph.unpack(data, resolve_live, load)
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError, TypeError) as error:
        raise CorruptObject(f"The stored values of step {record.get('step')} cannot be read here ({error}).") from error


def held_outputs(record: Mapping[str, Any], namespace: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The large outputs (leaves) of a record that the namespace still holds, checked by their hash, by digest.

    Running a cached step again in the same kernel would otherwise read back (seconds for
    hundreds of MB) the very objects its names still hold. Never by identity alone: an
    output changed in place since has another hash, and is read from the store.
    """
    leaves = set(record.get("leaves", ()))
    outputs = record.get("outputs", {})
    counts: dict[str, int] = {}
    for digest in outputs.values():
        counts[digest] = counts.get(digest, 0) + 1
    held = {}
    for name, digest in outputs.items():
        if digest not in leaves or counts[digest] != 1 or name not in namespace:
            continue
        try:
            if hash_value(namespace[name]) == digest:
                held[digest] = (name, namespace[name])
        except UnhashableValue:
            continue
    return held


def namespace_resolver(namespace: Mapping[str, Any]) -> Callable[[Path], Any]:
    return lambda path: objectgraph.resolve(namespace, path)  # type: ignore[arg-type]  # a Mapping is enough: resolve only reads


def stored_input_resolver(store: Store, record: Mapping[str, Any]) -> Callable[[Path], Any]:
    """Live paths resolved against the step's inputs as stored, for reading a record outside its notebook."""
    loaded: dict[str, Any] = {}
    inputs = record.get("inputs", {})

    def resolve(path: Path) -> Any:
        name = path[0]
        if name not in loaded:
            digest = inputs.get(name)
            if digest is None or digest == ABSENT or name not in record.get("stored_inputs", ()):
                raise LookupError(f"input {name!r} of step {record.get('step')} is not in the store")
            loaded[name] = store.get_object(digest)
        return objectgraph.resolve(loaded, path)

    return resolve


def checkout_resolver(store: Store, record: Mapping[str, Any], namespace: Mapping[str, Any]) -> Callable[[Path], Any]:
    """Live paths resolved in ``namespace`` where it holds the step's input as it was, else from the store."""
    from_store = stored_input_resolver(store, record)
    inputs = record.get("inputs", {})
    matching: dict[str, bool] = {}

    def resolve(path: Path) -> Any:
        name = path[0]
        if name not in matching:
            try:
                matching[name] = name in namespace and hash_value(namespace[name]) == inputs.get(name)
            except UnhashableValue:
                matching[name] = False
        return objectgraph.resolve(namespace, path) if matching[name] else from_store(path)  # type: ignore[arg-type]  # a Mapping is enough: resolve only reads

    return resolve


def load_values(store: Store, record: Mapping[str, Any], namespace: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every value a record's step left under a name: its outputs, and the new state of inputs it changed.

    Raises CorruptObject (also when a part it refers to cannot be found).
    """
    resolver = namespace_resolver(namespace) if namespace is not None else stored_input_resolver(store, record)
    try:
        values = read(store, record, resolver)
    except LookupError as error:
        raise CorruptObject(f"The values of step {record.get('step')} refer to an input that is not available ({error}).") from None
    return {**values.outputs, **values.changed}


def apply(namespace: dict[str, Any], record: Mapping[str, Any], values: StepValues, *, adopt_globals: bool = False) -> None:
    """Leave ``namespace`` (and the process) as the record's step left them."""
    for name in record.get("deleted", []):
        namespace.pop(name, None)
    in_place = inplace.Sync()
    for name, state in values.changed.items():  # first: an output may be one of them, or a view of one
        in_place.keep_axes(state, values.kept_axes.get(name, ()))
        namespace[name] = in_place.sync(namespace[name], state) if name in namespace else state
    for name in values.changed:  # a new part of one may hold what was poured into another (or into itself)
        namespace[name] = in_place.relink(namespace[name])
    for name, value in values.outputs.items():
        namespace[name] = rebind(in_place.relink(value), namespace, adopt_globals=adopt_globals)
    for name, source in record.get("aliases", {}).items():  # records of earlier versions
        if source in namespace:
            namespace[name] = namespace[source]
    for name, attributes in values.classes.items():
        if isinstance(namespace.get(name), type):
            rebound = {key: rebind(value, namespace) for key, value in attributes.items()}
            inplace.apply_class_state(namespace[name], rebound)
    values.effects.modules = {
        module: {key: rebind(value, namespace) for key, value in changes.items()} for module, changes in values.effects.modules.items()
    }
    values.effects.classes = [(cls, key, rebind(value, namespace)) for cls, key, value in values.effects.classes]
    values.effects.replay_after()


def output_digests(record: Mapping[str, Any]) -> dict[str, str]:
    """Every name a record's step produced, with the hash of its value (aliases resolved)."""
    digests = dict(record.get("outputs", {}))
    for name, source in record.get("aliases", {}).items():
        digests[name] = digests.get(source) or record.get("inputs", {}).get(source, ABSENT)
    return digests


def unstorable_names(values: StepValues) -> dict[str, str]:
    """Which outputs cannot be stored, and why: found one by one once the whole graph failed."""
    from wfnb.store.codecs import unloadable_message, unpicklable_message

    problems = {}
    for kind in (values.outputs, values.changed, values.classes):
        for name, value in kind.items():
            try:
                hash_value(value)
                packed = objectgraph.pack({name: value}, LiveIndex(), hash_value)
            except UnhashableValue as error:
                problems[name] = str(error)
                continue
            except Exception as error:  # noqa: BLE001 - pickling fails in any way a __reduce__ likes
                problems[name] = unpicklable_message(value, error)
                continue
            try:
                objectgraph.unpack(packed.data, _no_live_paths, packed.leaves.__getitem__)
            except Exception as error:  # noqa: BLE001 - so does loading (a __getattr__ that recurses, a __setstate__)
                problems[name] = unloadable_message(value, error)
    if not problems:
        problems["(its effects)"] = "a value it left in a module, class or setting cannot be pickled"
    return problems


def _no_live_paths(path: Any) -> Any:
    raise LookupError(f"a value stored alone refers to no live object ({path})")
