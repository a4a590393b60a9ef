"""``wfnb.log(sharpe=1.3)``: scalar metrics recorded on the running step, and so on its variant."""

from __future__ import annotations

import math
import numbers
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from wfnb.errors import BadArgument

_running: ContextVar[tuple[str, dict[str, Any]] | None] = ContextVar("wfnb_running_step", default=None)


def log(**values: Any) -> None:
    """Record scalar metrics (numbers, bools, short strings) on the step that is running.

    Metrics live in the step's record: a cache hit restores them with the rest,
    and every variant shows the metrics of its steps, ready to compare.

    Examples
    --------
    >>> wfnb.log(sharpe=1.3, hit_rate=0.54)  # inside a %%step cell
    """
    __tracebackhide__ = True  # IPython shows the user's line, not this function
    running = _running.get()
    if running is None:
        raise BadArgument(
            "wfnb.log() records metrics on a step, but no step is running. Call it inside a %%step cell."
        )
    step, logged = running
    for name, value in values.items():
        logged[name] = _scalar(step, name, value)


@contextmanager
def collecting(step: str) -> Iterator[dict[str, Any]]:
    """Collect what ``log`` records while step ``step`` runs."""
    logged: dict[str, Any] = {}
    token = _running.set((step, logged))
    try:
        yield logged
    finally:
        _running.reset(token)


def _scalar(step: str, name: str, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, str) and len(value) <= 200:
        return value
    raise BadArgument(
        f"wfnb.log({name}=…) in step {step}: a metric must be a number, a bool or a short string, "
        f"not a {type(value).__name__!r}. Log a summary of it, e.g. {name}=float(...)."
    )
