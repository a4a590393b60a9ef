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
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

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

    Ranks (ties averaged) and correlations are pandas' own, so ρ is Pearson's r of the ranks."""
    import pandas as pd

    found = []
    for name, values in params.items():
        pairs = [(value, float(metric)) for value, metric in zip(values, outcome)
                 if value is not None and is_number(metric) and math.isfinite(metric)]
        if len(pairs) < 3 or len({repr(value) for value, _ in pairs}) < 2:
            continue
        ranks = pd.Series([metric for _, metric in pairs]).rank()
        xs = [value for value, _ in pairs]
        if all(isinstance(x, bool) or is_number(x) for x in xs):
            score, method = pd.Series([float(x) for x in xs]).rank().corr(ranks), "ρ"
        else:
            score, method = _eta(pd.Series([repr(x) for x in xs]), ranks), "η"
        if score is not None and math.isfinite(score):
            found.append(Ranked(name, float(score), method, len(pairs)))
    return sorted(found, key=lambda r: (-r.strength, r.name))


def _eta(groups: Any, ranks: Any) -> float | None:
    """The correlation ratio: the share of the ranks' spread that lies between the groups' means, square-rooted."""
    total = float(((ranks - ranks.mean()) ** 2).sum())
    if total <= 0:
        return None
    means = ranks.groupby(groups).transform("mean")
    return math.sqrt(float(((means - ranks.mean()) ** 2).sum()) / total)
