"""A workflow's parameters: what a value may be, and ``name=value`` words read as values.

A parameter is plain JSON data so that it can be shown, compared, exported and
overridden. The words are what a user types after ``%wfnb replay`` or
``wfnb replay -p``, read the same way by the magics and the command line.
"""

from __future__ import annotations

import json
from typing import Any

from wfnb.errors import BadArgument


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``name=value`` words into parameters; values are JSON when they parse as JSON, else strings."""
    overrides: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise BadArgument(f"{item!r} is not a parameter override; write name=value, e.g. window=30 or method=ewm.")
        try:
            overrides[name] = json.loads(text)
        except ValueError:
            overrides[name] = text
    return overrides


def check_param(name: str, value: Any) -> None:
    """A parameter must be plain JSON data, so that it can be shown, compared, exported and overridden."""
    try:
        text = json.dumps(value, allow_nan=False)
        exact = json.loads(text) == value and _plain(value)
    except (TypeError, ValueError, RecursionError):
        exact = False
    if not exact:
        raise BadArgument(
            f"parameter {name} = {_short_repr(value)} is not plain JSON data (a number, string, bool, None, or a "
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


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
