"""Library classes changed from the notebook: ``pd.DataFrame.double = ...``, a registered pandas accessor.

Library code is hashed by name and version, so a method added to ``pd.DataFrame``
in a cell would be invisible to the key of a step that calls it. Setting an
attribute on a class raises no event Python can watch, so every cell (plain cells,
steps, and local modules as they load) is read for such assignments, and the
classes and attributes it names are remembered for the life of the kernel. A step
that uses a library then depends on what those attributes hold now.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Iterator
from typing import Any

from wfnb.cache.codeorigin import is_library_module

# pandas' accessor decorators, and the class each registers on.
_ACCESSORS = {
    "register_dataframe_accessor": "DataFrame",
    "register_series_accessor": "Series",
    "register_index_accessor": "Index",
}
_MISSING = "<missing>"
_PLUMBING = frozenset({"sys", "os", "builtins", "posix", "nt", "io", "__main__"})

_registry: dict[int, tuple[type, set[str]]] = {}


def note_source(source: str, namespace: dict[str, Any]) -> list[tuple[type, str]]:
    """Remember the library class attributes ``source`` sets; return them. Unparsable source is skipped."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return note_tree(tree, namespace)


def note_tree(tree: ast.AST, namespace: dict[str, Any]) -> list[tuple[Any, str]]:
    found = []
    for target, attribute in _assigned_attributes(tree):
        owner = _resolve(target, namespace)
        if (isinstance(owner, type) or _is_library_module_object(owner)) and is_library_module(owner_name(owner)):
            _registry.setdefault(id(owner), (owner, set()))[1].add(attribute)
            found.append((owner, attribute))
    return found


def owner_name(owner: Any) -> str:
    """The module a patched class belongs to, or a patched module's own name."""
    return (owner.__name__ if isinstance(owner, types.ModuleType) else getattr(owner, "__module__", "")) or ""


def _is_library_module_object(value: Any) -> bool:
    """A library module the notebook sets an attribute on (``json.threshold = 2``); not the interpreter's
    own plumbing (``sys.stdout``, ``os.environ``), which the kernel itself rebinds."""
    return isinstance(value, types.ModuleType) and value.__name__ not in _PLUMBING


def state(package: str) -> str | None:
    """A digest of what the notebook set on ``package``'s classes (None if it set nothing)."""
    from wfnb.cache.hashing import hash_value

    entries = []
    for cls, attributes in _registry.values():
        if owner_name(cls).partition(".")[0] != package:
            continue
        for attribute in sorted(attributes):
            value = vars(cls).get(attribute, _MISSING)
            try:
                digest = hash_value(value)
            except Exception:  # noqa: BLE001 - no content to compare: its identity in this kernel
                digest = f"id:{id(value)}"
            entries.append((f"{owner_name(cls)}.{getattr(cls, '__qualname__', '')}", attribute, digest))
    return None if not entries else hash_value(sorted(entries))


def packages() -> set[str]:
    """The top-level packages with classes changed from the notebook."""
    return {owner_name(cls).partition(".")[0] for cls, _ in _registry.values()}


# Library classes other libraries add methods to by a call (``tqdm.pandas()`` adds ``progress_apply``
# to these): compared before and after each step, so that a hit adds the methods again.
_PATCHED_BY_CALLS = {
    "pandas": ("DataFrame", "Series", "Index"),
    "pandas.core.groupby.generic": ("DataFrameGroupBy", "SeriesGroupBy"),
    "pandas.core.groupby.groupby": ("GroupBy",),
    "pandas.core.window.rolling": ("Rolling", "Window", "RollingGroupby"),
    "pandas.core.window.expanding": ("Expanding", "ExpandingGroupby"),
}


def class_snapshot() -> dict[type, dict[str, int]]:
    """The attributes of the library classes that calls patch, by identity (cheap: no hashing)."""
    snapshot = {}
    for module_name, names in _PATCHED_BY_CALLS.items():
        module = sys.modules.get(module_name)
        for name in names:
            cls = getattr(module, name, None) if module is not None else None
            if isinstance(cls, type):
                snapshot[cls] = {key: id(value) for key, value in vars(cls).items()}
    return snapshot


def changed_attributes(before: dict[type, dict[str, int]], after: dict[type, dict[str, int]]) -> list[tuple[type, str]]:
    """Which of those attributes a step added, replaced or removed."""
    changed: list[tuple[type, str]] = []
    for cls, attributes in after.items():
        earlier = before.get(cls)
        if earlier is None or earlier == attributes:
            continue
        changed.extend((cls, key) for key in sorted(set(earlier) | set(attributes)) if earlier.get(key) != attributes.get(key))
    return changed


def _assigned_attributes(tree: ast.AST) -> Iterator[tuple[ast.expr, str]]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute):
                    yield target.value, target.attr
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            literal = node.args[1] if name in ("setattr", "delattr") and len(node.args) >= 2 else None
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                yield node.args[0], literal.value
            elif name in _ACCESSORS and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                yield ast.Attribute(value=ast.Name(id="__wfnb_pandas__", ctx=ast.Load()), attr=_ACCESSORS[name], ctx=ast.Load()), node.args[0].value


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a dotted name stands for, found without calling anything; None if it is not one."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    if node.id == "__wfnb_pandas__":
        value: Any = sys.modules.get("pandas")
    elif node.id in namespace:
        value = namespace[node.id]
    else:
        return None
    for part in reversed(parts):
        try:
            value = getattr(value, part)
        except Exception:  # noqa: BLE001 - not a plain dotted name
            return None
    return value
