"""Pins: variants whose values ``wfnb gc`` must keep, however it bounds the store.

A tag names a variant for people; a pin says "keep what it needs" (its values,
its steps' cache entries). ``wfnb gc --keep-last N --max-size 20GB`` never
removes what a pinned or tagged variant (or a workflow's current one) needs.
A pin is a small ref, ``refs/workflows/<workflow>/pins/<number>``, created
once (pinning twice changes nothing) and deleted by ``unpin``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from wfnb.errors import CorruptObject

if TYPE_CHECKING:
    from wfnb.records import Variant
    from wfnb.store import Store


def pin_ref(workflow: str, number: int) -> str:
    return f"workflows/{workflow}/pins/{number:06d}"


def pin_variant(store: Store, variant: Variant, note: str | None = None) -> bool:
    """Pin ``variant``; False if it was pinned already (its first pin and note are kept)."""
    data = {"variant": variant.number, "note": note or "", "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return store.refs.create(pin_ref(variant.workflow, variant.number), data)


def unpin_variant(store: Store, variant: Variant) -> bool:
    """Unpin ``variant``; False if it was not pinned."""
    return store.refs.delete(pin_ref(variant.workflow, variant.number))


def pinned_numbers(store: Store, workflow: str) -> set[int]:
    """The numbers of the pinned variants of ``workflow`` (a damaged pin still pins: gc must not guess)."""
    numbers = set()
    for ref in store.refs.names(f"workflows/{workflow}/pins"):
        name = ref.rsplit("/", 1)[1]
        if name.isdigit():
            numbers.add(int(name))
        else:
            try:
                data = store.refs.read(ref) or {}
            except CorruptObject:
                continue
            if isinstance(data.get("variant"), int):
                numbers.add(data["variant"])
    return numbers
