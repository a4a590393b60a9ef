"""Garbage collection: remove the objects that no step record and no variant refers to.

Objects pile up that nothing names any more: outputs of a record replaced by
``--force``, inputs stored for a step that then failed, objects of a write
that crashed before its record was committed. An object is kept if it is
named by a record (its outputs, its display events, its stored inputs), by a
variant's step record blob, or by anything those blobs name.

A writer stores its objects first and commits the record that names them
last, so an object can be unreferenced for a moment and still be needed. The
grace period protects it: only objects whose file is older than that are
removed. A writer that finds an object already there (and so does not write
it) freshens its time, so an old object that a new record is about to name is
protected too (see ``Store.has_object`` and ``Store.put_object``). The final
decision is taken on the object moved aside (``LocalFiles.retire``), so a
writer's freshening and a deletion can never cross.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from wfnb import evidence
from wfnb.errors import CorruptObject, StoreError
from wfnb.store.layout import OBJECTS, RECORDS, REFS, check_name, digest_of_object_path, key_of_record_path

if TYPE_CHECKING:
    from wfnb.store.core import Store

DEFAULT_GRACE_S = 3600.0  # far longer than any step takes between storing its outputs and committing its record


@dataclass(frozen=True)
class GcReport:
    """What a collection found and did; ``removed`` lists ``(digest, bytes)`` (what would go, with ``dry_run``)."""

    kept: int
    removed: tuple[tuple[str, int], ...]
    recent: int  # unreferenced, but younger than the grace period: kept
    problems: tuple[str, ...]  # damaged or missing documents met while tracing (reported, then skipped)
    dry_run: bool
    grace_s: float

    @property
    def freed(self) -> int:
        """Bytes removed (or that would be, with ``dry_run``)."""
        return sum(size for _, size in self.removed)


def collect(store: Store, *, grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False) -> GcReport:
    """Remove the objects of ``store`` that nothing refers to and that are older than ``grace_s`` seconds."""
    if not grace_s >= 0:
        raise StoreError(f"The grace period must be a number of seconds, 0 or more; got {grace_s!r}.")
    files = store._files
    if not hasattr(files, "modified"):
        raise StoreError(
            f"gc works on local stores only so far; the store at {store.root} is remote. Its unreferenced objects "
            "only cost space: nothing is wrong with it."
        )
    problems: list[str] = []
    reachable = _reachable(store, problems)
    cutoff = time.time() - grace_s
    kept = recent = 0
    removed: list[tuple[str, int]] = []
    for rel in files.walk(OBJECTS):
        digest = digest_of_object_path(rel)
        if digest is None or digest in reachable:
            kept += 1
            continue
        try:
            if files.modified(rel) > cutoff:
                recent += 1
                continue
            size = files.size(rel)
            if not dry_run and not files.retire(rel, cutoff):  # decided on the file moved aside
                recent += 1
                continue
        except FileNotFoundError:
            continue  # quarantined or removed meanwhile
        except OSError as err:
            raise files.error(err, "collect", rel) from err
        removed.append((digest, size))
    return GcReport(kept, tuple(removed), recent, tuple(problems), dry_run, grace_s)


def _reachable(store: Store, problems: list[str]) -> set[str]:
    """Every object digest named by a record or a variant manifest, and by the blobs those name."""
    reachable: set[str] = set()
    for rel in store._files.walk(RECORDS):
        key = key_of_record_path(rel)
        if key is None:
            continue
        try:
            record = store.read_record(key)
        except CorruptObject as error:
            problems.append(str(error))
            continue
        if record is not None:
            reachable.update(_named_by_record(record))
            for blob in _alternatives(record):  # earlier results of the key, kept with their own traces
                reachable.add(blob)
                try:
                    reachable.update(_named_by_record(store.get_json(blob)))
                except (CorruptObject, StoreError) as error:
                    problems.append(f"an earlier result {blob} of record {key}: {error}")
    for rel in store._files.walk(REFS):
        if not rel.endswith(".json"):
            continue
        name = rel[len(REFS) + 1 : -len(".json")]
        try:
            ref = store.refs.read(name)
        except (CorruptObject, StoreError) as error:
            problems.append(str(error))
            continue
        for blob in _blobs_named_by_ref(ref or {}):
            reachable.add(blob)
            try:
                reachable.update(_named_by_record(store.get_json(blob)))
            except (CorruptObject, StoreError) as error:
                problems.append(f"the step record blob {blob} of ref {name}: {error}")
    return reachable


def _named_by_record(record: Any) -> Iterable[str]:
    """The objects a step record (committed, or copied into a variant) refers to."""
    if not isinstance(record, dict):
        return ()
    named = list((record.get("outputs") or {}).values())
    named.extend([record.get("graph"), *(record.get("leaves") or ()), record.get("display")])
    inputs = record.get("inputs") or {}
    named.extend(inputs[name] for name in record.get("stored_inputs", ()) if name in inputs)
    named.extend(evidence.blobs(record))  # texts of files, modules and helpers, for `wfnb why`
    return [digest for digest in named if _is_digest(digest)]


def _alternatives(record: dict[str, Any]) -> list[str]:
    found = record.get("alternatives")
    return [blob for blob in found if _is_digest(blob)] if isinstance(found, list) else []


def _blobs_named_by_ref(ref: dict[str, Any]) -> list[str]:
    """A variant manifest names one record blob per step; other refs (tags, heads) name no object."""
    steps = ref.get("steps")
    if not isinstance(steps, list):
        return []
    return [entry["record"] for entry in steps if isinstance(entry, dict) and _is_digest(entry.get("record"))]


def _is_digest(value: Any) -> bool:
    try:
        check_name(value)
    except StoreError:
        return False
    return True
