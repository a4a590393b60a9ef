"""The table grouped by settings, the model's part: a mixin of ``BrowserState``.

Which parameters the table is grouped by (the chosen ones, else all but the
seed-like ones), the groups of the filtered variants with each metric's
statistics (``grouping`` computes them), and the way back from a group to its
members: a filter listing exactly them. ``groups()`` is what the table,
Compare and the plots' error bars draw.
"""

from __future__ import annotations

import json

from traitlets import Bool, HasTraits, List, Unicode

from wfnb.errors import BadArgument
from wfnb.frontends.browser import grouping, table


class Grouped(HasTraits):
    """Grouping for ``BrowserState`` (which provides the rows, the columns and the filter)."""

    grouped = Bool(False, help="one row per group of variants with equal grouping parameters")
    group_by = List(Unicode(), help="the parameters grouped by; [] for the default (all but the seed-like ones)")

    def default_group_by(self) -> list[str]:
        """Every parameter but the seed-like ones (see ``grouping``)."""
        return grouping.default_group_by([r for r in self._rows.values() if not r.failed])

    def grouping_params(self) -> list[str]:
        """The parameters the table is grouped by: the chosen ones, else the default."""
        known = {c.name for c in self.columns() if c.kind == "param"}
        chosen = [name for name in self.group_by if name in known]
        return chosen or self.default_group_by()

    def groups(self) -> list[grouping.Group]:
        """The filtered variants grouped by ``grouping_params()``, each metric's count, mean ± std, min and max;
        sorted like the table (a metric by its mean). For the table, Compare and the plots' error bars."""
        groups = self._groups
        if groups is None:
            made = grouping.group_rows([r for r in self.visible_rows() if not r.failed], self.grouping_params(), self.metric_names())
            key = self.sort_by if self.sort_by.startswith(("metric:", "param:")) or self.sort_by == "count" else ""
            groups = self._groups = grouping.sort_groups(made, key, self.descending) if key else made
        return groups

    def page_groups(self) -> list[grouping.Group]:
        groups = self.groups()
        return groups[self.page * self.page_size : (self.page + 1) * self.page_size]

    def group(self, on: bool = True, by: list[str] | None = None) -> None:
        """Group the table (by ``by``, else the default parameters), or list every variant again."""
        if by is not None:
            known = [c.name for c in self.columns() if c.kind == "param"]
            unknown = [name for name in by if name not in known]
            if unknown:
                raise BadArgument(f"The variants have no parameter {', '.join(unknown)}; their parameters: {', '.join(known) or 'none'}.")
        with self.hold_trait_notifications():
            if by is not None:
                self.group_by = list(by)
            self.grouped = on

    def expand(self, key: str) -> None:
        """Back to a group's members: the table lists every variant again, filtered to exactly them."""
        group = next((g for g in self.groups() if g.key == key), None)
        if group is None:
            raise BadArgument("That group is no longer listed (the variants changed); group the table again.")
        rows = self.visible_rows()
        varying = [n for n in group.params if len({json.dumps(r.params.get(n), sort_keys=True, default=str) for r in rows}) > 1]
        terms = grouping.members_query(group, self.metric_names(), every_workflow=not self.workflow, varying=varying)
        previous = self.query.strip() if not self.query_error else ""
        query = f"({previous}) and {terms}" if previous and terms else previous or terms
        with self.hold_trait_notifications():
            self.grouped = False
            self.query = query

    def group_decimals(self, groups: list[grouping.Group]) -> dict[str, int | None]:
        """Each metric's decimals over the groups' means (the page shown)."""
        return {f"metric:{m}": table.column_decimals([g.stats[m].mean for g in groups if m in g.stats]) for m in self.metric_names()}

    # provided by BrowserState, with columns(), visible_rows(), metric_names() and the filter's traits
    _rows: dict[str, table.Row]
    _groups: list[grouping.Group] | None
