"""The log of step executions, as a table: what ran, what was restored, how long it took."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.errors import api_boundary
from wfnb.session import resolve_store

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store

RUN_COLUMNS = ["workflow", "step", "key", "cached", "started", "duration_s", "outputs", "error"]


@api_boundary
def runs(store: Store | str | None = None) -> pd.DataFrame:
    """Every step execution in the store, newest last.

    Cache hits are executions too (``cached`` is True), so the table shows how
    much work the cache saved as well as what was computed.

    Parameters
    ----------
    store
        A store, a store location, or None for the notebook's current store
        (``%wfnb store``, else ``$WFNB_STORE``, else ``./.wfnb``).
    """
    import pandas as pd

    entries = resolve_store(store, create=False).runs()
    frame = pd.DataFrame([{column: entry.get(column) for column in RUN_COLUMNS} for entry in entries], columns=RUN_COLUMNS)
    frame["cached"] = frame["cached"].astype(bool)
    frame["started"] = pd.to_datetime(frame["started"], utc=True, format="ISO8601")
    frame["duration_s"] = frame["duration_s"].astype(float)
    return frame

