"""Refs: small named JSON documents that point into the store (variants, tags, heads).

Objects and records are named by hashes; refs are named by people (``v3``, a
tag). Each ref is one checksummed file under ``refs/``. ``create`` succeeds for
exactly one writer of a name, which is how variant numbers and tags stay unique
when several kernels share a store; ``replace`` is an atomic overwrite for
pointers where the last writer may win (the current variant). Every write is
announced in this process (``wfnb.store.changes``), so that open browsers follow it.
"""

from __future__ import annotations

import re
from typing import Any

from wfnb.errors import CorruptObject, StoreError
from wfnb.store.backend import Backend
from wfnb.store.changes import announce
from wfnb.store.layout import REFS
from wfnb.store.localfs import read_if_present, set_aside
from wfnb.store.objects import Damaged, pack_document, unpack_document

_SEGMENT = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


def ref_path(name: str) -> str:
    """``refs/<name>.json`` for a ``/``-separated name of safe segments; refuses anything else."""
    segments = name.split("/") if isinstance(name, str) else [None]
    if not all(isinstance(s, str) and _SEGMENT.fullmatch(s) and set(s) != {"."} for s in segments):
        raise StoreError(
            f"The ref name {name!r} is not valid: each '/'-separated part must be 1 to 128 letters, "
            "digits, '_', '-' or '.' (not only dots), so that no ref can point outside the store."
        )
    return f"{REFS}/{name}.json"


class Refs:
    """The refs of one store."""

    def __init__(self, files: Backend) -> None:
        self._files = files

    def create(self, name: str, data: dict[str, Any]) -> bool:
        """Write ref ``name`` if it does not exist yet; False (and nothing written) if it does."""
        created = self._files.create(ref_path(name), [pack_document("ref", name, data)])
        if created:
            announce(self._files.root, name)
        return created

    def replace(self, name: str, data: dict[str, Any]) -> None:
        """Write ref ``name`` whether or not it exists, atomically."""
        self._files.write(ref_path(name), [pack_document("ref", name, data)])
        announce(self._files.root, name)

    def read(self, name: str) -> dict[str, Any] | None:
        """The data of ref ``name``, or None if there is no such ref."""
        rel = ref_path(name)
        raw = read_if_present(self._files, rel)
        if raw is None:
            return None
        try:
            return unpack_document("ref", name, raw)
        except Damaged as err:
            raise CorruptObject(
                f"The ref {name} in the store at {self._files.root} is damaged ({err}); it {set_aside(self._files, rel)}. "
                "Run `wfnb verify` to check the rest of the store."
            ) from None

    def set_aside(self, name: str) -> str:
        """Move ref ``name`` to ``corrupt/`` (a ref that points at nothing); what became of it, for messages."""
        return set_aside(self._files, ref_path(name))

    def delete(self, name: str) -> bool:
        """Remove ref ``name``; False if there was none."""
        deleted = self._files.delete(ref_path(name))
        if deleted:
            announce(self._files.root, name)
        return deleted

    def names(self, prefix: str) -> list[str]:
        """Names of the refs under ``prefix`` (a ref name without the last part), sorted."""
        top = ref_path(prefix)[: -len(".json")]
        start = len(REFS) + 1
        return [rel[start : -len(".json")] for rel in self._files.walk(top) if rel.endswith(".json")]
