"""After ``%wfnb checkout``: how the notebook's cells differ from the variant whose values were restored.

A checkout brings back a variant's values, not the notebook's text: the cells
still show the code and parameters that ran last. Running them then leaves
the variant again, which is easy to miss, so the session keeps what differs
and says it where the user looks (the checkout's own message, ``%wfnb
status``, the next status line, the browser through ``Session.out_of_step``),
together with the way to get the variant's cells: ``%wfnb show`` prints them,
``%wfnb export`` writes them as a notebook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant


@dataclass(frozen=True)
class Restored:
    """A variant restored by a checkout, and which of the notebook's cells show something else."""

    workflow: str
    number: int
    steps: tuple[str, ...]  # step cells whose code (as last run) is not the variant's
    params: Mapping[str, tuple[Any, Any]]  # parameter → (value in the %%params cell, the variant's)
    extra: tuple[str, ...]  # steps the notebook ran that the variant does not have

    @classmethod
    def between(cls, variant: RecordedVariant, records: Mapping[str, Mapping[str, Any]], params: Mapping[str, Any]) -> Restored:
        """Compare ``variant`` with what the notebook last ran: step records and parameters by name."""
        steps = tuple(
            record.step
            for record in variant.steps
            if record.step in records and records[record.step].get("code_hash") != record.record.get("code_hash")
        )
        changed = {
            name: (params[name], value) for name, value in variant.params.items() if name in params and params[name] != value
        }
        extra = tuple(step for step in records if step not in variant.steps.names())
        return cls(variant.workflow, variant.number, steps, changed, extra)

    @property
    def name(self) -> str:
        return f"v{self.number}"

    @property
    def differs(self) -> bool:
        return bool(self.steps or self.params or self.extra)

    def explain(self) -> str:
        """What differs, what running the cells would do, and how to bring the variant's cells back."""
        parts = []
        if self.steps:
            parts.append(f"the code of step{'s' if len(self.steps) > 1 else ''} {', '.join(self.steps)}")
        if self.params:
            shown = ", ".join(f"{k}={now!r} ({self.name}: {then!r})" for k, (now, then) in self.params.items())
            parts.append(f"the %%params cell ({shown})")
        if self.extra:
            parts.append(f"step{'s' if len(self.extra) > 1 else ''} {', '.join(self.extra)}, which {self.name} does not have")
        return (
            f"The notebook's cells still show what ran last, not {self.name}: {'; '.join(parts)}. Running those cells "
            f"leaves {self.name} again. To bring back {self.name}'s cells: `%wfnb show {self.name}` prints them to "
            f"copy, `%wfnb export {self.name} {self.workflow}-{self.name}.ipynb` writes them as a notebook."
        )

    def left_by(self, step: str) -> str:
        """The status-line note when running a cell (``step``, or the %%params cell) left the variant."""
        cell = f"step {step}" if step else "the %%params cell"
        return f"left {self.name} (restored by %wfnb checkout): {cell} is not {self.name}'s; `%wfnb show {self.name}` prints its cells"
