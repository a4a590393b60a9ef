"""The key that decides whether a step's earlier result may be reused.

A step's key is the hash of everything that can change what it computes: its
normalized code, the content of every input it reads (helpers included,
transitively, through their value hashes), the files it names, the versions of
the packages it imports, the Python version and the key format itself.
"""

from __future__ import annotations

import builtins
import dis
import json
import os
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Mapping

import xxhash

from wfnb.analysis import CellAnalysis
from wfnb.files import digest_files, literal_files
from wfnb.hashing import hash_value, is_library_module, module_version

# Bump whenever the meaning of a key changes, so that no old entry is ever hit by mistake.
KEY_FORMAT_VERSION = 1
ABSENT = "absent"  # an input name that was not defined when the step ran
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
    files: dict[str, str] = field(default_factory=dict)  # path → content hash
    modules: dict[str, str] = field(default_factory=dict)  # package → version

    def changes_from(self, earlier: Mapping[str, Any]) -> list[str]:
        """What differs from an earlier record's parts, in words for the status line."""
        reasons = []
        if earlier.get("code_hash") != self.code:
            reasons.append("code changed")
        for kind, field_name, now in (
            ("input", "inputs", self.inputs),
            ("file", "files", self.files),
            ("package", "modules", self.modules),
        ):
            before = earlier.get(field_name, {})
            changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
            if changed:
                reasons.append(f"{kind}{'s' if len(changed) > 1 else ''} {', '.join(changed)} changed")
        return reasons


def fingerprint_step(analysis: CellAnalysis, namespace: Mapping[str, Any], deps: list[str]) -> Fingerprint:
    """Hash a step as it would run now in ``namespace``. Raises UnhashableValue."""
    inputs: dict[str, str] = {}
    paths = list(deps) + literal_files(analysis.literals)
    for name in sorted(analysis.reads - _SHELL_MACHINERY):
        if name in namespace:
            value = namespace[name]
            inputs[name] = hash_value(value)
            paths.extend(_paths_in_value(value))
            paths.extend(literal_files(_helper_literals(value)))
        elif not hasattr(builtins, name) and name not in _IPYTHON_BUILTINS:
            inputs[name] = ABSENT
    files = digest_files(paths)
    modules = {name: module_version(name) or "" for name in sorted(analysis.imports)}
    code = xxhash.xxh3_128_hexdigest(analysis.code.encode())
    parts = {
        "format": KEY_FORMAT_VERSION,
        "python": "%d.%d" % sys.version_info[:2],
        "code": code,
        "inputs": inputs,
        "files": files,
        "modules": modules,
    }
    key = xxhash.xxh3_128_hexdigest(json.dumps(parts, sort_keys=True).encode())
    return Fingerprint(key=key, code=code, inputs=inputs, files=files, modules=modules)


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
        function = getattr(item, "__func__", item)
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
        cell.cell_contents
    except ValueError:
        return False
    return True
