"""The cache entries of a store as a step runner reads them, and which one a hit may use.

A key names a committed step record, and each record may keep earlier results of
the same key (``alternatives``), each with the trace it was made under. A hit uses
the first whose trace still holds (``wfnb.cache.probes``); if none does, the
lookup says why, and which entry the run is then compared with. Records and
JSON blobs are kept in memory once read: they never change under a key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wfnb.cache import probes
from wfnb.errors import CorruptObject, StoreError

if TYPE_CHECKING:
    from wfnb.cache.fingerprint import Fingerprint
    from wfnb.store import Store

REMEMBERED = 256  # records, blobs and cell analyses kept in memory, for fast repeated hits


class Entries:
    """The records of one store, read through a memory of the most recently used."""

    def __init__(self, store: Store, warn: Callable[[str], None]) -> None:
        self.store = store
        self._warn = warn
        self._blobs: dict[str, Any] = {}  # immutable JSON objects read: captured outputs, earlier records
        self._records: dict[str, dict[str, Any]] = {}

    def blob(self, digest: str) -> Any:
        """A JSON object by its content hash: immutable, so kept once read."""
        return remembered(self._blobs, digest, lambda: self.store.get_json(digest))

    def record(self, key: str) -> dict[str, Any] | None:
        """The committed record of a key. Kept once read: any complete record of a key is a valid
        candidate for it, and this process's own commits replace the kept one."""
        record = self._records.get(key) or self.store.read_record(key)
        return None if record is None else remembered(self._records, key, lambda: record)

    def remember(self, key: str, record: dict[str, Any]) -> None:
        """This process has just committed ``record`` for ``key``."""
        self._records[key] = record

    def forget(self, key: str) -> None:
        """Read the record of ``key`` from the store next time: it was annotated meanwhile."""
        self._records.pop(key, None)

    def verified(self, fingerprint: Fingerprint, namespace: dict[str, Any]) -> Lookup:
        """The stored result of this key whose trace still holds, or why none does (and the one that failed)."""
        try:
            record = self.record(fingerprint.key)
        except (CorruptObject, StoreError) as error:
            self._warn(f"{error} The step runs again instead of loading it.")
            return Lookup(why="its stored result was damaged")
        if record is None or not record.get("restorable", True):
            return Lookup(why=None if record is None else "its values could not be stored last time", against=record)
        failed = Lookup()
        for candidate in [record, *self.alternatives(record)]:
            change = probes.first_change(probes.probes_of(candidate), namespace)
            if change is None:
                return Lookup(record=candidate, alternative=candidate is not record)
            if failed.why is None:
                failed = Lookup(why=change, against=candidate)
        return failed

    def alternatives(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        found = []
        for digest in record.get("alternatives", []):
            try:
                found.append(self.blob(digest))
            except (CorruptObject, StoreError):
                continue
        return found


@dataclass(frozen=True)
class Lookup:
    """What the store had for a key: the result to restore, or why none will do and the one that failed."""

    record: dict[str, Any] | None = None
    why: str | None = None
    against: dict[str, Any] | None = None  # the entry the run is compared with, if not the step's previous
    alternative: bool = False  # the result is an earlier one of the key, kept for its trace


def hit_decision(lookup: Lookup) -> dict[str, Any]:
    """Which entry a hit used and when it was made, for ``wfnb why``."""
    record = lookup.record or {}
    entry = {name: record.get(name) for name in ("key", "started", "duration_s", "workflow")}
    return {"kind": "hit", "entry": {**entry, "alternative": lookup.alternative}}


def nondeterministic_note(seen: Any) -> str:
    """The status line's note on a hit of a step a check saw give other outputs."""
    outputs = ", ".join(seen.get("outputs", [])) if isinstance(seen, dict) else ""
    return f"nondeterministic: a fresh run gave other {outputs or 'outputs'} (wfnb.replay(..., check=True))"


def remembered(memo: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    """``memo[key]``, made if missing; the memo keeps the ``REMEMBERED`` most recently used."""
    value = memo.pop(key) if key in memo else make()
    memo[key] = value
    while len(memo) > REMEMBERED:
        memo.pop(next(iter(memo)))
    return value
