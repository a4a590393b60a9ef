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


_TIME = "\0time"  # a part filled in with the step's whole time when the line is shown
SPLIT_SECONDS = 0.05  # storing shown apart from the rest once it takes this long…
SPLIT_SHARE = 0.1  # …and this share of the step's whole time: "ran 6.3 s + stored 5.7 s"


@dataclass
class StepReport:
    """Collects what happened to one step while it runs, then shows it as one line."""

    step: str
    started: str  # ISO time, for the run log
    clock: float  # perf_counter() at the start
    parts: list[str] = field(default_factory=list)
    _ran_clock: float = 0.0  # perf_counter() when the step's code ended: what follows is hashing and storing
    _stored_clock: float = 0.0  # perf_counter() when its values were stored
    _ended: float = 0.0  # perf_counter() when the line was first shown: the step's whole time ends there
    _why: str = ""  # why it ran, after the time

    def elapsed(self) -> float:
        return time.perf_counter() - self.clock

    def cached(self, restored: list[str]) -> None:
        names = ", ".join(restored) if restored else "nothing to restore"
        self.parts = ["cached", f"restored {names}", _TIME]

    def ran(self, reasons: list[str]) -> None:
        self._why = f" ({'; '.join(reasons)})" if reasons else ""
        self.parts = [_TIME]
        self._ran_clock = time.perf_counter()

    def stored(self, count: int, total: int, written: int) -> None:
        """After ``ran``: what was stored; the time hashing and storing took is part of the step's time."""
        size = format_size(total)
        if written < total:
            size += f", {format_size(written)} new" if written else ", all already in the store"
        self.parts.append(f"stored {count} value{'s' if count != 1 else ''}, {size}")
        if self._ran_clock:
            self._stored_clock = time.perf_counter()

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
        return " · ".join([f"step {self.step}", *self.details()])

    def details(self) -> list[str]:
        """The line's parts after the step's name, with the time as of the first time they are shown."""
        if not self._ended:
            self._ended = time.perf_counter()
        return [self._time() if part == _TIME else part for part in self.parts]

    def _time(self) -> str:
        """The step's whole time (key, run, hashing and storing, or restoring), split when storing weighs."""
        whole = self._ended - self.clock
        if not self._ran_clock:
            return format_duration(whole)
        storing = self._stored_clock - self._ran_clock if self._stored_clock else 0.0
        if storing >= SPLIT_SECONDS and storing >= SPLIT_SHARE * whole:
            return f"ran {format_duration(whole - storing)} + stored {format_duration(storing)}{self._why}"
        return f"ran {format_duration(whole)}{self._why}"

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
