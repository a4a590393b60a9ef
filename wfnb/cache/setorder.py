"""The iteration order of a set of numbers: part of what the set is, and kept when it is stored.

Two equal sets can iterate in different orders: ``{1, 9}`` built by adding 9 first
lists ``[9, 1]``, built the other way ``[1, 9]`` (both hash to slot 1 of an 8-slot
table). A step doing ``list(s)`` or ``for x in s`` then gives a different result, so
for such sets the order is part of the hash (``wfnb.cache.encoder``). Only sets whose
elements hash the same in every process have an order worth keeping: numbers, and
tuples and frozensets of numbers. A set of strings, bytes, dates or ``None`` iterates in
an order drawn anew by each process (``PYTHONHASHSEED``, addresses), so a plain run in a
fresh kernel gives any order; such sets hash by content alone.

A pickle round trip rebuilds a set by adding its elements in iteration order, which
gives another order for about a third of the sets whose elements collide. ``rebuild``
makes a set that iterates in the given order: it places each element in the slot of a
table of the original size that keeps the order, as CPython's probing (the same in
3.10 to 3.13) would find it, blocking the slots that element's probes passed through
with placeholder numbers it removes afterwards. The result is checked; when no such
placement is found, the set is rebuilt plainly (its hash then differs, so the steps
that read it run again rather than use a stale result).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from typing import Any

_MAX_DEPTH = 4  # tuples of tuples of numbers, and no deeper
_EMPTY_SIZE = sys.getsizeof(set())
_ENTRY = 16  # bytes per slot of a set's table (a key pointer and its hash) on 64-bit CPython
_SMALL_TABLE = 8
_LINEAR_PROBES = 9
_PERTURB_SHIFT = 5
_MASK64 = (1 << 64) - 1
_MAX_PLACED = 20_000  # larger sets are rebuilt plainly
_MAX_PROBES = 64  # slots of an element's probe sequence considered for it
_MAX_SEARCHED = 300  # sets up to this size get the exact search
_SEARCH_BUDGET = 20_000  # steps of that search
_NUMBER_TYPES = (int, bool)


def has_fixed_order(value: set[Any] | frozenset[Any]) -> bool:
    """Whether every element hashes the same in every process (numbers, tuples/frozensets of them),
    so that the set's iteration order is the same in every plain run of the code that built it."""
    return all(_fixed_hash(item, 0) for item in value)


def _fixed_hash(item: object, depth: int) -> bool:
    kind = type(item)
    if kind in _NUMBER_TYPES:
        return True
    if kind is float:
        return item == item  # a NaN hashes by its address since Python 3.10
    if kind is complex:
        return item == item
    if kind in (tuple, frozenset) and depth < _MAX_DEPTH:
        return all(_fixed_hash(part, depth + 1) for part in item)  # type: ignore[attr-defined]  # a tuple or frozenset (kind checked above)
    return False


def table_size(value: set[Any] | frozenset[Any]) -> int:
    """Slots in the set's hash table (8 while it uses the small table inside the object)."""
    empty = _EMPTY_SIZE if type(value) is set else sys.getsizeof(frozenset())
    extra = sys.getsizeof(value) - empty
    return _SMALL_TABLE if extra <= 0 else extra // _ENTRY


def keeps_order(value: set[Any] | frozenset[Any]) -> bool:
    """Whether a plain rebuild (what pickle does) iterates in the same order."""
    return list(type(value)(list(value))) == list(value)


def rebuild(kind: type, items: list[Any], size: int) -> set[Any] | frozenset[Any]:
    """A ``kind`` (set or frozenset) of ``items`` iterating in that order if it can be made so."""
    plain = kind(items)
    if list(plain) == items or len(items) > _MAX_PLACED:
        return plain
    placed: set[Any] | frozenset[Any] | None
    try:
        placed = _placed(items, size)
    except (ValueError, OverflowError):
        return plain
    if placed is not None and kind is frozenset:
        placed = frozenset(placed)  # copied slot by slot: the order holds when the sizes agree
    return placed if placed is not None and list(placed) == items else plain


def _probes(hashed: int, mask: int) -> Iterator[int]:
    """The slots CPython's set lookup visits for a hash, in order (``set_add_entry``)."""
    perturb = hashed & _MASK64
    i = perturb & mask
    for _ in range(4 * (mask + 1) + 64):
        for j in range(_LINEAR_PROBES + 1 if i + _LINEAR_PROBES <= mask else 1):
            yield i + j
        perturb >>= _PERTURB_SHIFT
        i = (i * 5 + 1 + perturb) & mask


def refill(target: set[Any], items: list[Any], size: int) -> bool:
    """Make ``target`` hold ``items`` iterating in that order, in place (a set a step changed, which
    other names may hold too). False when the order could not be kept: ``target`` then holds the
    items in the order a plain update gives."""
    target.clear()
    try:
        placed = len(items) <= _MAX_PLACED and _placed(items, size, target) is not None
    except (ValueError, OverflowError):
        placed = False
    if placed and list(target) == items:
        return True
    target.clear()
    target.update(items)
    return list(target) == items


def _placed(items: list[Any], size: int, into: set[Any] | None = None) -> set[Any] | None:
    mask = size - 1
    if size < _SMALL_TABLE or size & mask or len(items) * 5 >= mask * 3:
        return None
    paths = [list(itertools.islice(_probes(hash(item), mask), _MAX_PROBES)) for item in items]
    where = _exact_slots(paths, mask) or _near_slots(paths, mask)
    if where is None:
        return None
    before = [paths[index][: paths[index].index(slot)] for index, slot in where.items()]
    order = _insertion_order(items, where, before)
    if order is None:
        return None
    taken = set(where.values())
    blockers = sorted({s for path in before for s in path if s not in taken})
    return _build(items, size, where, order, blockers, set() if into is None else into)


def _exact_slots(paths: list[list[int]], mask: int) -> dict[int, int] | None:
    """Slots in the order of the items where every slot an item's probes passed holds another item:
    where a set that never lost an element keeps them (a search, depth first, within a budget)."""
    count = len(paths)
    owner: dict[int, int] = {}
    chosen: list[int] = []
    budget = [_SEARCH_BUDGET]

    def fits(index: int, slot: int, position: int) -> bool:
        prefix = paths[index][:position]
        return slot not in prefix and all(s in owner for s in prefix if s < slot)

    def settled(previous: int) -> bool:  # slots passed that no later item can take any more
        return all(s in owner for index, slot in enumerate(chosen) for s in paths[index][: paths[index].index(slot)] if slot < s <= previous)

    def search(index: int, previous: int) -> bool:
        budget[0] -= 1
        if budget[0] < 0:
            return False
        if index == count:
            return settled(mask)
        room = mask - (count - 1 - index)
        for position, slot in enumerate(paths[index]):
            if previous < slot <= room and slot not in owner and fits(index, slot, position):
                owner[slot] = index
                chosen.append(slot)
                if settled(slot) and search(index + 1, slot):
                    return True
                chosen.pop()
                del owner[slot]
        return False

    if count > _MAX_SEARCHED or not search(0, -1):
        return None
    return dict(enumerate(chosen))


def _near_slots(paths: list[list[int]], mask: int) -> dict[int, int] | None:
    """Slots in the order of the items, each the first of its probes that keeps the order (the slots
    passed then need blocking while it is placed): for a set that lost elements."""
    where: dict[int, int] = {}
    taken: set[int] = set()
    previous = -1
    for index, path in enumerate(paths):
        room = mask - (len(paths) - 1 - index)
        slot = next((s for s in path if previous < s <= room and s not in taken), None)
        if slot is None:
            return None
        where[index] = previous = slot
        taken.add(slot)
    return where


def _insertion_order(items: list[Any], where: dict[int, int], before: list[list[int]]) -> list[int] | None:
    """Items ordered so that the items in the slots each one's probes pass come first (or None: a cycle)."""
    owner = {slot: index for index, slot in where.items()}
    needs = [{owner[s] for s in path if s in owner and owner[s] != index} for index, path in enumerate(before)]
    done: list[int] = []
    placed: set[int] = set()
    pending = list(range(len(items)))
    while pending:
        ready = [index for index in pending if needs[index] <= placed]
        if not ready:
            return None
        for index in ready:
            placed.add(index)
            done.append(index)
        pending = [index for index in pending if index not in placed]
    return done


def _build(items: list[Any], size: int, where: dict[int, int], order: list[int], blockers: list[int], table: set[Any]) -> set[Any] | None:
    """Place the items: in a table of ``size`` slots, the blockers taken first (by numbers that hash to
    those slots), then the items added in ``order``, then the blockers removed. An added item goes to
    the first free slot its probes reach (CPython would take the last removed slot it passed, so
    nothing is removed before the end)."""
    wanted = set(where.values())
    first = max(5, size // 4) if size > _SMALL_TABLE else 0  # as many added in one go size the table
    spare = [slot for slot in range(size) if slot not in wanted and slot not in blockers]
    holders = blockers + spare[: max(0, first - len(blockers) - len(items))]
    if (len(holders) + len(items)) * 5 >= (size - 1) * 3:
        return None
    hashes = {hash(item) for item in items}
    shift = size << 20
    while any(slot + shift in hashes for slot in holders):
        shift <<= 1
    numbers = [slot + shift for slot in holders]
    sequence = numbers + [items[index] for index in order]
    table.update(dict.fromkeys(sequence[:first]))  # an empty set: its small table, nothing removed yet
    for value in sequence[first:]:
        table.add(value)
    if table_size(table) != size:
        return None
    for number in numbers:
        table.discard(number)
    return table
