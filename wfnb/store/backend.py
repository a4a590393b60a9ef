"""Where a store's files live: the interface a backend implements, and the registry that picks one by URL scheme.

The store (``wfnb.store.core``) speaks only in relative POSIX paths and whole
files, so that one class holds all the knowledge of a medium: ``LocalFiles`` a
directory, ``RemoteFiles`` a bucket prefix over fsspec. ``Backend`` writes down
what such a class must do, and the guarantees the store relies on (a file is
whole or absent; ``create`` wins for exactly one writer of a name). A location
with a scheme (``s3://bucket/prefix``) opens the backend registered for that
scheme; a plain path opens the local one (scheme ``""``). ``wfnb.store.opening``
registers both at load time; another medium is one ``register_backend`` call,
provided it can give those guarantees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from wfnb.errors import StoreError

LOCAL = ""  # the scheme of a plain path
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")


@runtime_checkable
class Backend(Protocol):
    """A store's files on one medium; every path is relative to the store's root, with ``/`` separators.

    Durability: a file appears under its name whole or not at all (``write``,
    ``create``), and ``sync`` makes every earlier write durable (a record is
    committed after its objects). Errors of the medium come out as ``StoreError``
    (``error``), with a message that says what to do.
    """

    @property
    def root(self) -> Path | str:
        """The directory or URL of the store: what messages show."""

    @property
    def read_only(self) -> bool:
        """Opened to look only: every change is refused."""

    @property
    def background_writes(self) -> bool:
        """Whether a write may come from another thread than the caller's (the run log's writer)."""

    # reading
    def open_read(self, rel: str) -> BinaryIO: ...
    def read_bytes(self, rel: str) -> bytes: ...
    def exists(self, rel: str) -> bool: ...
    def size(self, rel: str) -> int: ...
    def modified(self, rel: str) -> float: ...
    def walk(self, top: str) -> Iterator[str]: ...
    def listing(self, top: str) -> Iterator[tuple[str, int, float]]: ...
    def usage(self, top: str) -> int: ...
    def fresh_reads(self) -> AbstractContextManager[None]: ...

    # writing
    def refuse_foreign(self, names: Iterable[str]) -> None: ...
    def make_dirs(self, names: Iterable[str]) -> None: ...
    def write(self, rel: str, chunks: Iterable[object], *, durable: bool = False) -> int: ...
    def create(self, rel: str, chunks: Iterable[object]) -> bool: ...
    def delete(self, rel: str) -> bool: ...
    def freshen(self, rel: str) -> bool: ...
    def retire(self, rel: str, cutoff: float) -> bool: ...
    def quarantine(self, rel: str, opened: BinaryIO | None = None) -> str | None: ...
    def sync(self) -> None: ...
    def probe(self) -> None: ...
    def clean_tmp(self) -> int: ...
    def prune_cache(self, keep: Iterable[str]) -> int: ...

    # errors
    def error(self, err: OSError, action: str, rel: str | None = None) -> StoreError: ...


Opener = Callable[[str, bool], Backend]
"""``opener(location, write)``: the backend of the store at ``location``, opened to write or only to read."""

_BACKENDS: dict[str, Opener] = {}


def register_backend(scheme: str, opener: Opener) -> None:
    """Open locations ``scheme://…`` with ``opener`` (``LOCAL``, the empty scheme: plain paths)."""
    _BACKENDS[scheme.lower()] = opener


def scheme_of(location: str) -> str:
    """The URL scheme of ``location`` in lower case (``s3``), or ``LOCAL`` for a path."""
    found = _SCHEME.match(location)
    return found.group(1).lower() if found else LOCAL


def open_backend(location: str, *, write: bool) -> Backend:
    """The files of the store at ``location``, from the backend registered for its scheme."""
    scheme = scheme_of(location)
    opener = _BACKENDS.get(scheme)
    if opener is None:
        known = ", ".join(f"{s}://" for s in sorted(_BACKENDS) if s != LOCAL) or "none"
        raise StoreError(
            f"The store location {location!r} uses {scheme}://, but wfnb stores only work on local directories and "
            "S3 (s3://bucket/prefix, also S3-compatible servers given an endpoint_url): sharing a store safely needs "
            "conditional writes (If-None-Match, If-Match) that wfnb relies on. Use a local path or an s3:// URL "
            f"(the schemes registered here: {known})."
        )
    return opener(location, write)
