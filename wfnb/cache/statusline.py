"""The one status line a step prints, e.g. ``step clean · cached · restored clean, returns · 4 ms``.

It is shown as display data tagged ``{"wfnb": "status"}`` in its metadata, so
that tools comparing a notebook's outputs can tell it from the step's own.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

STATUS_METADATA = {"wfnb": "status"}


@dataclass
class StepReport:
    """Collects what happened to one step while it runs, then shows it as one line."""

    step: str
    started: str  # ISO time, for the run log
    clock: float  # perf_counter() at the start
    parts: list[str] = field(default_factory=list)

    def elapsed(self) -> float:
        return time.perf_counter() - self.clock

    def cached(self, restored: list[str]) -> None:
        names = ", ".join(restored) if restored else "nothing to restore"
        self.parts = ["cached", f"restored {names}", format_duration(self.elapsed())]

    def ran(self, reasons: list[str]) -> None:
        why = f" ({'; '.join(reasons)})" if reasons else ""
        self.parts = [f"ran {format_duration(self.elapsed())}{why}"]

    def stored(self, count: int, total: int, written: int) -> None:
        size = format_size(total)
        if written < total:
            size += f", {format_size(written)} new" if written else ", all already in the store"
        self.parts.append(f"stored {count} value{'s' if count != 1 else ''}, {size}")

    def not_cached(self, problems: dict[str, str]) -> None:
        self.parts.append(f"not cached: {', '.join(sorted(problems))} cannot be stored")

    def uncacheable(self, reason: str) -> None:
        self.parts.append(f"not cached: {reason}")

    def note(self, text: str) -> None:
        """Add what the caller knows beyond the step itself (stale steps, the variant reached)."""
        self.parts.append(text)

    def failed(self, detail: str) -> None:
        self.parts = [f"failed after {format_duration(self.elapsed())}", detail]

    def unstorable_warning(self, problems: dict[str, str]) -> str:
        details = " ".join(f"{name}: {reason}" for name, reason in sorted(problems.items()))
        return (
            f"step {self.step} ran, but {', '.join(sorted(problems))} could not be cached, so the step will run "
            f"again next time rather than be half-restored. {details}"
        )

    def line(self) -> str:
        return " · ".join([f"step {self.step}", *self.parts])

    def show(self, shell: InteractiveShell) -> None:
        text = self.line()
        markup = f'<span style="color:#6a737d;font-size:0.9em">{html.escape(text)}</span>'
        shell.display_pub.publish(data={"text/plain": text, "text/html": markup}, metadata=dict(STATUS_METADATA))


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
