"""Which variants' values ``wfnb gc`` let go, so that a listing and a read say so instead of "damaged".

When gc drops a variant's values (``--keep-last``, ``--max-size``) it leaves a
small ref, ``refs/workflows/<workflow>/letgo/<number>``, saying when. A value
then missing is explained by it: reading an output says the values were let
go and how to compute them again, never that the store is damaged. The ref is
only a note: a listing checks that some value is really missing before it says
so (a replay or a notebook run may have written them again).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from wfnb.errors import CorruptObject

if TYPE_CHECKING:
    from wfnb.store import Store


def let_go_ref(workflow: str, number: int) -> str:
    return f"workflows/{workflow}/letgo/{number:06d}"


def mark_let_go(store: Store, refs: Iterable[str]) -> None:
    """Note that gc let go of the values of ``refs`` (``"nb/v3"``), now."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for ref in refs:
        workflow, _, name = ref.rpartition("/")
        if workflow and name[1:].isdigit():
            store.refs.replace(let_go_ref(workflow, int(name[1:])), {"variant": int(name[1:]), "at": now})


def let_go_at(store: Store, workflow: str, number: int) -> str | None:
    """When gc let go of that variant's values (ISO time), or None if it never did (or the note is damaged)."""
    try:
        data = store.refs.read(let_go_ref(workflow, number))
    except CorruptObject:
        return None
    if not isinstance(data, dict):
        return None
    return str(data.get("at", "")) or "some time ago"


def marked(store: Store, workflow: str) -> list[int]:
    """The variant numbers of ``workflow`` with a let-go note (read without loading anything else)."""
    names = [ref.rsplit("/", 1)[1] for ref in store.refs.names(f"workflows/{workflow}/letgo")]
    return [int(name) for name in names if name.isdigit()]
