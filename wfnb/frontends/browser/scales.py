"""Scales for the browser's plots: numbers (linear or log) or categories onto pixels, ticks, and colours.

Plain functions, no plotting library: the plots are SVG drawn by ``charts``,
coloured with the theme's variables where they can be and with a perceptual
colour ramp where a value has to be shown as a colour: blue to orange (the
pair most colour-blind readers tell apart), every shade at least 3:1 against
both a white page and JupyterLab Dark's, so no end of it vanishes in a theme.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wfnb.frontends.browser.table import format_value, is_number

# Stops of the colour ramp, low to high (blue → violet → orange), lightness rising with the value.
_RAMP = ((0.0, (45, 105, 215)), (0.25, (112, 110, 200)), (0.5, (160, 110, 160)), (0.75, (200, 115, 100)), (1.0, (215, 125, 40)))
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")


@dataclass(frozen=True)
class Scale:
    """Maps the values of one axis onto [start, end] pixels; ``categories`` is set for a categorical axis."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False
    categories: tuple[str, ...] = ()

    def __call__(self, value: Any) -> float | None:
        """The pixel for ``value`` (None: it cannot be shown on this axis, e.g. ≤ 0 on a log axis)."""
        if self.categories:
            key = category(value)
            if key not in self.categories:
                return None
            step = (self.end - self.start) / len(self.categories)
            return self.start + step * (self.categories.index(key) + 0.5)
        if not is_number(value) or not math.isfinite(value) or (self.log and value <= 0):
            return None
        low, high, number = (math.log10(self.low), math.log10(self.high), math.log10(value)) if self.log else (self.low, self.high, float(value))
        span = (high - low) or 1.0
        return self.start + (number - low) / span * (self.end - self.start)

    def ticks(self, most: int = 6) -> list[tuple[float, str]]:
        """(pixel, label) of the axis' ticks."""
        if self.categories:
            step = (self.end - self.start) / len(self.categories)
            every = max(1, math.ceil(len(self.categories) / (most * 2)))
            return [(self.start + step * (i + 0.5), c if len(c) <= 14 else c[:13] + "…") for i, c in enumerate(self.categories) if i % every == 0]
        values = log_ticks(self.low, self.high) if self.log else nice_ticks(self.low, self.high, most)
        return [(pixel, tick_label(value)) for value in values if (pixel := self(value)) is not None]


def scale_for(values: Sequence[Any], start: float, end: float, log: bool = False) -> Scale:
    """A numeric scale when every value is a number, else a categorical one (in first-seen order, sorted)."""
    present = [value for value in values if value is not None]
    numbers = [float(v) for v in present if is_number(v) and math.isfinite(v)]
    if present and len(numbers) == len(present):
        if log and all(number > 0 for number in numbers):
            low, high = min(numbers), max(numbers)
            if low == high:
                low, high = low / 2, high * 2
            return Scale(low, high, start, end, log=True)
        low, high = (min(numbers), max(numbers)) if numbers else (0.0, 1.0)
        pad = (high - low) * 0.06 or abs(high) * 0.1 or 1.0
        return Scale(low - pad, high + pad, start, end)
    keys = sorted({category(value) for value in present}, key=_category_order)
    return Scale(0.0, 1.0, start, end, categories=tuple(keys))


def category(value: Any) -> str:
    """How a non-numeric value is named on a categorical axis or in a legend."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    return format_value(value) if value is not None else "—"


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round numbers (1, 2 or 5 × 10ⁿ apart) between ``low`` and ``high``."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        return [low]
    raw = span / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    count = int(math.floor((high - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(count)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten within the range (with 2 and 5 between them when there are few)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    multiples = (1, 2, 5) if last - first <= 2 else (1,)
    return [m * 10.0**p for p in range(first, last + 1) for m in multiples if low <= m * 10.0**p <= high]


def tick_label(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.0e}"
    return f"{value:.6g}"


def suggest_log(values: Sequence[Any]) -> bool:
    """A log axis reads better when positive numbers span more than a decade (lr = 0.01 … 0.3)."""
    numbers = [float(v) for v in values if is_number(v) and math.isfinite(v)]
    return bool(numbers) and len(numbers) == len([v for v in values if v is not None]) and min(numbers) > 0 and max(numbers) / min(numbers) > 10


def ramp(fraction: float) -> str:
    """The colour at ``fraction`` (0 … 1) of the ramp, as ``#rrggbb``."""
    fraction = min(1.0, max(0.0, fraction))
    for (at, low), (next_at, high) in zip(_RAMP, _RAMP[1:]):
        if fraction <= next_at:
            t = (fraction - at) / (next_at - at)
            red, green, blue = (round(a + (b - a) * t) for a, b in zip(low, high))
            return f"#{red:02x}{green:02x}{blue:02x}"
    return "#d77d28"


def colours(values: Sequence[Any]) -> tuple[list[str | None], list[tuple[str, str]], bool]:
    """A colour per value (None for a missing one), the legend's (colour, label) entries, and whether
    the legend is a continuous ramp (numbers) or swatches (categories)."""
    numbers = [float(v) for v in values if is_number(v) and math.isfinite(v)]
    present = [v for v in values if v is not None]
    if present and len(numbers) == len(present):
        low, high = min(numbers), max(numbers)
        span = (high - low) or 1.0
        shades = [ramp((float(v) - low) / span) if is_number(v) and math.isfinite(v) else None for v in values]
        return shades, [(ramp(0.0), tick_label(low)), (ramp(1.0), tick_label(high))], True
    keys = sorted({category(v) for v in present}, key=_category_order)
    chosen = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}
    return [chosen[category(v)] if v is not None else None for v in values], [(chosen[k], k) for k in keys[:12]], False


def _category_order(key: str) -> tuple[int, Any]:
    try:
        return (0, float(key))
    except ValueError:
        return (1, key.lower())
