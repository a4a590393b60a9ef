"""What a bounded store keeps: ``wfnb gc --keep-last N --max-size 20GB``, and what each variant holds (``wfnb du``).

A store grows with every run: each variant's values, and the cache entries
(step records) of runs no variant uses. Bounding it means choosing what to let
go, as DVC's ``gc`` keeps the cache of the revisions asked for:

* **Always kept**: what a pinned, tagged or current variant needs (its values and
  its steps' cache entries), a variant made within the grace period, and a cache
  entry written or used (a hit, in the run log) within it. Every variant's
  history is kept too: its manifest, its step records (code, parameters,
  metrics, inputs' hashes) and their evidence; only values go.
* ``--keep-last N``: per workflow, the N newest variants keep their values too;
  cache entries no kept variant uses go.
* ``--max-size 20GB``: then, while the objects left take more, cache entries go
  (least recently used first), then variants' values (oldest first), never a
  protected one. If protected variants alone hold more, gc says by how much.

A variant whose values went still lists, shows and compares (its code,
parameters, metrics); ``wfnb replay`` computes its values again. Without either
bound, gc removes only what nothing names (``wfnb.store.gc``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wfnb.errors import BadArgument, CorruptObject, StoreError
from wfnb.store.gc import (
    Inventory,
    Plan,
    everything_named,
    history_objects,
    inventory,
    is_digest,
    needed_by_record,
)

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store

_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9, "T": 10**12, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


@dataclass
class Held:
    """One variant as the store holds it: its steps' record blobs and keys, what it needs, why it is kept."""

    workflow: str
    number: int
    created: float
    protected: str  # "" or why nothing of it may go: "pinned", "tagged", "current", "recent", "unreadable tag"…
    steps: list[tuple[str, str, str]] = field(default_factory=list)  # (step, key, record blob)
    history: set[str] = field(default_factory=set)  # record blobs and their evidence: always kept
    values: dict[str, set[str]] = field(default_factory=dict)  # step → what restoring it needs (from its blob)
    pinned: bool = False
    tags: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.workflow}/v{self.number}"


@dataclass
class Survey:
    """The whole store, read once: variants, committed records and what each needs, object sizes."""

    variants: list[Held]
    records: dict[str, set[str]]  # key → what restoring it needs
    recent_keys: set[str]  # records written, or used (a hit or a run), within the grace period
    found: Inventory
    problems: list[str]


def parse_size(text: str) -> int:
    """``20GB``, ``500M``, ``1.5 GiB``, ``1000`` (bytes) as a number of bytes."""
    cleaned = text.strip().upper().replace(" ", "")
    number = cleaned.rstrip("KMGTIB")
    unit = cleaned[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _UNITS or not value >= 0:
        raise BadArgument(f"{text!r} is not a size; write it as 20GB, 500MB, 1.5GiB or a number of bytes.")
    return int(value * _UNITS[unit])


def survey(store: Store, grace_s: float) -> Survey:
    from wfnb.history.snapshots import workflows

    problems: list[str] = []
    cutoff = time.time() - grace_s
    found = inventory(store)
    variants = [held for workflow in workflows(store) for held in _variants(store, workflow, cutoff, problems)]
    records: dict[str, set[str]] = {}
    for key in sorted(found.records):
        try:
            record = store.read_record(key)
        except (CorruptObject, StoreError) as error:
            problems.append(str(error))
            continue
        if record is not None:
            records[key] = needed_by_record(store, record, problems, f"record {key}")
    recent = _used_since(store, cutoff) | {key for key, modified in found.records.items() if modified > cutoff}
    return Survey(variants, records, recent, found, problems)


def plan(store: Store, *, keep_last: int | None = None, max_size: int | None = None, grace_s: float) -> tuple[Plan, list[str]]:
    """What a collection keeps under these bounds (None, None: everything anything names)."""
    if keep_last is not None and keep_last < 0:
        raise BadArgument(f"--keep-last must be 0 or more (variants per workflow kept with their values); got {keep_last}.")
    if keep_last is None and max_size is None:
        problems: list[str] = []
        return Plan(None, frozenset(everything_named(store, problems))), problems
    seen = survey(store, grace_s)
    everything = set().union(*(h.history for h in seen.variants)) if seen.variants else set()
    kept = _kept_variants(seen.variants, keep_last)
    roots = _Roots(seen, kept, cache=keep_last is None)
    short_of = roots.evict_until(max_size, everything) if max_size is not None else 0
    dropped = tuple(h.ref for h in seen.variants if h.ref not in roots.variants)
    newest = f"one of the {keep_last} newest" if keep_last is not None else "within --max-size"
    kept_why = tuple((h.ref, _WHY.get(h.protected, h.protected) or newest) for h in seen.variants if h.ref in roots.variants)
    plan_ = Plan(frozenset(roots.records()), frozenset(everything | roots.objects()), dropped, short_of, kept_why)
    return plan_, seen.problems


_WHY = {"recent": "made within the grace period"}  # the other reasons (pinned, tagged, current) read as they are


class _Roots:
    """The kept variants and cache entries, with how many of them need each object (to free by eviction)."""

    def __init__(self, seen: Survey, kept: list[Held], cache: bool) -> None:
        self.seen = seen
        self.variants: dict[str, set[str]] = {}
        self.cache: dict[str, set[str]] = {}
        self.counts: dict[str, int] = {}
        self.protected_keys = {key for key in seen.recent_keys if key in seen.records}
        for held in kept:
            self._add(self.variants, held.ref, self.needs(seen, held))
        used = {key for held in kept for _, key, _ in held.steps}
        for key in sorted(seen.records):
            if key not in used and (cache or key in self.protected_keys):
                self._add(self.cache, key, seen.records[key])
        self._kept = {h.ref: h for h in kept}

    @staticmethod
    def needs(seen: Survey, held: Held) -> set[str]:
        """What keeping a variant's values keeps: what its step records name, and its keys' cache entries."""
        needs = set().union(*held.values.values()) if held.values else set()
        for _, key, _ in held.steps:
            needs |= seen.records.get(key, set())
        return needs

    def _add(self, group: dict[str, set[str]], name: str, needs: set[str]) -> None:
        group[name] = needs
        for digest in needs:
            self.counts[digest] = self.counts.get(digest, 0) + 1

    def _drop(self, group: dict[str, set[str]], name: str) -> set[str]:
        """Let go of one root; return the objects nothing kept needs any more."""
        freed = set()
        for digest in group.pop(name):
            self.counts[digest] -= 1
            if not self.counts[digest]:
                del self.counts[digest]
                freed.add(digest)
        return freed

    def objects(self) -> set[str]:
        return set(self.counts)

    def records(self) -> set[str]:
        keys = {key for ref in self.variants for _, key, _ in self._kept[ref].steps}
        return keys | set(self.cache) | self.protected_keys

    def evict_until(self, limit: int, always: set[str]) -> int:
        """Let go of cache entries (least recently used first), then unprotected variants (oldest first),
        while the objects kept take more than ``limit``; return the bytes still over it."""
        sizes = {d: size for d, (size, _) in self.seen.found.objects.items()}
        total = sum(sizes.get(d, 0) for d in always | self.objects())
        stale = sorted((k for k in self.cache if k not in self.protected_keys), key=lambda k: self.seen.found.records.get(k, 0.0))
        old = sorted((h for h in self._kept.values() if not h.protected), key=lambda h: (h.created, h.number))
        for group, name in [*((self.cache, k) for k in stale), *((self.variants, h.ref) for h in old)]:
            if total <= limit:
                break
            total -= sum(sizes.get(d, 0) for d in self._drop(group, name) - always)
        return max(0, total - limit)


def _kept_variants(variants: list[Held], keep_last: int | None) -> list[Held]:
    if keep_last is None:
        return list(variants)
    newest: dict[str, list[int]] = {}
    for held in variants:
        newest.setdefault(held.workflow, []).append(held.number)
    last = {workflow: set(sorted(numbers)[-keep_last:]) if keep_last else set() for workflow, numbers in newest.items()}
    return [held for held in variants if held.protected or held.number in last[held.workflow]]


def _variants(store: Store, workflow: str, cutoff: float, problems: list[str]) -> list[Held]:
    """Every variant of a workflow as the store holds it, read from the raw manifests: one that cannot be
    checked as wfnb writes it keeps everything it names (gc never guesses)."""
    from wfnb.history.snapshots import (
        check_manifest,
        current_number,
        pinned_numbers,
        pointer,
    )

    guard = ""
    tags: dict[int, list[str]] = {}
    for ref in store.refs.names(f"workflows/{workflow}/tags"):
        try:
            tags.setdefault(pointer(store.refs.read(ref) or {}, ref), []).append(ref.rsplit("/", 1)[1])
        except CorruptObject as error:
            problems.append(f"{error} So nothing of workflow {workflow} is let go.")
            guard = "an unreadable tag"
    try:
        head = current_number(store, workflow)
    except CorruptObject as error:
        problems.append(f"{error} So nothing of workflow {workflow} is let go.")
        guard, head = "an unreadable HEAD", None
    pins = pinned_numbers(store, workflow)
    found: list[Held] = []
    for ref in store.refs.names(f"workflows/{workflow}/variants"):
        try:
            manifest = store.refs.read(ref)
        except CorruptObject as error:
            problems.append(str(error))
            continue
        if not isinstance(manifest, dict):
            if manifest is not None:
                problems.append(f"The variant manifest {ref} is not a JSON object; run `wfnb verify`.")
            continue
        try:
            check_manifest(store, manifest, ref)
            number = int(manifest["number"])
        except (CorruptObject, KeyError, TypeError, ValueError) as error:
            problems.append(f"{error} Everything it names is kept.")
            number, guard_here = -len(found) - 1, "a damaged manifest"
        else:
            guard_here = ""
        created = _time(manifest.get("created"))
        reasons = [guard, guard_here, "pinned" if number in pins else "", "tagged" if number in tags else "",
                   "current" if number == head else "", "recent" if created > cutoff else ""]
        held = Held(workflow, number, created, next((r for r in reasons if r), ""), pinned=number in pins, tags=tuple(tags.get(number, [])))
        for entry in manifest.get("steps") or []:
            if isinstance(entry, dict) and is_digest(entry.get("record")):
                held.steps.append((str(entry.get("step")), str(entry.get("key")), entry["record"]))
        _read_blobs(store, held, problems)
        found.append(held)
    return found


def _read_blobs(store: Store, held: Held, problems: list[str]) -> None:
    for step, _key, blob in held.steps:
        held.history.add(blob)
        try:
            record = store.get_json(blob)
        except (CorruptObject, StoreError) as error:
            problems.append(f"the step record blob {blob} of {held.ref}: {error}")
            continue
        held.history |= set(history_objects(record))
        held.values[step] = needed_by_record(store, record, problems, f"step {step} of {held.ref}") - held.history


def _used_since(store: Store, cutoff: float) -> set[str]:
    """Keys of the records a run used (a hit restored, a run wrote) after ``cutoff``, from the run log."""
    keys = set()
    for entry in store.recent_runs():
        if _time(entry.get("started")) < cutoff:
            break
        if isinstance(entry.get("key"), str) and entry["key"]:
            keys.add(entry["key"])
    return keys


def _time(value: Any) -> float:
    """An ISO time as seconds since the epoch; something unreadable counts as now (kept, never dropped)."""
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except (TypeError, ValueError):
        return time.time()


def values_let_go(store: Store, workflow: str) -> set[int]:
    """The variants of ``workflow`` whose values gc let go and are still missing (``wfnb.history.letgo``)."""
    from wfnb.history.letgo import marked
    from wfnb.history.snapshots import variant_ref

    gone = set()
    for number in marked(store, workflow):
        try:
            manifest = store.refs.read(variant_ref(workflow, number))
        except CorruptObject:
            continue
        if isinstance(manifest, dict) and _missing_values(store, manifest):
            gone.add(number)
    return gone


def _missing_values(store: Store, manifest: dict[str, Any]) -> bool:
    problems: list[str] = []
    for entry in manifest.get("steps") or []:
        try:
            record = store.get_json(entry["record"])
        except (CorruptObject, StoreError, KeyError, TypeError):
            return True
        needed = needed_by_record(store, record, problems, "") - set(history_objects(record))
        if any(not store.has_object(digest, freshen=False) for digest in needed):
            return True
    return False


# ---- wfnb du ---------------------------------------------------------------------------------------


def usage_frame(store: Store, workflow: str | None = None, steps: bool = False) -> pd.DataFrame:
    """What each variant (and with ``steps``, each of its steps) holds in the store.

    ``bytes`` is the size of the objects it needs that are in the store, shared
    ones included; ``only_here`` what no other variant and no cache entry needs:
    what letting its values go would free; ``values`` is ``kept``, or
    ``removed`` when some are gone (by ``wfnb gc``: its history stays, a replay
    computes them again).
    """
    import pandas as pd

    seen = survey(store, grace_s=0.0)
    sizes = {d: size for d, (size, _) in seen.found.objects.items()}
    used = {key for held in seen.variants for _, key, _ in held.steps}
    needs = {h.ref: _Roots.needs(seen, h) for h in seen.variants}
    shares: dict[str, int] = {}
    for objects in [*needs.values(), *(needed for key, needed in seen.records.items() if key not in used)]:
        for digest in objects:
            shares[digest] = shares.get(digest, 0) + 1
    rows = []
    for held in seen.variants:
        if workflow is not None and held.workflow != workflow:
            continue
        parts = held.values.items() if steps else [("", needs[held.ref])]
        for step, objects in parts:
            present = [d for d in objects if d in sizes]
            rows.append({
                "workflow": held.workflow, "variant": f"v{held.number}", **({"step": step} if steps else {}),
                "pinned": held.pinned, "tag": ", ".join(held.tags), "protected": held.protected or "",
                "values": "kept" if len(present) == len(objects) else "removed",
                "objects": len(present), "bytes": sum(sizes[d] for d in present),
                "only_here": sum(sizes[d] for d in present if shares.get(d, 0) <= 1),
            })
    columns = ["workflow", "variant", *(["step"] if steps else []), "pinned", "tag", "protected", "values", "objects", "bytes", "only_here"]
    return pd.DataFrame(rows, columns=columns)
