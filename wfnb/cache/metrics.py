"""``wfnb.log(sharpe=1.3)``: scalar metrics recorded on the running step, and so on its variant.

A metric logged again in the same run (``wfnb.log(loss=v, step=epoch)`` in a
training loop) also keeps its series, as MLflow, DVC and W&B do, so that curves
can be compared: the step's ``metrics`` hold the last value (what variants
compare), its ``series`` every ``[step, value]`` point in order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from wfnb.errors import BadArgument


class Logged(dict):
    """The metrics a running step logged: name → last value; ``series()`` gives the repeated ones."""

    def __init__(self) -> None:
        super().__init__()
        self._points: dict[str, list[list[Any]]] = {}
        self._stepped: set[str] = set()

    def add(self, name: str, value: Any, step: int | None) -> None:
        points = self._points.setdefault(name, [])
        if step is None:
            step = points[-1][0] + 1 if points else 0
        else:
            self._stepped.add(name)
        points.append([step, value])
        self[name] = value

    def series(self) -> dict[str, list[list[Any]]]:
        """Each metric logged with ``step=`` or more than once: its ``[step, value]`` points, in order."""
        return {name: points for name, points in self._points.items() if len(points) > 1 or name in self._stepped}


_running: ContextVar[tuple[str, Logged] | None] = ContextVar("wfnb_running_step", default=None)


def log(step: int | None = None, **values: Any) -> None:
    """Record scalar metrics (numbers, bools, short strings) on the step that is running.

    Metrics live in the step's record: a cache hit restores them with the rest,
    and every variant shows the metrics of its steps, ready to compare. A
    metric logged several times keeps its last value there, and its series
    (``Variant.series(name)``): give ``step`` (an epoch, an iteration) to say
    where each value belongs; without it the values count 0, 1, 2, …

    Examples
    --------
    >>> wfnb.log(sharpe=1.3, hit_rate=0.54)  # inside a %%step cell
    >>> for epoch in range(10):
    ...     wfnb.log(loss=train_one_epoch(), step=epoch)
    """
    __tracebackhide__ = True  # IPython shows the user's line, not this function
    running = _running.get()
    if running is None:
        raise BadArgument(
            "wfnb.log() records metrics on a step, but no step is running. Call it inside a %%step cell."
        )
    name, logged = running
    if step is not None and (isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0 or not values):
        raise BadArgument(
            f"wfnb.log(step={step!r}) in step {name}: step says where the other values belong in their series (an "
            "epoch, an iteration), a whole number from 0 up, given with them: wfnb.log(loss=0.3, step=2). A metric "
            "called step needs another name."
        )
    for metric, value in values.items():
        logged.add(metric, _scalar(name, metric, value), None if step is None else int(step))


@contextmanager
def collecting(step: str) -> Iterator[Logged]:
    """Collect what ``log`` records while step ``step`` runs."""
    logged = Logged()
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
