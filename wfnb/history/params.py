"""A workflow's parameters: what a value may be, and ``name=value`` words read as values.

A parameter is plain JSON data so that it can be shown, compared, exported and
overridden. The words are what a user types after ``%wfnb replay`` or
``wfnb replay -p``, read the same way by the magics and the command line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wfnb.errors import BadArgument


def parse_overrides(items: list[str], params: Mapping[str, Any] | None = None) -> dict[str, object]:
    """``name=value`` words into parameters; values are JSON when they parse as JSON, else strings.

    With ``params`` (the parameters being overridden), a word for a string
    parameter is taken as it was typed: ``method=1`` means the string ``"1"``.
    """
    overrides: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise BadArgument(f"{item!r} is not a parameter override; write name=value, e.g. window=30 or method=ewm.")
        if params is not None and isinstance(params.get(name), str):
            overrides[name] = text
            continue
        try:
            overrides[name] = json.loads(text)
        except ValueError:
            overrides[name] = text
    return overrides


def as_parameter_type(owner: str, name: str, value: Any, recorded: Any) -> Any:
    """``value`` as an override of parameter ``name``, converted to the type the parameter has (``recorded``).

    A parameter keeps its type across variants: ``alpha = 0.5`` overridden by
    ``alpha=20`` is ``20.0``, so that the notebook's own ``alpha = 20.0`` later
    finds that variant's results instead of recording another with the same
    ones. A whole number for a float, and a float that is whole for an int, are
    converted; anything else of another type is refused.
    """
    if recorded is None or value is None or type(value) is type(recorded):
        return value
    if type(recorded) is float and type(value) is int:
        return float(value)
    if type(recorded) is int and type(value) is float and value.is_integer():
        return int(value)
    kinds = {bool: "a bool", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a dict"}
    kind = kinds.get(type(recorded), type(recorded).__name__)
    example = json.dumps(recorded) if not isinstance(recorded, str) else recorded
    raise BadArgument(
        f"{owner}: parameter {name} is {kind} ({name}={json.dumps(recorded)}), so {short_repr(value)} "
        f"({kinds.get(type(value), type(value).__name__)}) cannot be its value. Give {kind}, e.g. {name}={example}."
    )


def check_param(name: str, value: Any) -> None:
    """A parameter must be plain JSON data, so that it can be shown, compared, exported and overridden."""
    try:
        text = json.dumps(value, allow_nan=False)
        exact = json.loads(text) == value and _plain(value)
    except (TypeError, ValueError, RecursionError):
        exact = False
    if not exact:
        raise BadArgument(
            f"parameter {name} = {short_repr(value)} is not plain JSON data (a number, string, bool, None, or a "
            "list/dict of these with string keys). Keep parameters simple, e.g. window = 20 or method = 'ewm', "
            "and build other objects from them in a step."
        )


def _plain(value: Any) -> bool:
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def short_repr(value: Any, width: int = 60) -> str:
    """A value as a message can quote it: its repr, cut to ``width`` (its type when the repr itself fails)."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a user's repr that raises must not turn a message into a traceback
        text = f"<{type(value).__name__}>"
    return text if len(text) <= width else text[: width - 3] + "..."
