"""Make functions and classes restored from the store live in the notebook again.

A function unpickled by value gets a private copy of the globals it read when it
was stored. Left like that, it would keep using old values after the user edits
them in another cell: a stale result. Rebinding it to the notebook's namespace
makes it behave exactly like the function the step defined.
"""

from __future__ import annotations

import types
from typing import Any

_MAIN = "__main__"


def rebind(value: Any, namespace: dict[str, Any], *, adopt_globals: bool = False) -> Any:
    """Return ``value`` with notebook-defined functions reading ``namespace`` as their globals.

    With ``adopt_globals`` (a replay's fresh namespace), the globals a function
    was stored with are also copied into ``namespace`` where it lacks them.
    """
    if isinstance(value, types.FunctionType):
        return _rebind_function(value, namespace, adopt_globals)
    if isinstance(value, type) and value.__module__ == _MAIN:
        for attribute, member in list(vars(value).items()):
            replacement = _rebind_member(member, namespace, adopt_globals)
            if replacement is not member:
                setattr(value, attribute, replacement)
    return value


def _rebind_member(member: Any, namespace: dict[str, Any], adopt: bool) -> Any:
    if isinstance(member, types.FunctionType):
        return _rebind_function(member, namespace, adopt)
    if isinstance(member, (staticmethod, classmethod)) and isinstance(member.__func__, types.FunctionType):
        inner = _rebind_function(member.__func__, namespace, adopt)
        return member if inner is member.__func__ else type(member)(inner)
    if isinstance(member, property):
        parts: list[Any] = [
            _rebind_function(f, namespace, adopt) if isinstance(f, types.FunctionType) else f for f in (member.fget, member.fset, member.fdel)
        ]
        return property(parts[0], parts[1], parts[2], member.__doc__)
    return member


def _rebind_function(function: types.FunctionType, namespace: dict[str, Any], adopt: bool) -> types.FunctionType:
    if function.__module__ != _MAIN or function.__globals__ is namespace:
        return function
    if adopt:
        for name, value in function.__globals__.items():
            if not name.startswith("__"):
                namespace.setdefault(name, value)
    fresh = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    fresh.__kwdefaults__ = function.__kwdefaults__
    fresh.__qualname__ = function.__qualname__
    fresh.__doc__ = function.__doc__
    fresh.__annotations__ = dict(function.__annotations__)
    fresh.__module__ = function.__module__
    fresh.__dict__.update(function.__dict__)
    return fresh
