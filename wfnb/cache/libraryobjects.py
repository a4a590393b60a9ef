"""A library's own module-level objects, stored by name and restored as themselves.

statsmodels' prediction and margins results hold scipy's distributions (``scipy.stats.t``,
``scipy.stats.norm``): objects a library makes once, at import, and everyone shares.
Pickled by value, a restore gave the step's value a private copy, whose random generator
was a frozen copy of numpy's global one: the value no longer was what a plain run holds,
and drew other numbers. Such an object is stored as ``(module, name)`` instead and looked
up again on restore, in the library as this kernel has it.

Only objects of installed libraries: a notebook's own module may define other values
the next time it is loaded, and its objects keep being stored by content. A library's
objects change only with its version, which the step's key already holds.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

from wfnb.cache.codeorigin import is_library_module

_NOT_HERE = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType, types.MethodType)  # pickled by name already
_ATOMS = (type(None), bool, int, float, complex, str, bytes)
_indexes: dict[str, dict[int, str]] = {}  # module name → id of each global object → its name


def reference(obj: Any) -> tuple[str, str] | None:
    """``(module, name)`` if ``obj`` is a global of the installed library module that defines its class, else None.

    The object is looked for in the module of its class (``scipy.stats.norm`` is made in
    ``scipy.stats._continuous_distns``, beside ``norm_gen``): one dictionary lookup for
    every object that is not such a global.
    """
    if isinstance(obj, _NOT_HERE) or isinstance(obj, _ATOMS):
        return None
    name_of_module = type(obj).__module__
    if not isinstance(name_of_module, str) or name_of_module in ("builtins", "__main__"):
        return None
    module = sys.modules.get(name_of_module)
    if module is None:
        return None
    index = _indexes.get(name_of_module)
    if index is None:
        if not is_library_module(name_of_module):
            _indexes[name_of_module] = {}
            return None
        index = _indexes[name_of_module] = _index(module)
    name = index.get(id(obj))
    if name is None:
        return None
    if getattr(module, name, None) is not obj:  # rebound since, and the id reused: look again
        index = _indexes[name_of_module] = _index(module)
        name = index.get(id(obj))
        if name is None or getattr(module, name, None) is not obj:
            return None
    return module.__name__, name


def _index(module: types.ModuleType) -> dict[int, str]:
    found: dict[int, str] = {}
    for name, value in list(vars(module).items()):
        if name.startswith("__") or isinstance(value, _ATOMS) or isinstance(value, _NOT_HERE):
            continue
        found.setdefault(id(value), name)
    return found


def library_object(module: str, name: str) -> Any:
    """The object a stored reference names, in the library as this kernel imports it."""
    return getattr(importlib.import_module(module), name)
