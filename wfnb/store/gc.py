"""Garbage collection: remove the step records and objects that what is kept does not need.

What to keep is decided above the store (``wfnb.history.retention``: which variants and
cache entries a bound such as ``--keep-last 5`` keeps) and handed here as a
``Plan``: the records to keep (None: every one) and the objects they and the
kept variants need. By default everything a record or a variant names is kept,
and only leftovers go: outputs of a record replaced by ``--force``, inputs
stored for a step that then failed, objects of a write that crashed before its
record was committed. An object is needed if it is named by a record (its
outputs, graph, leaves, display events, stored inputs, the texts of its
evidence), by an earlier result of the key it keeps (``alternatives``), by a
variant's step record blob, or by anything those blobs name.

A writer stores its objects first and commits the record that names them
last, so an object can be unreferenced for a moment and still be needed. The
grace period protects it: only files older than that are removed. A writer that
finds an object already there (and so does not write it) freshens its time, so
an old object that a new record is about to name is protected too (see
``Store.has_object`` and ``Store.put_object``). On a disk the final decision is
taken on the file moved aside (``LocalFiles.retire``), so a writer's
freshening and a deletion can never cross; in S3 the time is read again just
before a conditional delete (``RemoteFiles.retire``). Records are retired the
same way: one committed (or used, which the caller checks in the run log)
within the grace period stays. For a remote store, the local read cache loses
its copies of every object that is not kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from wfnb.errors import CorruptObject, StoreError
from wfnb.store.layout import (
    OBJECTS,
    RECORDS,
    REFS,
    check_digest,
    digest_of_object_path,
    key_of_record_path,
    object_path,
)

if TYPE_CHECKING:
    from wfnb.store.core import Store

DEFAULT_GRACE_S = 3600.0  # far longer than any step takes between storing its outputs and committing its record
_VALUE_FIELDS = ("graph", "display")  # a record's fields naming one object each (besides outputs, leaves, inputs)


@dataclass(frozen=True)
class Plan:
    """What a collection keeps: records by key (None: all of them) and the objects needed by what is kept."""

    records: frozenset[str] | None
    objects: frozenset[str]
    dropped: tuple[str, ...] = ()  # variants whose values are let go ("workflow/v3"), for the report
    short_of: int = 0  # bytes the kept things hold beyond --max-size (protected ones could not go)
    kept_why: tuple[tuple[str, str], ...] = ()  # variants whose values are kept ("workflow/v3"), each with why


@dataclass(frozen=True)
class GcReport:
    """What a collection found and did; ``removed`` lists ``(digest, bytes)`` (what would go, with ``dry_run``)."""

    kept: int
    removed: tuple[tuple[str, int], ...]
    recent: int  # unreferenced, but younger than the grace period: kept
    problems: tuple[str, ...]  # damaged or missing documents met while tracing (reported, then skipped)
    dry_run: bool
    grace_s: float
    records_removed: tuple[str, ...] = ()  # cache entries (keys) let go
    dropped: tuple[str, ...] = ()  # variants whose values were let go (their history stays)
    kept_bytes: int = 0  # what the objects left take
    cache_freed: int = 0  # bytes of the local read cache of a remote store removed
    short_of: int = 0  # bytes over --max-size that protected (pinned, tagged, current, recent) variants hold
    kept_why: tuple[tuple[str, str], ...] = ()  # with bounds: each variant whose values are kept, and why

    @property
    def freed(self) -> int:
        """Bytes removed (or that would be, with ``dry_run``)."""
        return sum(size for _, size in self.removed)


@dataclass
class Inventory:
    """Every object (size, time) and record (time) of a store, from one listing each."""

    objects: dict[str, tuple[int, float]] = field(default_factory=dict)
    records: dict[str, float] = field(default_factory=dict)


def inventory(store: Store) -> Inventory:
    found = Inventory()
    for rel, size, modified in store._files.listing(OBJECTS):
        digest = digest_of_object_path(rel)
        if digest is not None:
            found.objects[digest] = (size, modified)
    for rel, _size, modified in store._files.listing(RECORDS):
        key = key_of_record_path(rel)
        if key is not None:
            found.records[key] = modified
    return found


def collect(
    store: Store, plan: Plan | None = None, *, grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False, problems: Iterable[str] = ()
) -> GcReport:
    """Remove what ``plan`` does not keep (default: whatever nothing names) and is older than ``grace_s`` seconds:
    records, then objects."""
    check_grace(grace_s)
    if plan is None:
        unreadable: list[str] = []
        plan, problems = Plan(None, frozenset(everything_named(store, unreadable))), [*problems, *unreadable]
    files = store._files
    cutoff = time.time() - grace_s
    found = inventory(store)
    records_removed = []
    if plan.records is not None:
        for key, modified in sorted(found.records.items()):
            if key in plan.records or modified > cutoff:
                continue
            if dry_run or _retire(files, f"{RECORDS}/{key[:2]}/{key}.json", cutoff):
                records_removed.append(key)
    kept = recent = kept_bytes = 0
    removed: list[tuple[str, int]] = []
    for digest, (size, modified) in sorted(found.objects.items()):
        if digest in plan.objects:
            kept += 1
            kept_bytes += size
        elif modified > cutoff or not (dry_run or _retire(files, object_path(digest), cutoff)):
            recent += 1
            kept_bytes += size
        else:
            removed.append((digest, size))
    cache_freed = 0
    if not dry_run and hasattr(files, "prune_cache"):
        gone = {digest for digest, _ in removed}
        cache_freed = files.prune_cache(object_path(d) for d in found.objects if d not in gone)
    return GcReport(
        kept, tuple(removed), recent, tuple(problems), dry_run, grace_s, tuple(records_removed), plan.dropped, kept_bytes,
        cache_freed, plan.short_of, plan.kept_why,
    )


def _retire(files: Any, rel: str, cutoff: float) -> bool:
    try:
        return bool(files.retire(rel, cutoff))
    except FileNotFoundError:
        return False  # quarantined or removed meanwhile
    except OSError as err:
        raise files.error(err, "collect", rel) from err


def check_grace(grace_s: float) -> None:
    if not grace_s >= 0:
        raise StoreError(f"The grace period must be a number of seconds, 0 or more; got {grace_s!r}.")


# ---- what a record or a variant names -----------------------------------------------------------


def everything_named(store: Store, problems: list[str]) -> set[str]:
    """Every object a committed record or a variant manifest names, and what the blobs those name name."""
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
            reachable |= needed_by_record(store, record, problems, f"record {key}")
    for rel in store._files.walk(REFS):
        if not rel.endswith(".json"):
            continue
        name = rel[len(REFS) + 1 : -len(".json")]
        try:
            ref = store.refs.read(name)
        except (CorruptObject, StoreError) as error:
            problems.append(str(error))
            continue
        steps = (ref or {}).get("steps")
        for entry in steps if isinstance(steps, list) else []:  # a variant manifest: one record blob per step
            blob = entry.get("record") if isinstance(entry, dict) else None
            if not is_digest(blob):
                continue
            reachable.add(blob)
            try:
                reachable |= needed_by_record(store, store.get_json(blob), problems, f"the step record blob {blob} of ref {name}")
            except (CorruptObject, StoreError) as error:
                problems.append(f"the step record blob {blob} of ref {name}: {error}")
    return reachable


def value_objects(record: Any) -> list[str]:
    """The objects a step record (committed, or copied into a variant) needs to be restored."""
    if not isinstance(record, dict):
        return []
    # a record with a graph keeps its values in it (outputs are value hashes); an older one, one object each
    named = [] if record.get("graph") else list((record.get("outputs") or {}).values())
    named.extend([*(record.get(name) for name in _VALUE_FIELDS), *(record.get("leaves") or ())])
    inputs = record.get("inputs") or {}
    named.extend(inputs[name] for name in record.get("stored_inputs", ()) if name in inputs)
    return [digest for digest in named if is_digest(digest)]


def history_objects(record: Any) -> list[str]:
    """The objects a record needs to be explained (the texts of its evidence, ``wfnb.cache.evidence``):
    kept with its history."""
    found = record.get("evidence") if isinstance(record, dict) else None
    if not isinstance(found, dict):
        return []
    named = [facts.get("text") for facts in (found.get("files") or {}).values() if isinstance(facts, dict)]
    named += list((found.get("modules") or {}).values()) + list((found.get("helpers") or {}).values())
    return [blob for blob in named if isinstance(blob, str) and is_digest(blob)]


def alternatives(record: Any) -> list[str]:
    """The blobs of earlier results a record keeps for its key (each a record with its own trace)."""
    found = record.get("alternatives") if isinstance(record, dict) else None
    return [blob for blob in found if is_digest(blob)] if isinstance(found, list) else []


def needed_by_record(store: Store, record: Any, problems: list[str], where: str) -> set[str]:
    """Everything a record needs to be restored and explained: its values, its evidence, its earlier
    results of the key and theirs (damaged ones are reported in ``problems`` and skipped)."""
    needed = set(value_objects(record)) | set(history_objects(record))
    for blob in alternatives(record):
        needed.add(blob)
        try:
            earlier = store.get_json(blob)
        except (CorruptObject, StoreError) as error:
            problems.append(f"an earlier result {blob} of {where}: {error}")
            continue
        needed |= set(value_objects(earlier)) | set(history_objects(earlier))
    return needed


def is_digest(value: Any) -> TypeGuard[str]:
    try:
        check_digest(value)
    except StoreError:
        return False
    return True
