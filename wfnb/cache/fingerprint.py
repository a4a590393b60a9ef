"""The key that decides whether a step's earlier result may be reused.

A step's key is the hash of everything that can change what it computes and that
can be known before it runs: its normalized code, the content of every input it
reads (and of every notebook global the helpers it calls read, transitively), the
files it names, the source and state of the local modules it imports, the versions
of the libraries it imports and what the notebook changed on their classes, the
Python version and the key format itself. What only running shows (files opened
through a helper, environment variables, modules imported on the way) is the
step's trace, checked on every hit (``wfnb.cache.probes``).
"""

from __future__ import annotations

import builtins
import dis
import functools
import json
import os
import re
import sys
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import xxhash

from wfnb.cache import clock, localmodules, patches
from wfnb.cache.cellcode import CellAnalysis, analyze_cell
from wfnb.cache.codehash import names_used
from wfnb.cache.codeorigin import is_library_module, is_user_file
from wfnb.cache.files import ABSENT, digest_files, literal_files
from wfnb.cache.hashing import hash_value, module_version

# Bump whenever the meaning of a key changes, so that no old entry is ever hit by mistake.
KEY_FORMAT_VERSION = 2  # 2: verified traces; indirect inputs; local modules by source and state
# IPython turns `%magic` and `!cmd` lines into calls through this function: machinery, not data.
_SHELL_MACHINERY = frozenset({"get_ipython"})
# Builtins IPython adds: a step reads them the same way in a notebook and in a plain process.
_IPYTHON_BUILTINS = frozenset({"display", "get_ipython"})


@dataclass(frozen=True)
class Fingerprint:
    """A step key and the parts it was made from (kept in the record, to explain misses)."""

    key: str
    code: str  # hash of the normalized code
    inputs: dict[str, str] = field(default_factory=dict)  # name → value hash or ABSENT
    files: dict[str, str] = field(default_factory=dict)  # --deps path → content hash
    named: tuple[str, ...] = ()  # existing files the code, its helpers or its inputs name
    modules: dict[str, str] = field(default_factory=dict)  # package → version; local module → source/state
    indirect: frozenset[str] = frozenset()  # inputs read by the helpers the step calls, not by its own code
    touched: frozenset[str] = frozenset()  # top-level packages the step uses, as far as can be seen before it runs
    untraceable: tuple[str, ...] = ()  # what makes the step run every time (a helper calling globals())
    clock: tuple[str, ...] = ()  # helpers that read the calendar (see wfnb.cache.clock)
    memoized: tuple[str, ...] = ()  # the notebook's cached functions (lru_cache) that already hold answers

    def changes_from(self, earlier: Mapping[str, Any]) -> list[str]:
        """What differs from an earlier record's parts, in words for the status line."""
        reasons = []
        if earlier.get("code_hash") != self.code:
            reasons.append("code changed")
        for kind, field_name, now in (("input", "inputs", self.inputs), ("file", "files", self.files)):
            before = earlier.get(field_name, {})
            changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
            if changed:
                reasons.append(f"{kind}{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed")
        before = earlier.get("modules", {})
        changed = sorted(k for k in set(self.modules) | set(before) if self.modules.get(k) != before.get(k))
        reasons.extend(_module_reasons(changed))
        return reasons


def _module_reasons(names: list[str]) -> list[str]:
    """The changed entries of a key's ``modules`` part, in the status line's words."""
    packages, modules, others = [], [], []
    for name in names:
        if name == "sys.argv":
            others.append("sys.argv changed")
        elif name.endswith(_PATCHES):
            others.append(f"{name.removesuffix(_PATCHES)} classes changed in the notebook")
        elif localmodules.fresh_digests(name) is not None or localmodules.locate(name) and is_user_file(localmodules.locate(name) or ""):
            modules.append(name)
        else:
            packages.append(name)
    words = [f"{kind}{'s' if len(group) > 1 else ''} {', '.join(group)} changed" for kind, group in (("package", packages), ("module", modules)) if group]
    return words + others


_PATCHES = " (changed classes)"


def fingerprint_step(analysis: CellAnalysis, namespace: Mapping[str, Any], deps: list[str]) -> Fingerprint:
    """Hash a step as it would run now in ``namespace``. Raises UnhashableValue."""
    inputs: dict[str, str] = {}
    named = literal_files(analysis.literals)  # files the code names: checked by the trace, unless it writes them
    reads = set(analysis.reads - _SHELL_MACHINERY)
    imports = set(analysis.imports)
    for script, interactive in analysis.runs:
        found = _script(script)
        if found is not None:
            named.append(found)
            if interactive:
                reads |= _script_reads(found)
    reads |= _names_in_expression_strings(reads, namespace)
    reach = _Reach(namespace)
    for name in sorted(reads):
        if name in namespace:
            value = namespace[name]
            inputs[name] = hash_value(value)
            named.extend(_paths_in_value(value))
            named.extend(literal_files(_helper_literals(value)))
            reach.visit(value)
        elif not hasattr(builtins, name) and name not in _IPYTHON_BUILTINS:
            inputs[name] = ABSENT
    for name in sorted(reach.globals - set(inputs)):  # read by the helpers the step calls
        inputs[name] = hash_value(namespace[name])
    files = digest_files(list(deps))
    touched = {name.partition(".")[0] for name in imports} | reach.packages | {_top(type(namespace[n])) for n in inputs if n in namespace}
    libraries = {name.partition(".")[0] for name in imports if not _is_user_import(name)}
    modules = {name: module_version(name) or "" for name in sorted(libraries)}
    for name in sorted(localmodules.used_modules(n for n in imports if _is_user_import(n)) | reach.modules):
        modules[name] = localmodules.module_state(name)
    for package in sorted(touched & patches.packages()):
        modules[package + _PATCHES] = patches.state(package) or ""
    if analysis.argv or reach.argv:
        modules["sys.argv"] = hash_value(list(sys.argv))
    if analysis.local_time or reach.local_time:  # the zone local times are shown in
        modules["time zone"] = hash_value([os.environ.get("TZ"), list(time.tzname), time.timezone, time.altzone])
    code = xxhash.xxh3_128_hexdigest(analysis.code.encode())
    parts = {
        "format": KEY_FORMAT_VERSION,
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "code": code,
        "inputs": inputs,
        "files": files,
        "modules": modules,
    }
    key = xxhash.xxh3_128_hexdigest(json.dumps(parts, sort_keys=True).encode())
    return Fingerprint(
        key=key, code=code, inputs=inputs, files=files, modules=modules, named=tuple(dict.fromkeys(named)),
        indirect=frozenset(reach.globals - reads), touched=frozenset(t for t in touched if t), untraceable=tuple(reach.untraceable), clock=tuple(dict.fromkeys(reach.clock)), memoized=tuple(dict.fromkeys(reach.memoized)),
    )


def _top(kind: type) -> str:
    return (getattr(kind, "__module__", None) or "").partition(".")[0]


def _is_user_import(name: str) -> bool:
    """A module the step imports that is the user's own (local file, editable install) rather than a library."""
    top = name.partition(".")[0]
    if top in sys.modules:
        return not is_library_module(top)
    origin = localmodules.locate(top)
    return origin is not None and is_user_file(origin)


def _script(path: str) -> str | None:
    """The file ``%run path`` runs (it also tries ``.py``), if it exists."""
    for candidate in (path, path + ".py"):
        if os.path.isfile(candidate):
            return candidate
    return None


def _script_reads(path: str) -> set[str]:
    """The notebook names a script run with ``%run -i`` reads."""
    if not path.endswith(".py"):
        return set()
    try:
        with open(path, encoding="utf-8") as handle:
            return set(analyze_cell(handle.read()).reads)
    except (OSError, SyntaxError, ValueError):
        return set()


class _Reach:
    """What the notebook's helpers among a step's inputs reach: globals, local modules, packages.

    A helper reads notebook globals that the step itself never names (``LOG`` in
    ``def note(x): LOG.append(x)``); they are inputs too, so that a change to them
    re-runs the step and a change the step makes to them is restored.
    """

    _LIMIT = 10_000  # objects visited per step, at most

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace
        self.globals: set[str] = set()
        self.modules: set[str] = set()
        self.packages: set[str] = set()
        self.untraceable: list[str] = []
        self.clock: list[str] = []
        self.memoized: list[str] = []
        self.argv = False
        self.local_time = False
        self._seen: set[int] = set()

    def visit(self, value: Any) -> None:
        pending = [value]
        while pending and len(self._seen) < self._LIMIT:
            item = pending.pop()
            if id(item) in self._seen or isinstance(item, (str, bytes, int, float, bool, type(None))):
                continue
            self._seen.add(id(item))
            pending.extend(self._inside(item))

    def _inside(self, item: Any) -> list[Any]:
        function = item.__func__ if isinstance(item, types.MethodType) else item  # no getattr: a value's __getattr__ may raise anything
        if isinstance(function, types.FunctionType):
            return self._function(function)
        if isinstance(item, type):
            if is_library_module(item.__module__ or ""):
                self.packages.add(_top(item))
                return []
            if item.__module__ not in ("__main__", "builtins"):
                self.modules.add(item.__module__)
            return list(vars(item).values())
        if isinstance(item, types.ModuleType):
            if is_library_module(item.__name__):
                self.packages.add(item.__name__.partition(".")[0])
            elif item.__name__ != "__main__":
                self.modules.add(item.__name__)
            return []
        if isinstance(item, (staticmethod, classmethod)):
            return [item.__func__]
        if isinstance(item, property):
            return [f for f in (item.fget, item.fset, item.fdel) if f is not None]
        if isinstance(item, functools.partial):
            return [item.func, *item.args, *item.keywords.values()]
        if isinstance(item, functools._lru_cache_wrapper) and isinstance(item.__wrapped__, types.FunctionType):
            wrapped = item.__wrapped__
            if not is_library_module(wrapped.__module__ or "") and item.cache_info().currsize:
                # it may answer from its cache without reading the files its first calls read
                self.memoized.append(f"{wrapped.__qualname__}() answers from its functools cache")
            return [wrapped]
        if type(item) in (dict, list, tuple, set, frozenset) and len(item) <= 1000:
            return list(item.values()) if type(item) is dict else list(item)
        kind = type(item)
        if kind.__module__ == "__main__":
            return [kind]
        self.packages.add(_top(kind))
        return []

    def _function(self, function: types.FunctionType) -> list[Any]:
        owner = function.__module__ or ""
        code_names = names_used(function.__code__)
        self.argv = self.argv or "argv" in code_names
        if function.__globals__ is self.namespace or not is_library_module(owner):
            self.local_time = self.local_time or bool(clock.LOCAL_TIME & code_names)
            self.clock.extend(f"{function.__qualname__}() calls .{name}()" for name in sorted(clock.METHODS & code_names))
        if is_library_module(owner):
            self.packages.add(owner.partition(".")[0])
            return []
        found: list[Any] = [c.cell_contents for c in function.__closure__ or () if _cell_filled(c)]
        found.extend(function.__defaults__ or ())
        found.extend((function.__kwdefaults__ or {}).values())
        if function.__globals__ is not self.namespace:
            if owner != "__main__":
                self.modules.add(owner)
            return found
        for name in sorted(_global_names(function.__code__)):
            if name == "globals" and name not in self.namespace:
                self.untraceable.append(f"{function.__qualname__}() calls globals()")
            if name in self.namespace and not name.startswith("__"):
                self.globals.add(name)
                found.append(self.namespace[name])
        return found


_AT_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)")


def _names_in_expression_strings(reads: set[str], namespace: Mapping[str, Any]) -> set[str]:
    """``df.query(FILTER)`` with ``FILTER = "price > @min_price"``: pandas reads ``min_price`` from the
    caller's namespace, so a string input's ``@names`` are inputs too."""
    found: set[str] = set()
    for name in reads:
        value = namespace.get(name)
        if isinstance(value, str) and "@" in value and len(value) <= 10_000:
            found.update(n for n in _AT_NAME.findall(value) if n in namespace)
    return found


def _paths_in_value(value: Any) -> list[str]:
    """An input that is a path (or a short list of paths) to an existing file depends on its content."""
    candidates = value if isinstance(value, (list, tuple)) and len(value) <= 1000 else [value]
    found = []
    for item in candidates:
        if isinstance(item, (str, os.PathLike)) and not isinstance(item, bytes):
            text = os.fspath(item)
            if isinstance(text, str):
                found.append(text)
    return literal_files(found)


def _helper_literals(value: Any) -> list[str]:
    """String constants in the user's own helpers reachable from ``value``: a helper can open a file too."""
    found: list[str] = []
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        function = item.__func__ if isinstance(item, types.MethodType) else item  # no getattr: a value's __getattr__ may raise anything
        if isinstance(item, type) and not is_library_module(item.__module__ or ""):
            stack.extend(vars(item).values())
        elif isinstance(function, types.FunctionType) and not is_library_module(function.__module__ or ""):
            found.extend(_code_strings(function.__code__))
            for name in _global_names(function.__code__):
                if name in function.__globals__:
                    stack.append(function.__globals__[name])
            stack.extend(cell.cell_contents for cell in function.__closure__ or () if _cell_filled(cell))
        elif isinstance(item, (staticmethod, classmethod, property)):
            stack.extend(f for f in (getattr(item, "__func__", None), getattr(item, "fget", None)) if f)
    return found


def _code_strings(code: types.CodeType) -> list[str]:
    strings = []
    for const in code.co_consts:
        if isinstance(const, str):
            strings.append(const)
        elif isinstance(const, types.CodeType):
            strings.extend(_code_strings(const))
    return strings


def _global_names(code: types.CodeType) -> set[str]:
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _cell_filled(cell: types.CellType) -> bool:
    try:
        _ = cell.cell_contents  # reading an empty cell raises
    except ValueError:
        return False
    return True
