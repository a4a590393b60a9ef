"""Which parameters matter for a metric: each one ranked by how strongly the metric follows it.

Numbers (and booleans) by Spearman's rank correlation ρ: monotonic, not only
linear, relations count, and one outlying run cannot dominate as it would
Pearson's r. Categories (a kernel, an optimizer) have no order, so by the
correlation ratio η of the metric's ranks across their groups (0: every group
alike, 1: the group decides the rank). Both are read per parameter, so an
interaction between two parameters is not seen: the panel says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wfnb.frontends.browser.table import is_number

METHOD = (
    "Spearman's rank correlation ρ between each numeric parameter and the metric (η, the correlation ratio of "
    "the metric's ranks, for a parameter that is not a number), over the plotted variants; one parameter at a "
    "time, so interactions are not seen."
)


@dataclass(frozen=True)
class Ranked:
    """One parameter's score (−1 … 1 for ρ, 0 … 1 for η) over ``count`` variants that have both values."""

    name: str
    score: float
    method: str  # "ρ" or "η"
    count: int

    @property
    def strength(self) -> float:
        return abs(self.score)


def rank(params: Mapping[str, Sequence[Any]], outcome: Sequence[Any]) -> list[Ranked]:
    """The parameters that vary, strongest first; each value list is aligned with ``outcome``.

    Plain Python, not pandas or scipy: importing pandas takes a second or more
    in a fresh kernel, which the first opening of the Plots tab would pay."""
    found = []
    for name, values in params.items():
        pairs = [(value, float(metric)) for value, metric in zip(values, outcome)
                 if value is not None and is_number(metric) and math.isfinite(metric)]
        if len(pairs) < 3 or len({repr(value) for value, _ in pairs}) < 2:
            continue
        ranks = _ranks([metric for _, metric in pairs])
        xs = [value for value, _ in pairs]
        if all(isinstance(x, bool) or is_number(x) for x in xs):
            score, method = _pearson(_ranks([float(x) for x in xs]), ranks), "ρ"
        else:
            score, method = _eta([repr(x) for x in xs], ranks), "η"
        if score is not None:
            found.append(Ranked(name, score, method, len(pairs)))
    return sorted(found, key=lambda r: (-r.strength, r.name))


def _ranks(values: list[float]) -> list[float]:
    """Ranks from 1, tied values sharing their mean rank (so that ρ is Pearson's r of the ranks)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _pearson(xs: list[float], ys: list[float]) -> float | None:
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    cross = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    spread_x, spread_y = sum((x - mean_x) ** 2 for x in xs), sum((y - mean_y) ** 2 for y in ys)
    return cross / math.sqrt(spread_x * spread_y) if spread_x > 0 and spread_y > 0 else None


def _eta(groups: list[str], ranks: list[float]) -> float | None:
    """The correlation ratio: the share of the ranks' spread that lies between the groups' means, square-rooted."""
    mean = sum(ranks) / len(ranks)
    total = sum((r - mean) ** 2 for r in ranks)
    if total <= 0:
        return None
    members: dict[str, list[float]] = {}
    for group, r in zip(groups, ranks):
        members.setdefault(group, []).append(r)
    between = sum(len(v) * (sum(v) / len(v) - mean) ** 2 for v in members.values())
    return math.sqrt(between / total)
