"""What the browser remembers per workflow: which columns are hidden, and what the table is grouped by.

Kept in the store, as the ref ``workflows/<workflow>/browser``, beside the
workflow's tags and pins: it follows the workflow when it is renamed, and
whoever opens the store (another notebook, another kernel, ``wfnb ui``)
finds the table as it was left. A read-only store is never written; a
damaged or unreadable note is ignored (the default columns are shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wfnb.errors import WfnbError

if TYPE_CHECKING:
    from wfnb.store import Store

PREFS_FORMAT = 1  # bump when the fields change meaning; an unknown format is ignored


@dataclass(frozen=True)
class TablePrefs:
    """A workflow's table as the user left it."""

    hidden: tuple[str, ...] = ()  # column keys
    group_by: tuple[str, ...] | None = None  # parameter names; None: not grouped

    def to_json(self) -> dict[str, Any]:
        return {"format": PREFS_FORMAT, "hidden": list(self.hidden), "group_by": None if self.group_by is None else list(self.group_by)}

    @classmethod
    def from_json(cls, data: Any) -> TablePrefs | None:
        if not isinstance(data, dict) or data.get("format") != PREFS_FORMAT:
            return None
        hidden = data.get("hidden")
        group_by = data.get("group_by")
        if not isinstance(hidden, list) or not all(isinstance(k, str) for k in hidden):
            return None
        if group_by is not None and (not isinstance(group_by, list) or not all(isinstance(k, str) for k in group_by)):
            group_by = None
        return cls(tuple(hidden), None if group_by is None else tuple(group_by))


def prefs_ref(workflow: str) -> str:
    return f"workflows/{workflow}/browser"


def load_prefs(store: Store, workflow: str) -> TablePrefs | None:
    """The workflow's remembered table, or None when nothing was remembered (or it cannot be read)."""
    try:
        return TablePrefs.from_json(store.refs.read(prefs_ref(workflow)))
    except WfnbError:
        return None


def save_prefs(store: Store, workflow: str, prefs: TablePrefs) -> bool:
    """Remember ``prefs`` for ``workflow``; False when the store cannot be written (read-only, or failing)."""
    if store.read_only:
        return False
    try:
        if store.refs.read(prefs_ref(workflow)) == prefs.to_json():
            return True
        store.refs.replace(prefs_ref(workflow), prefs.to_json())
    except WfnbError:
        return False
    return True
