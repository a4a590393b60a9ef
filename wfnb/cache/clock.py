"""The clock and the time zone in a cell's code.

Reading the calendar (``datetime.now()``, ``date.today()``, ``pd.Timestamp.now()``,
``time.strftime(fmt)``) makes a step run every time: a step that names a run folder by the date
must not be restored with the old name, or the next step writes over the earlier run. Timers
(``time.perf_counter()``, ``time.time()``) measure, they do not name: those steps stay cacheable.
Local times (``time.localtime``, ``datetime.fromtimestamp``) depend on the time zone (``TZ`` and
``time.tzset()``), which is then an ingredient of the step's key.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

METHODS = frozenset({"now", "today", "utcnow"})  # datetime.now(), date.today(), pd.Timestamp.now()
_FUNCTIONS = {"strftime": 1, "localtime": 0, "gmtime": 0, "ctime": 0, "asctime": 0}  # time's, with this many args
_STRINGS = frozenset({"now", "today"})  # np.datetime64("now"), pd.Timestamp("today")
LOCAL_TIME = frozenset({"localtime", "mktime", "fromtimestamp", "astimezone", "ctime", "tzname", "timezone", "altzone", "daylight", "tzset"})


def calls(tree: ast.AST) -> Iterator[str]:
    """The calls anywhere in the code (functions it defines too) that read the calendar."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0] if node.args else None
        of_time = isinstance(func, ast.Name) or (isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "time")
        if (
            (isinstance(func, ast.Attribute) and name in METHODS)
            or (of_time and _FUNCTIONS.get(name) == len(node.args) and not node.keywords)
            or (isinstance(first, ast.Constant) and first.value in _STRINGS and name in ("datetime64", "Timestamp", "to_datetime"))
        ):
            yield f"{ast.unparse(func)}()"


def uses_local_time(tree: ast.AST) -> bool:
    """Whether the code names something whose result depends on the local time zone."""
    return any(
        (isinstance(n, ast.Attribute) and n.attr in LOCAL_TIME) or (isinstance(n, ast.Name) and n.id in LOCAL_TIME) for n in ast.walk(tree)
    )
