"""Valid names for steps, workflows and tags.

Names end up in file names, refs and command lines, so they are kept to a
small alphabet that is safe everywhere and cannot escape the store.
"""

from __future__ import annotations

import re

from wfnb.errors import BadArgument

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it is a valid step/workflow/tag name, else raise BadArgument."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or set(name) == {"."}:
        raise BadArgument(
            f"{name!r} is not a valid {kind} name: use 1 to 128 letters, digits, '_', '-' or '.' "
            f"(not only dots), e.g. 'clean' or 'model-2'."
        )
    return name
