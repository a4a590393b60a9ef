"""The plots' part of the browser's model: curves, per-axis log scales, ranges dragged on a plot, importance.

A mixin of ``BrowserState`` (which lists the rows and owns the filter). A range
dragged on the scatter or on a parallel-coordinates axis becomes filter text
(``lr >= 0.01 and lr <= 0.1``), so the table, the plots and the filter box all
show one selection, written in the syntax the user can edit. Curves read the
step records of the few variants drawn, never of every listed one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traitlets import Dict, HasTraits, List, Unicode, observe

from wfnb.errors import BadArgument, WfnbError
from wfnb.frontends.browser import importance, scales, table

if TYPE_CHECKING:
    from wfnb.history.snapshots import RecordedVariant

_PLAIN_WORD = re.compile(r"[^\s()<>=!~,\"']+")


@dataclass(frozen=True)
class Curve:
    """One variant's series of a metric: ``(step, value)`` points in the order logged."""

    ref: str
    label: str
    points: tuple[tuple[float, float], ...]


class Plotting(HasTraits):
    """See the module docstring; expects ``columns``, ``plot_rows``, ``variant``, ``selected``, ``ticked``, ``query``."""

    curve_metric = Unicode("", help="the metric whose series the Curves plot draws ('' for the first one logged per step)")
    importance_metric = Unicode("", help="the metric parameters are ranked for ('' for the first metric)")
    log_axes = List(Unicode(), help="parallel-coordinates axes the user switched to a log scale")
    linear_axes = List(Unicode(), help="parallel-coordinates axes the user switched to a linear scale")
    brushes = Dict(help="column key → the dragged range [low, high], or {'in': [categories]}")

    # -- curves ------------------------------------------------------------------

    def curve_refs(self) -> list[str]:
        """The variants whose curves are drawn: the ticked ones, then the selected one."""
        refs = [ref for ref in [*self.ticked, self.selected] if ref]
        return [ref for i, ref in enumerate(refs) if ref not in refs[:i]]

    def curve_options(self) -> list[str]:
        """Metrics that the drawn variants logged as a series (more than one point)."""
        names: list[str] = []
        for ref in self.curve_refs():
            for name, points in self._series_of(ref).items():
                if len(points) > 1 and name not in names:
                    names.append(name)
        return names

    def chosen_curve_metric(self) -> str:
        options = self.curve_options()
        return self.curve_metric if self.curve_metric in options else (options[0] if options else "")

    def curves(self) -> list[Curve]:
        """Each drawn variant's series of the chosen metric (variants without it are left out)."""
        metric = self.chosen_curve_metric()
        found = []
        for ref in self.curve_refs():
            points = self._series_of(ref).get(metric)
            row = self.row(ref)
            if points and row is not None:
                label = row.name if self.workflow else row.ref
                found.append(Curve(ref, label, tuple((float(s), float(v)) for s, v in points if table.is_number(v))))
        return found

    def _series_of(self, ref: str) -> dict[str, list[tuple[Any, Any]]]:
        """metric → points of one variant; a later step's series wins, as its value does in the metrics."""
        variant: RecordedVariant | None = self.variant(ref)
        if variant is None:
            return {}
        merged: dict[str, list[tuple[Any, Any]]] = {}
        try:
            for record in variant.steps:
                merged.update(record.series)
        except WfnbError:  # a damaged record: no curve, the rest of the browser goes on
            return {}
        return merged

    # -- parallel coordinates' axes -------------------------------------------------

    def axis_is_log(self, key: str) -> bool:
        """Log when the user chose it, or by default when its plotted values are positive numbers
        spanning more than a decade."""
        if key in self.log_axes:
            return True
        if key in self.linear_axes:
            return False
        return scales.suggest_log([table.cell_value(row, key) for row in self.plot_rows()[0]])

    def toggle_axis_log(self, key: str) -> None:
        """Switch one axis between log and linear (a click on its ``log``/``linear`` label)."""
        was_log = self.axis_is_log(key)
        with self.hold_trait_notifications():
            self.log_axes = [k for k in self.log_axes if k != key] + ([] if was_log else [key])
            self.linear_axes = [k for k in self.linear_axes if k != key] + ([key] if was_log else [])

    # -- ranges dragged on a plot ------------------------------------------------------

    def brush(self, ranges: Mapping[str, Any]) -> None:
        """Filter by ranges dragged on a plot: ``{key: [low, high]}``, ``{key: {"in": [...]}}``, or
        ``{key: None}`` to let one go. The filter text becomes what the user typed, and these ranges."""
        known = {column.key: column for column in self.columns()}
        brushes = {key: wanted for key, wanted in self.brushes.items() if key in known}  # another workflow's go
        for key, wanted in ranges.items():
            if key not in known:
                raise BadArgument(f"The plots have no column {key!r}; its columns: {', '.join(known)}.")
            if wanted is None:
                brushes.pop(key, None)
            elif isinstance(wanted, dict) and isinstance(wanted.get("in"), list):
                brushes[key] = {"in": [str(value) for value in wanted["in"]]}
            elif isinstance(wanted, (list, tuple)) and len(wanted) == 2 and all(table.is_number(v) for v in wanted):
                brushes[key] = sorted(float(v) for v in wanted)
            else:
                raise BadArgument(f"A dragged range is [low, high] or {{'in': [values]}}, not {wanted!r}.")
        typed = self._typed_query()
        terms = [self._brush_text(known[key], wanted) for key, wanted in brushes.items()]
        text = " and ".join(term for term in terms if term)
        self._brush_query = text
        # An axis dragged on keeps the scale it was dragged on: chosen from the rows it showed then, not from
        # the fewer the range leaves (0.01 … 0.1 alone would read as linear, and the drawn range would jump).
        dragged_log = [key for key, wanted in brushes.items() if isinstance(wanted, list) and key not in self.brushes
                       and key not in self.log_axes and key not in self.linear_axes and self.axis_is_log(key)]
        with self.hold_trait_notifications():
            self.log_axes = [*self.log_axes, *dragged_log]
            self.brushes = brushes
            self.query = f"{typed} and {text}" if typed and text else typed or text

    def clear_brushes(self) -> None:
        self.brush({key: None for key in self.brushes})

    def brush_from_page(self, argument: str) -> None:
        """The bridge's ``brush`` action: its argument is the ranges as JSON, built by the page's drag handler."""
        try:
            ranges = json.loads(argument)
        except ValueError:
            return
        if isinstance(ranges, dict):
            self.brush(ranges)

    def _typed_query(self) -> str:
        """The filter without the text the last drag wrote at its end."""
        query, made = self.query.strip(), getattr(self, "_brush_query", "")
        if made and query.endswith(made):
            return query[: -len(made)].strip().removesuffix(" and").strip() if query != made else ""
        return query

    @observe("query")
    def _query_typed(self, change: dict[str, Any]) -> None:
        """Ranges whose text the user deleted from the filter box are no longer drawn as dragged."""
        made = getattr(self, "_brush_query", "")
        if made and made not in change["new"]:
            self._brush_query = ""
            self.brushes = {}

    def _brush_text(self, column: table.Column, wanted: Any) -> str:
        name = self._query_name(column)
        if isinstance(wanted, dict):
            values = wanted["in"]
            if not values:
                return ""
            terms = [f"{name} = {_quoted(value)}" for value in values]
            return terms[0] if len(terms) == 1 else "(" + " or ".join(terms) + ")"
        low, high = _round_out(wanted[0], wanted[1])
        return f"{name} >= {low} and {name} <= {high}"

    def _query_name(self, column: table.Column) -> str:
        """The name the filter knows a column by: ``params.C`` when a metric is also called C."""
        clash = sum(1 for c in self.columns() if c.name == column.name and c.kind in ("param", "metric")) > 1
        return f"{'params' if column.kind == 'param' else 'metrics'}.{column.name}" if clash else column.name

    # -- which parameters matter -------------------------------------------------------

    def chosen_importance_metric(self) -> str:
        metrics = [c.key for c in self.columns() if c.kind == "metric"]
        return self.importance_metric if self.importance_metric in metrics else (metrics[0] if metrics else "")

    def importance(self) -> list[importance.Ranked]:
        """Parameters that vary among the plotted variants, ranked by how strongly the chosen metric follows them."""
        metric = self.chosen_importance_metric()
        if not metric:
            return []
        rows, _ = self.plot_rows()
        outcome = [table.cell_value(row, metric) for row in rows]
        params = {c.name: [table.cell_value(row, c.key) for row in rows] for c in self.columns() if c.kind == "param"}
        return importance.rank(params, outcome)


def _round_out(low: float, high: float) -> tuple[str, str]:
    """The range's ends as short numbers that still hold it: low rounded down, high up, to 3 significant
    digits of the value or of the range's width, whichever is finer (a log axis' 0.00123 stays itself)."""
    span = abs(high - low) or abs(high) or 1.0

    def text(value: float, down: bool) -> str:
        size = abs(value) or span
        digits = max(0, 2 - math.floor(math.log10(span)), 2 - math.floor(math.log10(size)))
        scale = 10**digits
        rounded = (math.floor if down else math.ceil)(round(value * scale, 6)) / scale
        shown = f"{rounded:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{rounded:.0f}"
        return "0" if shown in ("-0", "") else shown

    return text(low, True), text(high, False)


def _quoted(value: str) -> str:
    if _PLAIN_WORD.fullmatch(value) and value.lower() not in ("and", "or", "not"):
        return value
    return '"' + value + '"' if '"' not in value else "'" + value + "'"
