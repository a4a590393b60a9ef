"""Write a user's file whole or not at all, with the permissions any new file of theirs gets.

Exports and ``--save`` files are read by people and other programs, often on
shared servers: a reader must never see half a file, and colleagues must be
able to open it as they open the user's other files. ``tempfile.mkstemp``
would give the first but not the second (its files are private, mode 0600),
so the temporary file is created here with mode 0666 less the umask, as
``open()`` would create the file itself.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new, empty temporary file beside ``path``; renamed over ``path`` if the block succeeds, else removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
