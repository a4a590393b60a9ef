"""The live state of a workflow: the record each step uses, which steps are stale, and its identity.

Steps form a graph through data: a step depends on the nearest earlier step
that produced a name it reads. A step is stale when a value it read is no
longer what its upstream step (or the parameters) now give. Only a state with
every step run and none stale is consistent, and only a consistent state can
become a variant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import xxhash

from wfnb.cache.hashing import hash_value
from wfnb.cache.stepvalues import output_digests

StepStatus = Literal["fresh", "stale", "never-run"]


@dataclass
class WorkflowState:
    """Which record each step of one workflow uses now, in notebook order."""

    name: str
    order: list[str] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    current: int | None = None  # the variant this state is, when it is one
    # name → the step whose failed run changed it (in place, or bound it again): the step that made it must run again
    changed_in_place: dict[str, str] = field(default_factory=dict)
    _last_run: str | None = None

    def place(self, step: str) -> None:
        """Put a step seen for the first time right after the step run before it: notebook order."""
        if step not in self.order:
            at = self.order.index(self._last_run) + 1 if self._last_run in self.order else len(self.order)
            self.order.insert(at, step)
        self._last_run = step

    def use(self, step: str, record: dict[str, Any] | None) -> None:
        """Record what step ``step`` now holds (None: it failed or could not be recorded)."""
        self.place(step)
        if record is None:
            self.records.pop(step, None)
        else:
            self.records[step] = record
        self.current = None

    def rename(self, old: str, new: str) -> None:
        """A step whose ``%%step`` line now gives it another name keeps its place and its record."""
        if old in self.order:
            self.order[self.order.index(old)] = new
        if old in self.records:
            self.records[new] = self.records.pop(old)
        if self._last_run == old:
            self._last_run = new
        self.current = None

    def made_again(self, step: str) -> None:
        """``step`` ran or was restored: the names it produced are its own again, whatever a failed run did to them."""
        made = output_digests(self.records.get(step) or {})
        self.changed_in_place = {name: by for name, by in self.changed_in_place.items() if name not in made}

    def forget(self, step: str) -> None:
        """Drop a step that is no longer part of the notebook."""
        if step in self.order:
            self.order.remove(step)
        self.records.pop(step, None)
        self.current = None

    def statuses(self) -> dict[str, tuple[StepStatus, str]]:
        """Each step's status in order, with the reason when it is not fresh."""
        param_digests = {name: hash_value(value) for name, value in self.params.items()}
        produced: dict[str, tuple[str, str]] = {}  # name → (step, value hash)
        result: dict[str, tuple[StepStatus, str]] = {}
        for step in self.order:
            record = self.records.get(step)
            if record is None:
                result[step] = ("never-run", "not run in this kernel")
                continue
            spoiled = sorted(name for name in output_digests(record) if name in self.changed_in_place)
            reason = (
                f"{spoiled[0]} was changed by the failed run of step {self.changed_in_place[spoiled[0]]}"
                if spoiled else _stale_reason(record, produced, param_digests, result)
            )
            result[step] = ("stale", reason) if reason else ("fresh", "")
            for name, digest in output_digests(record).items():
                produced[name] = (step, digest)
        return result

    def stale_after(self, step: str) -> list[str]:
        """Steps after ``step`` that are not fresh now (what running ``step`` left behind)."""
        statuses = self.statuses()
        later = self.order[self.order.index(step) + 1 :] if step in self.order else []
        return [s for s in later if statuses[s][0] != "fresh"]

    def is_consistent(self) -> bool:
        return bool(self.order) and all(status == "fresh" for status, _ in self.statuses().values())

    def identity(self) -> str:
        """A hash of what makes this state itself: its steps' keys and what they produced, in order, and its
        parameters.

        The outputs count because a key does not fix them: a step whose data file changed keeps its key
        (the file is in its trace, not its key) and gives other values, and that is another variant.
        """
        steps = [[step, self.records[step]["key"], _outputs_digest(self.records[step])] for step in self.order if step in self.records]
        return self._hash(steps)

    def legacy_identity(self) -> str:
        """The identity as wfnb made it before outputs counted (keys only): to find variants recorded then."""
        return self._hash([[step, self.records[step]["key"]] for step in self.order if step in self.records])

    def _hash(self, steps: list[list[str]]) -> str:
        content = {
            "workflow": self.name,
            "steps": steps,
            "params": {name: hash_value(value) for name, value in sorted(self.params.items())},
        }
        return xxhash.xxh3_128_hexdigest(json.dumps(content, sort_keys=True).encode())

    def metrics(self) -> dict[str, Any]:
        """Every step's logged metrics; a later step's value wins on a shared name."""
        merged: dict[str, Any] = {}
        for step in self.order:
            merged.update(self.records.get(step, {}).get("metrics", {}))
        return merged


def _outputs_digest(record: Mapping[str, Any]) -> str:
    return xxhash.xxh3_128_hexdigest(json.dumps(sorted(output_digests(record).items())).encode())


def data_flow(order: Sequence[str], records: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """The workflow's edges as ``(upstream, step, name)``: ``step`` reads ``name`` from ``upstream``.

    The same rule ``WorkflowState.statuses`` follows: a step depends on the
    nearest earlier step that produced a name it reads. ``records`` maps step
    names to step records (a step without one produces nothing).
    """
    produced: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for step in order:
        record = records.get(step)
        if record is None:
            continue
        edges.extend((produced[name], step, name) for name in sorted(record.get("inputs", {})) if name in produced)
        for name in output_digests(record):
            produced[name] = step
    return edges


def _stale_reason(
    record: dict[str, Any],
    produced: dict[str, tuple[str, str]],
    param_digests: dict[str, str],
    earlier: dict[str, tuple[StepStatus, str]],
) -> str:
    for name, digest in sorted(record.get("inputs", {}).items()):
        if name in produced:
            upstream, now = produced[name]
            if earlier[upstream][0] != "fresh":
                return f"upstream step {upstream} is {earlier[upstream][0]}"
            if now != digest:
                return f"{name} changed in step {upstream}"
        elif name in param_digests and param_digests[name] != digest:
            return f"parameter {name} changed"
    return ""
