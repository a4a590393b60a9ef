"""What a cache check found: where a cached run showed something a plain run did not, and needless re-runs.

A *divergence* is a stale or wrong result: the cached notebook showed other text,
displays or errors than the same notebook run without wfnb, or ended with other
values. A *needless re-run* is a step that ran although nothing it depends on
changed. Differences in cells that differ between two plain runs, or that read
a value that does, are *nondeterministic*: reported, but not counted against the cache.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CHECK_REPORT_VERSION = 1  # bump when to_json's shape changes: scripts read it


@dataclass(frozen=True)
class Divergence:
    """One thing a cached run showed or left otherwise than the plain run of the same notebook."""

    run: str  # "first cached run", "after cell literal", ...
    cell: int | None  # the notebook's cell index; None for a value at the end
    step: str | None
    what: str  # "stdout", "display 1 text/plain", "error", "value total"
    cached: str
    plain: str

    def line(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "end"
        step = f" (step {self.step})" if self.step else ""
        return f"{self.run}: {where}{step} {self.what}: cached {self.cached!r} ≠ plain {self.plain!r}"


@dataclass(frozen=True)
class NeedlessRerun:
    """A step that ran although nothing it depends on changed, with wfnb's own reason."""

    run: str
    step: str
    reason: str  # the status line
    why: str = ""  # the first lines of `wfnb why`

    def line(self) -> str:
        return f"{self.run}: step {self.step} re-ran: {self.reason}" + (f"\n      why: {self.why}" if self.why else "")


@dataclass(frozen=True)
class EditResult:
    """One automatic edit: applied or not (and why), and the steps that ran after it."""

    kind: str
    applied: bool
    detail: str
    reran: tuple[str, ...] = ()


@dataclass
class CheckReport:
    """The answer to "can I trust wfnb's cache on this notebook?"; ``exit_code`` 0 when it can."""

    notebook: str
    steps: list[str] = field(default_factory=list)
    made_steps: bool = False  # the notebook had no %%step cells: the check made each code cell a step
    plain_failure: str | None = None  # the notebook fails without wfnb too (a timeout, a dead kernel): nothing was checked
    failing_cells: str | None = None  # cells that raise without wfnb too: the runs went on past them
    edits: list[EditResult] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)
    needless_reruns: list[NeedlessRerun] = field(default_factory=list)
    nondeterministic: list[Divergence] = field(default_factory=list)  # differences in cells two plain runs disagree on
    hits: int = 0  # steps restored in the run with nothing changed
    failing_steps: int = 0  # steps whose cells raise without wfnb too: never restored (a failed step is not stored)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.plain_failure is None and not self.divergences and not self.needless_reruns

    @property
    def exit_code(self) -> int:
        """0: the cache gave what a plain run gives, and hit where it should; 1: otherwise, or nothing checked."""
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CHECK_REPORT_VERSION, "notebook": self.notebook, "ok": self.ok, "steps": list(self.steps),
            "made_steps": self.made_steps, "plain_failure": self.plain_failure, "failing_cells": self.failing_cells,
            "hits": self.hits, "failing_steps": self.failing_steps,
            "edits": [asdict(edit) for edit in self.edits],
            "divergences": [asdict(d) for d in self.divergences],
            "needless_reruns": [asdict(r) for r in self.needless_reruns],
            "nondeterministic": [asdict(d) for d in self.nondeterministic],
            "seconds": round(self.seconds, 1),
        }

    def __str__(self) -> str:
        made = " (no %%step cells: the check made each code cell a step)" if self.made_steps else ""
        lines = [f"cache check of {self.notebook}: {len(self.steps)} step{'s' if len(self.steps) != 1 else ''}{made}, {self.seconds:.0f} s"]
        if self.plain_failure:
            lines.append(f"  not checked: {self.plain_failure}")
            return "\n".join(lines)
        verdict = "the cache gave what plain runs give" if self.ok else (
            f"{len(self.divergences)} divergence{'s' if len(self.divergences) != 1 else ''}, "
            f"{len(self.needless_reruns)} needless re-run{'s' if len(self.needless_reruns) != 1 else ''}")
        failing = f" (and {self.failing_steps} that fail{'s' if self.failing_steps == 1 else ''} without wfnb too)" if self.failing_steps else ""
        lines.append(f"  {verdict}; {self.hits} of {len(self.steps)} steps restored in the run with nothing changed{failing}")
        if self.failing_cells:
            lines.append(f"  {self.failing_cells}")
        lines.append("  edits:")
        width = max((len(edit.kind) for edit in self.edits), default=0)
        for edit in self.edits:
            state = "applied" if edit.applied else "n/a    "
            reran = f"  → re-ran {', '.join(edit.reran)}" if edit.applied and edit.reran else ("  → re-ran nothing" if edit.applied else "")
            lines.append(f"    {edit.kind:<{width}}  {state}  {edit.detail}{reran}")
        for title, items in (("divergences", self.divergences), ("needless re-runs", self.needless_reruns)):
            if items:
                lines.append(f"  {title}:")
                lines.extend(f"    {item.line()}" for item in items)
        if self.nondeterministic:
            cells = sorted({d.cell for d in self.nondeterministic if d.cell is not None})
            names = sorted({d.what.removeprefix("value ") for d in self.nondeterministic if d.cell is None})
            lines.append("  nondeterministic (two plain runs differ there too, or on what it is computed from; not counted): "
                         + "; ".join(part for part in (f"cells {', '.join(map(str, cells))}" if cells else "",
                                                      f"values {', '.join(names)}" if names else "") if part))
            lines.append(f"    e.g. {self.nondeterministic[0].line()}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))
