"""Bringing a changed input to its new state *in place*, as a run of the step would have left it.

A step that appends to a list, fills a ``Counter``, fits an estimator held in a ``Pipeline``,
draws from a ``random.Random`` or sets a field of a slots dataclass changes objects that other
names of the notebook hold too. A hit must leave those names seeing the change, so the stored
state is poured into the live objects rather than bound in their place: containers item by
item (subclasses included), objects attribute by attribute (``__dict__`` and ``__slots__``),
and objects whose state lives in C (random generators) through their own state protocol.

``Sync`` remembers which stored object was poured into which live one, so that an output that
*is* a changed input (``b = a; b.append(1)``), or a view of one, is bound to the live object,
and so that an output or a new part of a changed input that *holds* one holds the live object
too (``relink``): statsmodels' ``infl = results.get_influence()`` fills ``results``' caches and
keeps ``results``, and a fitted result's cache holds one array under two keys.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from wfnb.cache import setorder
from wfnb.cache.hashing import hash_value

_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes})
_RELINK_BUDGET = 100_000  # objects looked into per hit, at most, for parts poured into live objects
_ATTRIBUTE_SKIP = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"})


class Sync:
    """One hit's in-place restore: ``sync`` per changed input, then ``adopt`` per output."""

    def __init__(self) -> None:
        self._seen: dict[int, Any] = {}  # id(live) → the stored object being poured into it
        self._bound: dict[int, Any] = {}  # id(live) → what its pour gave (itself, or the stored one)
        self._poured: dict[int, tuple[Any, Any]] = {}  # id(stored) → (stored, live it was poured into)
        self._kept_axes: dict[int, tuple[Any, tuple[str, ...]]] = {}  # id(stored frame) → (it, axes to keep)

    def keep_axes(self, stored: Any, axes: Any) -> None:
        """A frame's axes the step changed in place, not replaced (``pop.index.names = [...]``): poured into
        the live index objects, which other frames may hold too, rather than bound in their place."""
        if axes:
            self._kept_axes[id(stored)] = (stored, tuple(axes))

    def sync(self, live: Any, stored: Any) -> Any:
        """Make ``live`` equal to ``stored`` in place where possible; return what to bind."""
        if live is stored:
            return live
        if id(live) in self._seen:
            # reached again (held twice, or a cycle): what the first reference got, if this is the
            # same stored object (a read-only array replaced there is replaced here too)
            return self._bound.get(id(live), live) if self._seen[id(live)] is stored else stored
        if type(live) is not type(stored) or _replaced_whole(live):
            return stored
        if type(live) in _ATOMS:  # immutable: the live one if equal, so that a tuple holding it stays
            return live if live == stored else stored
        self._seen[id(live)] = stored
        try:
            result = self._pour(live, stored)
        except Exception:  # noqa: BLE001 - an object that refuses the new state is replaced instead
            result = stored
        self._bound[id(live)] = result
        if result is live:
            self._poured[id(stored)] = (stored, live)
        return result

    def adopt(self, value: Any) -> Any:
        """An output as the notebook should hold it: the live object a stored one was poured into,
        or the same view of it for a view of a changed input array."""
        poured = self._poured.get(id(value))
        if poured is not None and poured[0] is value:
            return poured[1]
        np = sys.modules.get("numpy")
        if np is not None and type(value) is np.ndarray and value.base is not None:
            # Restored, the view and the input it was taken of are both views of one buffer.
            for stored, live in self._poured.values():
                if type(stored) is np.ndarray and _within(np, value, stored):
                    return _same_view(np, value, stored, live)
        return value

    def relink(self, value: Any) -> Any:
        """``value`` (an output, or a changed input once poured), with every stored object it holds that
        was poured into a live one replaced by that live one: the run left one object there, not two."""
        value = self.adopt(value)
        if not self._poured:
            return value
        seen: set[int] = set()
        pending = [value]
        while pending and len(seen) < _RELINK_BUDGET:
            obj = pending.pop()
            if id(obj) in seen or type(obj) in _ATOMS or _not_looked_into(obj):
                continue
            seen.add(id(obj))
            if isinstance(obj, list):
                for i, item in enumerate(list.__iter__(obj)):
                    self._relink_item(obj, i, item, list.__setitem__, pending)
            if isinstance(obj, dict):
                for key, item in list(dict.items(obj)):
                    self._relink_item(obj, key, item, dict.__setitem__, pending)
            attributes = getattr(obj, "__dict__", None)
            if type(attributes) is dict and attributes is not obj:
                for key, item in list(attributes.items()):
                    self._relink_item(attributes, key, item, dict.__setitem__, pending)
        return value

    def _relink_item(self, holder: Any, key: Any, item: Any, put: Any, pending: list[Any]) -> None:
        poured = self._poured.get(id(item))
        if poured is not None and poured[0] is item:
            put(holder, key, poured[1])
        else:
            pending.append(item)

    # -- by kind --------------------------------------------------------------------------------

    def _pour(self, live: Any, stored: Any) -> Any:
        kind = type(live)
        if kind is tuple:
            items = [self.sync(a, b) for a, b in zip(live, stored)] if len(live) == len(stored) else None
            return live if items is not None and all(a is b for a, b in zip(items, live)) else stored
        if isinstance(live, type):
            self._attributes(live, dict(vars(stored)))
            return live
        np, pd = sys.modules.get("numpy"), sys.modules.get("pandas")
        if np is not None and kind is np.ndarray:
            if live.shape == stored.shape and live.dtype == stored.dtype and live.flags.writeable:
                live[...] = stored
                return live
            if live.shape == stored.shape and live.dtype == stored.dtype and _same_content(np, live, stored):
                return live  # read-only (a view of a frame's column, under copy-on-write) and unchanged: itself
            return stored
        if pd is not None and kind in (pd.DataFrame, pd.Series):
            kept = self._kept_axes.get(id(stored))
            axes = [(name, getattr(live, name)) for name in kept[1]] if kept is not None and kept[0] is stored else []
            live.__setstate__(stored.__getstate__())
            for name, axis in axes:
                _keep_axis(live, name, axis)
            return live
        if isinstance(live, list):
            shared = min(len(live), len(stored))
            for i in range(shared):
                live[i] = self.sync(live[i], stored[i])
            del live[shared:]
            live.extend(stored[shared:])
        elif isinstance(live, dict):
            self._dict(live, stored)
            if hasattr(live, "default_factory"):  # collections.defaultdict keeps it in a C slot
                live.default_factory = stored.default_factory
        elif isinstance(live, (set, bytearray)):
            if isinstance(live, set) and len(stored) > 1 and setorder.has_fixed_order(stored):
                setorder.refill(live, list(stored), setorder.table_size(stored))  # in its order, which code sees
            elif isinstance(live, set):
                live.clear()
                live.update(stored)
            else:
                live[:] = stored
        elif not self._c_state(live, stored) and not _has_state(live):
            return stored
        state = getattr(stored, "__dict__", None)
        if type(state) is dict and type(getattr(live, "__dict__", None)) is dict:
            self._dict(live.__dict__, state)
        for name in _slot_names(kind):
            if hasattr(stored, name):
                old = getattr(live, name, None)
                new = self.sync(old, getattr(stored, name)) if hasattr(live, name) else getattr(stored, name)
                if new is not old:
                    object.__setattr__(live, name, new)
            elif hasattr(live, name):
                object.__delattr__(live, name)
        return live

    def _c_state(self, live: Any, stored: Any) -> bool:
        """Generators whose state is not in their attributes: given the stored one's state."""
        import random

        if isinstance(live, random.Random):
            live.setstate(stored.getstate())
            return True
        np = sys.modules.get("numpy")
        if np is None:
            return False
        if isinstance(live, np.random.Generator):
            live.bit_generator.state = stored.bit_generator.state
            return True
        if isinstance(live, np.random.RandomState):
            live.set_state(stored.get_state())
            return True
        if isinstance(live, np.random.BitGenerator):
            live.state = stored.state
            return True
        return False

    def _dict(self, live: dict[Any, Any], stored: dict[Any, Any]) -> None:
        merged = {key: (self.sync(live[key], value) if key in live else value) for key, value in stored.items()}
        if list(live) != list(merged):  # the order is part of a dict's value: rebuild it in place
            live.clear()
        for key, value in merged.items():  # item by item: Counter.update would add, not replace
            live[key] = value

    def _attributes(self, target: Any, state: dict[str, Any]) -> None:
        current = dict(vars(target))
        for key in current:
            if key not in state and key not in _ATTRIBUTE_SKIP:
                try:
                    delattr(target, key)
                except (AttributeError, TypeError):
                    pass
        for key, value in state.items():
            if key in _ATTRIBUTE_SKIP or (key in current and current[key] is value):
                continue
            new = self.sync(current[key], value) if key in current else value
            if key not in current or new is not current[key]:
                try:
                    setattr(target, key, new)
                except (AttributeError, TypeError):
                    pass


def sync(live: Any, stored: Any) -> Any:
    """Make ``live`` equal to ``stored`` in place where possible; return what to bind."""
    return Sync().sync(live, stored)


def class_state(cls: type) -> dict[str, Any]:
    """What a class holds that a step can change: its attributes (not its identity)."""
    return {key: value for key, value in vars(cls).items() if key not in ("__dict__", "__weakref__")}


def apply_class_state(cls: type, state: dict[str, Any]) -> None:
    Sync()._attributes(cls, state)


def _not_looked_into(obj: Any) -> bool:
    """Code, modules, and data whose parts are no notebook object (arrays, frames, figures)."""
    if isinstance(obj, (type, types.FunctionType, types.ModuleType, types.MethodType, tuple, str, bytes)):
        return True
    module = type(obj).__module__
    return isinstance(module, str) and module.partition(".")[0] in ("numpy", "pandas", "pyarrow", "matplotlib")


def _replaced_whole(obj: Any) -> bool:
    """matplotlib's figures, axes and artists: a web of objects pointing at each other (``ax.figure``,
    ``fig.axes``, transforms' parents held by weak references) that pouring one object's state into
    another would leave pointing at the stored copies. A changed figure and its axes are bound as
    restored instead, together, so that ``ax.figure is fig`` holds."""
    module = type(obj).__module__
    return isinstance(module, str) and module.partition(".")[0] == "matplotlib"


def _same_content(np: Any, live: Any, stored: Any) -> bool:
    try:
        return bool(np.array_equal(live, stored, equal_nan=live.dtype.kind in "fc"))
    except Exception:  # noqa: BLE001 - a dtype that cannot be compared: treated as changed
        return False


def _has_state(obj: Any) -> bool:
    return type(getattr(obj, "__dict__", None)) is dict or bool(_slot_names(type(obj)))


def _slot_names(kind: type) -> list[str]:
    names: list[str] = []
    for klass in kind.__mro__:
        slots = vars(klass).get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and name not in names:
                names.append(name)
    return names


def _keep_axis(frame: Any, name: str, live: Any) -> None:
    """Put back the index object the frame held before, given the stored one's names.

    Other frames may hold that very index (``pd.DataFrame({'total': pop})`` holds
    ``pop.index``): a step that renames ``pop.index`` in place renames theirs too, and
    the in-place restore must as well. Only when the labels are the same (and nothing
    but the names differ).
    """
    new = getattr(frame, name)
    if new is live or type(new) is not type(live) or not live.equals(new):
        return
    if list(live.names) != list(new.names):
        if hash_value(live.set_names(new.names)) != hash_value(new):  # another dtype, frequency, ...
            return
        live.names = new.names
    elif hash_value(live) != hash_value(new):
        return
    setattr(frame, name, live)


def _within(np: Any, view: Any, owner: Any) -> bool:
    """Whether ``view`` was restored as a view of ``owner``: over the same buffer, inside its bytes."""
    if _root(view) is not _root(owner):
        return False
    bounds = getattr(getattr(np, "lib", None), "array_utils", None)
    byte_bounds = bounds.byte_bounds if bounds is not None else np.byte_bounds
    low, high = byte_bounds(view)
    owner_low, owner_high = byte_bounds(owner)
    return owner_low <= low and high <= owner_high


def _root(arr: Any) -> Any:
    while getattr(arr, "base", None) is not None:
        arr = arr.base
    return arr


def _same_view(np: Any, view: Any, stored_owner: Any, live_owner: Any) -> Any:
    """``view`` (of ``stored_owner``'s memory) made again over ``live_owner``'s memory."""
    start = view.__array_interface__["data"][0] - stored_owner.__array_interface__["data"][0]
    if live_owner.nbytes != stored_owner.nbytes or not live_owner.flags.c_contiguous or not stored_owner.flags.c_contiguous:
        return view
    rebuilt = np.ndarray(view.shape, view.dtype, buffer=live_owner, offset=start, strides=view.strides)
    rebuilt.flags.writeable = bool(view.flags.writeable)
    return rebuilt
