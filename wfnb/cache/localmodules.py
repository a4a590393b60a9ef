"""The user's own modules (local ``.py`` files, editable installs): the source each runs and its state.

A step that imports ``mylib`` depends on the code Python would run for it now: the
source the kernel loaded, if ``mylib`` is imported (an edit is not seen until a
restart or a reload), else the file on disk. It also depends on the module's data
as the notebook left it (``mylib.K = 5`` in an earlier cell). Both are compared
against a module as it was right after it was loaded ("fresh"), so that a module
not imported yet and the same module freshly imported count as the same state.

A loader hook records, for every user module loaded (or reloaded) from now on, the
digest of the source it ran and its fresh data; modules loaded before wfnb are
taken as they are when it starts.
"""

from __future__ import annotations

import importlib.machinery
import sys
import threading
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import xxhash

from wfnb.cache.codeorigin import is_user_file, is_user_module, user_modules
from wfnb.cache.files import ABSENT, path_digest
from wfnb.errors import UnhashableValue

PRISTINE = "fresh"  # a module's data as right after loading it
_CODE_TYPES = (type, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


@dataclass(frozen=True)
class Loaded:
    """What one load of a user module ran, and its data right after."""

    source: str  # digest of the file it was loaded from
    fresh: dict[str, str]  # attribute → digest, right after loading


_loaded: dict[str, Loaded] = {}
_guard = threading.local()
_watching_loaders: dict[type, type] = {}


# ---- the loader hook ------------------------------------------------------------------------------


class _Finder:
    """First on ``sys.meta_path``: asks the other finders, then watches the loads of user modules."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if getattr(_guard, "busy", False):
            return None
        _guard.busy = True
        try:
            spec = _find_with_others(name, path, target)
        finally:
            _guard.busy = False
        if spec is not None and _is_user_source(spec):
            _watch_loader(spec.loader)
        return spec

    @classmethod
    def invalidate_caches(cls) -> None:
        pass


def _find_with_others(name: str, path: Any, target: Any) -> Any:
    for finder in list(sys.meta_path):
        if finder is _Finder:
            continue
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        spec = find(name, path, target)
        if spec is not None:
            return spec
    return None


def _is_user_source(spec: Any) -> bool:
    origin = getattr(spec, "origin", None)
    loader = getattr(spec, "loader", None)
    return (
        isinstance(origin, str)
        and origin.endswith(".py")
        and loader is not None
        and hasattr(loader, "exec_module")
        and is_user_file(origin)
    )


def _watch_loader(loader: Any) -> None:
    """Make ``loader`` record what it loads: its class becomes a subclass that does (nothing else changes)."""
    kind = type(loader)
    if kind in _watching_loaders.values():
        return
    watching = _watching_loaders.get(kind)
    if watching is None:

        def exec_module(self: Any, module: types.ModuleType) -> None:
            origin = getattr(getattr(module, "__spec__", None), "origin", None)
            source = path_digest(origin) if isinstance(origin, str) else ABSENT
            super(watching, self).exec_module(module)  # type: ignore[arg-type]  # a class by now (mypy sees Optional)
            _loaded[module.__name__] = Loaded(source, data_digests(module))

        watching = type(kind.__name__, (kind,), {"exec_module": exec_module, "__module__": kind.__module__})
        _watching_loaders[kind] = watching
    try:
        loader.__class__ = watching
    except TypeError:  # a loader whose class cannot be changed: its modules count as loaded before wfnb
        pass


def install() -> None:
    """Put the hook first on ``sys.meta_path`` (once) and take the user modules already loaded as fresh."""
    if _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)
    for name, module in user_modules().items():
        if name not in _loaded:
            _loaded[name] = Loaded(path_digest(module.__file__ or ""), data_digests(module))


# ---- the state of a module ---------------------------------------------------------------------------


def data_digests(module: types.ModuleType) -> dict[str, str]:
    """A digest for each data attribute: not dunders, submodules, nor functions and classes defined in it.

    Functions and classes it imported from elsewhere count by identity: their code is
    followed through their own modules, and only a rebinding (``mylib.hook = f``) is data.
    """
    from wfnb.cache.hashing import hash_value

    digests = {}
    own = module.__name__
    for key, value in list(vars(module).items()):
        if key.startswith("__") and key.endswith("__") or isinstance(value, types.ModuleType):
            continue
        if isinstance(value, _CODE_TYPES):
            if getattr(value, "__module__", None) != own:
                digests[key] = f"id:{id(value)}"
            continue
        try:
            digests[key] = hash_value(value)
        except UnhashableValue:
            digests[key] = f"?{type(value).__module__}.{type(value).__qualname__}"
    return digests


def source_state(name: str) -> str:
    """The digest of the source Python would run for ``name`` now: as loaded, or as on disk."""
    module = sys.modules.get(name)
    if module is not None:
        known = _loaded.get(name)
        if known is not None:
            return known.source
        file = getattr(module, "__file__", None)
        return path_digest(file) if file else "nofile"
    origin = locate(name)
    return path_digest(origin) if origin else ABSENT


def data_state(name: str) -> str:
    """What differs in ``name``'s data from its fresh state, as one digest (``fresh`` if nothing)."""
    module = sys.modules.get(name)
    known = _loaded.get(name)
    if module is None or known is None:
        return PRISTINE
    return changed_digest(known.fresh, data_digests(module))


def loaded_names() -> list[str]:
    """The user modules this process has loaded (and watches)."""
    return list(_loaded)


def edited_since_loaded(names: Iterable[str]) -> list[str]:
    """The loaded modules among ``names`` whose file now differs from the source this process runs."""
    edited = []
    for name in names:
        module, known = sys.modules.get(name), _loaded.get(name)
        file = getattr(module, "__file__", None)
        if known is not None and file and path_digest(file) != known.source:
            edited.append(name)
    return sorted(edited)


def changed_digest(fresh: dict[str, str], now: dict[str, str]) -> str:
    changes = sorted((key, now.get(key, "deleted")) for key in set(fresh) | set(now) if fresh.get(key) != now.get(key))
    if not changes:
        return PRISTINE
    return xxhash.xxh3_128_hexdigest(repr(changes).encode())


def fresh_digests(name: str) -> dict[str, str] | None:
    known = _loaded.get(name)
    return None if known is None else known.fresh


def module_state(name: str) -> str:
    """The state a step that uses module ``name`` depends on: its source and its data."""
    return f"{source_state(name)}/{data_state(name)}"


def locate(name: str) -> str | None:
    """The file ``import name`` would load, found without importing anything (None if none)."""
    path = None
    origin = None
    parts = name.split(".")
    for index in range(len(parts)):
        prefix = ".".join(parts[: index + 1])
        loaded = sys.modules.get(prefix)
        if loaded is not None:
            spec = getattr(loaded, "__spec__", None)
        else:
            try:
                spec = importlib.machinery.PathFinder.find_spec(prefix, path)
            except (ImportError, ValueError):
                return None
        if spec is None:
            return None
        origin = getattr(spec, "origin", None)
        path = getattr(spec, "submodule_search_locations", None)
    return origin if isinstance(origin, str) and origin not in ("built-in", "frozen") else None


# ---- which user modules a step used ------------------------------------------------------------------


def used_modules(names: Iterable[str]) -> set[str]:
    """The user modules among ``names`` and every user module they reach: parents, imports, origins."""
    from wfnb.cache.codehash import imported_modules

    found: set[str] = set()
    pending = [n for name in names for n in _with_parents(name)]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        module = sys.modules.get(name)
        if module is None:
            if locate(name) is not None and is_user_file(locate(name) or ""):
                found.add(name)
            continue
        if not is_user_module(module):
            continue
        found.add(name)
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType):
                pending.append(value.__name__)
            elif isinstance(value, (type, types.FunctionType)):
                owner = getattr(value, "__module__", None)
                if isinstance(owner, str) and owner != name:
                    pending.extend(_with_parents(owner))
                if isinstance(value, types.FunctionType) and owner == name:
                    pending.extend(imported_modules(value.__code__, getattr(module, "__package__", None)))
    return found


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]
