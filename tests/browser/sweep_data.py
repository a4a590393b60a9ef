"""A hyper-parameter sweep with training curves, recorded straight into a store: the plots' test data.

Workflow ``sweep``: one variant per (lr, depth, seed), lr spanning 0.001 … 0.3
(more than two decades, so its axis reads best on a log scale). Its ``train``
step logs ``loss`` per epoch (``wfnb.log(loss=…, step=epoch)``): a curve that
falls faster for a larger ``lr`` and ends at ``final_loss``; ``accuracy`` rises
with ``lr`` and hardly depends on ``depth``, and not at all on ``seed``'s order.

Importable without pytest, so that a notebook in the end-to-end tests can make
the same sweep in its kernel.
"""

from __future__ import annotations

import math

from wfnb.history.snapshots import record_variant
from wfnb.history.state import WorkflowState

LRS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3)
DEPTHS = (2, 4)
SEEDS = (0, 1)
EPOCHS = 6


def loss_curve(lr: float, depth: int, seed: int) -> list[list[float]]:
    """``[epoch, loss]`` points: a larger lr falls faster."""
    rate = 0.15 + 0.4 * (math.log10(lr) + 3)
    return [[epoch, round(2.0 * math.exp(-rate * epoch) + 0.01 * depth + 0.001 * seed, 6)] for epoch in range(EPOCHS)]


def accuracy(lr: float, depth: int, seed: int) -> float:
    return round(0.5 + 0.08 * (math.log10(lr) + 3) + 0.002 * depth + 0.001 * seed, 6)


def record_sweep(store, workflow: str = "sweep", lrs=LRS, depths=DEPTHS, seeds=SEEDS) -> int:
    """Record the sweep's variants in ``store``; returns how many."""
    count = 0
    for lr in lrs:
        for depth in depths:
            for seed in seeds:
                curve = loss_curve(lr, depth, seed)
                train = {
                    "step": "train", "key": f"train-{lr}-{depth}-{seed}", "code": "for epoch in range(6):\n    wfnb.log(loss=fit(epoch), step=epoch)\n",
                    "inputs": {}, "outputs": {}, "params": {"lr": lr, "depth": depth, "seed": seed},
                    "metrics": {"loss": curve[-1][1], "accuracy": accuracy(lr, depth, seed)},
                    "series": {"loss": curve}, "duration_s": 0.1, "started": "2026-01-01T00:00:00+00:00",
                }
                state = WorkflowState(workflow, order=["train"], records={"train": train})
                state.params = {"lr": lr, "depth": depth, "seed": seed}
                record_variant(store, state, parent=None)
                count += 1
    return count
