"""The functions that joblib.Memory caches: the same work as the ``%%step`` cells they face.

They live in a module (not in the benchmark's closures) because joblib.Memory keys a
function by its module, name and code, as it would in a user's project.
"""

from __future__ import annotations

from typing import Any


def add_one(x: Any) -> Any:
    return x + 1


def frame_total(frame: Any) -> Any:
    return frame.sum()


def array_mean(arr: Any) -> Any:
    return arr.mean()
