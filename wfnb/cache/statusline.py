"""The one status line a step prints, e.g. ``step clean · cached · restored clean, returns · 4 ms``.

It is shown as display data tagged ``{"wfnb": "status"}`` in its metadata, so
that tools comparing a notebook's outputs can tell it from the step's own.
"""

from __future__ import annotations

import html
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

STATUS_METADATA = {"wfnb": "status"}
_SENTENCE_END = re.compile(r"(?<!e\.g\.)(?<!i\.e\.)(?<=\.)\s+")  # "e.g. list(...)" does not end a sentence


@dataclass
class StepReport:
    """Collects what happened to one step while it runs, then shows it as one line."""

    step: str
    started: str  # ISO time, for the run log
    clock: float  # perf_counter() at the start
    parts: list[str] = field(default_factory=list)
    _ran_clock: float = 0.0  # perf_counter() when the step's code ended: what follows is hashing and storing

    def elapsed(self) -> float:
        return time.perf_counter() - self.clock

    def cached(self, restored: list[str]) -> None:
        names = ", ".join(restored) if restored else "nothing to restore"
        self.parts = ["cached", f"restored {names}", format_duration(self.elapsed())]

    def ran(self, reasons: list[str]) -> None:
        why = f" ({'; '.join(reasons)})" if reasons else ""
        self.parts = [f"ran {format_duration(self.elapsed())}{why}"]
        self._ran_clock = time.perf_counter()

    def stored(self, count: int, total: int, written: int) -> None:
        """After ``ran``: what was stored, and how long hashing and storing it took (part of the cell's time)."""
        size = format_size(total)
        if self._ran_clock:
            size += f" in {format_duration(time.perf_counter() - self._ran_clock)}"
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
        """One paragraph for all the values that cannot be stored: why, per kind of value, and each piece of
        advice once (values of one type share their reason; reasons share their advice)."""
        groups: dict[str, list[str]] = {}
        for name, reason in sorted(problems.items()):
            groups.setdefault(reason, []).append(name)
        sentences = {reason: _SENTENCE_END.split(reason.strip()) for reason in groups}
        counts = Counter(sentence for parts in sentences.values() for sentence in set(parts))
        shared = [sentence for sentence, count in counts.items() if count > 1] if len(groups) > 1 else []
        said = "; ".join(
            f"{', '.join(names)}: {' '.join(p for p in sentences[reason] if p not in shared).rstrip('.')}"
            for reason, names in groups.items()
        )
        advice = [sentence for sentence in dict.fromkeys(p for parts in sentences.values() for p in parts) if sentence in shared]
        return (
            f"step {self.step} ran, but {', '.join(sorted(problems))} could not be cached, so the step will run "
            f"again next time rather than be half-restored. {said}." + "".join(f" {a}" for a in advice)
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
