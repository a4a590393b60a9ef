"""Variants grouped by some of their parameters: "which setting is best on average over the seeds?"

Plain functions over table rows. A group is the variants sharing the values of
the grouping parameters; each metric gets its count, mean ± standard deviation
(sample, n - 1), min and max over the group's members. By default the table is
grouped by every parameter but the seed-like ones: a parameter named like a
seed or a repeat (``seed``, ``random_state``, ``rep``, ``fold``, …) that takes
several values among variants whose other parameters are all equal. A name
alone is not enough (a ``seed`` that is the same everywhere is a setting), and
variation alone is not enough (in a full grid every parameter varies within
otherwise equal settings).

A group's members come back with one click: ``members_query`` writes the
table's filter that lists exactly them.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wfnb.frontends.browser.table import Row, is_number

SEED_NAMES = re.compile(r"(?:^|_)(seed|seeds|random_state|rng|rep|repeat|replicate|trial|run|fold|split|iteration)(?:$|_)", re.IGNORECASE)


@dataclass(frozen=True)
class Stats:
    """One metric over a group's members (those that have it)."""

    count: int
    mean: float
    std: float  # sample standard deviation; 0.0 for a single value
    low: float
    high: float


@dataclass(frozen=True)
class Group:
    """Variants with equal values of the grouping parameters."""

    key: str  # the grouping values as JSON: stable, unique among the groups
    params: Mapping[str, Any]  # grouping parameter → its value in the group
    members: tuple[str, ...]  # refs, newest first
    stats: Mapping[str, Stats]  # metric → its statistics (numeric metrics only)

    @property
    def size(self) -> int:
        return len(self.members)


def seed_like(rows: Sequence[Row]) -> list[str]:
    """Parameters named like a seed or a repeat that vary among variants whose other parameters are equal."""
    names = list(dict.fromkeys(name for row in rows for name in row.params))
    found = []
    for name in names:
        if not SEED_NAMES.search(name):
            continue
        others = [n for n in names if n != name]
        seen: dict[str, set[str]] = {}
        for row in rows:
            seen.setdefault(_key(row.params, others), set()).add(_json(row.params.get(name)))
        if any(len(values) > 1 for values in seen.values()):
            found.append(name)
    return found


def default_group_by(rows: Sequence[Row]) -> list[str]:
    """Every parameter but the seed-like ones, in the table's order."""
    seeds = set(seed_like(rows))
    return [name for name in dict.fromkeys(n for row in rows for n in row.params) if name not in seeds]


def group_rows(rows: Sequence[Row], by: Sequence[str], metrics: Sequence[str]) -> list[Group]:
    """``rows`` grouped by the values of parameters ``by``, in the order their first member comes in ``rows``."""
    members: dict[str, list[Row]] = {}
    for row in rows:
        members.setdefault(_key(row.params, by), []).append(row)
    groups = []
    for key, grouped in members.items():
        stats = {}
        for metric in metrics:
            values = [float(row.metrics[metric]) for row in grouped if is_number(row.metrics.get(metric)) and math.isfinite(row.metrics[metric])]
            if values:
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                stats[metric] = Stats(len(values), statistics.fmean(values), std, min(values), max(values))
        params = {name: grouped[0].params.get(name) for name in by}
        groups.append(Group(key, params, tuple(row.ref for row in grouped), stats))
    return groups


def sort_groups(groups: Sequence[Group], key: str, descending: bool) -> list[Group]:
    """Groups by a metric's mean (``metric:NAME``), a parameter (``param:NAME``) or their size; missing last."""
    def value(group: Group) -> Any:
        kind, _, name = key.partition(":")
        if kind == "metric":
            return group.stats[name].mean if name in group.stats else None
        if kind == "param":
            return group.params.get(name)
        return group.size if key == "count" else None

    present = [g for g in groups if value(g) is not None]
    missing = [g for g in groups if value(g) is None]
    present.sort(key=lambda g: (0, value(g)) if is_number(value(g)) else (1, str(value(g)).lower()), reverse=descending)
    return present + missing


def members_query(group: Group, metric_names: Sequence[str], every_workflow: bool, varying: Sequence[str] | None = None) -> str:
    """The filter that lists exactly the group's members among the rows grouped: the values of its
    parameters that vary among them (``varying``; None: all) when they can be written (numbers,
    text, true/false), else the members one by one (``v3 or v7``)."""
    terms = []
    for name, value in group.params.items():
        if varying is not None and name not in varying:
            continue
        written = _written(value)
        if written is None or not re.fullmatch(r"[^\s()<>=!~,\"']+", name):
            names = group.members if every_workflow else [ref.split("/")[-1] for ref in group.members]
            return "(" + " or ".join(names) + ")"
        terms.append(f"{'params.' if name in metric_names else ''}{name} == {written}")
    return " and ".join(terms)


def _written(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_number(value) and math.isfinite(value):
        return json.dumps(value)
    if isinstance(value, str) and '"' not in value:
        return json.dumps(value)
    return None


def _key(params: Mapping[str, Any], names: Sequence[str]) -> str:
    return json.dumps([params.get(name) for name in names], sort_keys=True, default=str)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def format_stats(stats: Stats, decimals: int | None) -> str:
    """'0.912 ± 0.013' (the mean alone for one member)."""
    from wfnb.frontends.browser.table import format_value

    mean = format_value(stats.mean, decimals)
    return mean if stats.count == 1 else f"{mean} ± {format_value(stats.std, decimals)}"
