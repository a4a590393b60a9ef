"""Compare two runs of one notebook cell by cell: printed text, displays, errors, and the values at the end.

The runs executed the same cells in the same order, so they are compared by
position. Each difference is kept short: the first line that differs, cut to a
width a report can show.
"""

from __future__ import annotations

from dataclasses import dataclass

from wfnb.frontends.check.kernel import Run, Shown

_WIDTH = 100


@dataclass(frozen=True)
class Difference:
    """One thing two runs showed otherwise; ``cell`` None for a value at the end."""

    cell: int | None
    what: str
    first: str
    second: str


def differences(first: Run, second: Run) -> list[Difference]:
    """What ``first`` showed or left otherwise than ``second``."""
    found: list[Difference] = []
    for one, other in zip(first.shown, second.shown):
        found += _cell_differences(one, other)
    if len(first.shown) != len(second.shown):
        shorter, longer = (first, second) if len(first.shown) < len(second.shown) else (second, first)
        cell = longer.shown[len(shorter.shown)].cell
        stopped = f"stopped before: {shorter.failure}" if shorter.failure else "not run"
        texts = ("ran", stopped) if longer is first else (stopped, "ran")
        found.append(Difference(cell, "cell", *texts))
    if first.values_read and second.values_read:
        for name in sorted(set(first.values) | set(second.values)):
            one, other = first.values.get(name, "(no such name)"), second.values.get(name, "(no such name)")
            if one != other:
                found.append(Difference(None, f"value {name}", _short(one), _short(other)))
    return found


def _cell_differences(one: Shown, other: Shown) -> list[Difference]:
    found = []
    for what in ("stdout", "stderr"):
        a, b = getattr(one, what), getattr(other, what)
        if a != b:
            found.append(Difference(one.cell, what, *_first_difference(a, b)))
    if one.error != other.error:
        found.append(Difference(one.cell, "error", one.error or "(none)", other.error or "(none)"))
    if len(one.displays) != len(other.displays):
        found.append(Difference(one.cell, "displays", f"{len(one.displays)} shown", f"{len(other.displays)} shown"))
    for number, (a, b) in enumerate(zip(one.displays, other.displays), start=1):
        if a != b:
            mimes_a, mimes_b = dict(a), dict(b)
            for mime in sorted(set(mimes_a) | set(mimes_b)):
                if mimes_a.get(mime) != mimes_b.get(mime):
                    found.append(Difference(one.cell, f"display {number} {mime}",
                                            *_first_difference(mimes_a.get(mime, "(none)"), mimes_b.get(mime, "(none)"))))
                    break
    return found


def _first_difference(a: str, b: str) -> tuple[str, str]:
    """The first line where two texts differ (or their ends, when one is a prefix of the other)."""
    lines_a, lines_b = a.splitlines(), b.splitlines()
    for line_a, line_b in zip(lines_a, lines_b):
        if line_a != line_b:
            return _short(line_a), _short(line_b)
    if len(lines_a) != len(lines_b):
        n = min(len(lines_a), len(lines_b))
        rest_a, rest_b = "\n".join(lines_a[n:]), "\n".join(lines_b[n:])
        return _short(rest_a or f"({len(lines_a)} lines)"), _short(rest_b or f"({len(lines_b)} lines)")
    return _short(a), _short(b)


def _short(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"
