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


def fit_ridge(alpha: float, rows: int) -> float:
    """The sweep benchmark's model, as one function: the body of its ``fit`` step (benchmarks/sweeps.py)."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 40))
    y = x @ np.arange(40.0) + rng.normal(size=rows)
    coef = np.linalg.solve(x.T @ x + alpha * np.eye(40), x.T @ y)
    return float(((x @ coef - y) ** 2).mean())
