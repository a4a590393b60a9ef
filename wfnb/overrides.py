"""``name=value`` words, as typed after ``%wfnb replay`` or ``wfnb replay -p``, into parameter values.

Shared by the magics and the command line (which must not import IPython's
magic machinery just to read ``window=30``).
"""

from __future__ import annotations

import json

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
