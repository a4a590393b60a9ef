"""A variant as the public API hands it out: what was recorded, and what can be done with it.

``wfnb.history.records.RecordedVariant`` is what the store holds, read-only; replaying,
checking and exporting need the machinery built on top of it (replays, the
nondeterminism check, the writers of tables, notebooks and scripts), so those
methods live on this subclass, one layer up. ``wfnb.variant()`` and friends give
this class; ``Variant.of`` turns a recorded variant into one.
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from wfnb.errors import api_boundary
from wfnb.history import records
from wfnb.history.determinism import check_variant, print_checks, refuse_overrides
from wfnb.history.exports import variant_frame, write_csv
from wfnb.history.notebooks import write_notebook, write_script
from wfnb.history.replay import replay

if TYPE_CHECKING:
    import pandas as pd


class Variant(records.RecordedVariant):
    """A consistent snapshot of one workflow, which can be replayed, checked and exported."""

    @classmethod
    def of(cls, recorded: records.RecordedVariant) -> Variant:
        """``recorded`` with the methods of this class (itself if it has them already)."""
        if isinstance(recorded, cls):
            return recorded
        return cls(**{f.name: getattr(recorded, f.name) for f in fields(recorded) if f.init})

    @api_boundary
    def replay(self, *, check: bool = False, **params: Any) -> Any:
        """Run this variant's own code again, in a fresh namespace, with parameters overridden.

        Unchanged steps are restored from the cache, not run; the notebook's
        namespace and its current variant are not touched. Returns the variant
        that results (a new one if anything differs). A failing step shows its
        own traceback, then raises one ``WfnbError`` saying which step failed.

        With ``check=True``, every step runs again on its recorded inputs, without the
        cache, and a ``CheckReport`` says which outputs differ (see ``wfnb.history.determinism``).
        """
        if check:
            refuse_overrides(f"{self.workflow}/{self.name}", params)
            return check_variant(self, progress=print_checks(f"check {self.name}"))
        return Variant.of(replay(self, **params))

    @api_boundary
    def to_frame(self) -> pd.DataFrame:
        """One row per step: name, code, params, inputs, outputs, key."""
        return variant_frame(self)

    @api_boundary
    def to_csv(self, path: str) -> None:
        """Write ``to_frame()`` to a CSV file that ``Workflow.from_csv`` reads back."""
        write_csv(self, path)

    @api_boundary
    def to_notebook(self, path: str) -> None:
        """Write a clean notebook with the params cell and the step cells, with their stored outputs."""
        write_notebook(self, path)

    @api_boundary
    def to_script(self, path: str) -> None:
        """Write a plain Python script that reproduces this variant without wfnb."""
        write_script(self, path)
