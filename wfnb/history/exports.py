"""A variant out of wfnb: a table of steps, a CSV file, a notebook or a script, chosen by the file's suffix.

``Variant.to_frame()`` is one row per step with everything needed to run the
workflow again (code, declared files, parameters, the hashes of what each step
read and produced); ``wfnb.history.workflow`` reads it back (``Workflow.from_frame``,
``from_csv``). Notebooks and scripts are written by ``wfnb.history.notebooks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfnb.errors import BadArgument
from wfnb.history.notebooks import write_file, write_notebook, write_script
from wfnb.history.workflow import FRAME_COLUMNS, json_text

if TYPE_CHECKING:
    import os

    import pandas as pd

    from wfnb.history.snapshots import RecordedVariant

__all__ = ["EXPORTS", "export_kind", "export_variant", "variant_frame", "write_csv"]

EXPORTS = {".ipynb": ("notebook", write_notebook), ".py": ("script", write_script), ".csv": ("CSV table", None)}



def variant_frame(variant: RecordedVariant) -> pd.DataFrame:
    """One row per step, in order: ``workflow, variant, step``, then one column per parameter (the
    variant's values, on every row) and per metric (on the step that logged it), then what runs it again:
    ``code, params, deps, inputs, outputs, key, workflow_params, indirect``.

    Parameters and metrics come first because they are what a person opening
    the file looks for; a name that is also a column's (or both a parameter and
    a metric) is prefixed ``param ``/``metric ``, as in ``wfnb list``.
    Mappings and lists are JSON text, so that the frame survives a CSV file
    unchanged; ``Workflow.from_frame`` reads it back. ``inputs`` and ``outputs``
    map names to value hashes: a value no step produces is found in the store
    by its hash when the workflow runs again.
    """
    import pandas as pd

    metric_names = list(dict.fromkeys(name for record in variant.steps for name in record.metrics))
    param_columns = {name: f"param {name}" if name in FRAME_COLUMNS else name for name in variant.params}
    metric_columns = {
        name: f"metric {name}" if name in FRAME_COLUMNS or name in param_columns.values() else name for name in metric_names
    }
    rows = []
    for record in variant.steps:
        row: dict[str, Any] = {"workflow": variant.workflow, "variant": variant.name, "step": record.step}
        row.update({column: variant.params[name] for name, column in param_columns.items()})
        row.update({column: record.metrics.get(name) for name, column in metric_columns.items()})
        row.update({
            "code": record.code,
            "params": json_text(record.params),
            "deps": json_text(list(record.record.get("deps", ()))),
            "inputs": json_text(record.inputs),
            "outputs": json_text(record.outputs),
            "key": record.key,
            "workflow_params": json_text(variant.params),
            "indirect": json_text(list(record.record.get("indirect", ()))),
        })
        rows.append(row)
    columns = ["workflow", "variant", "step", *param_columns.values(), *metric_columns.values(),
               *(c for c in FRAME_COLUMNS if c not in ("workflow", "variant", "step"))]
    return pd.DataFrame(rows, columns=columns)


def write_csv(variant: RecordedVariant, path: str | os.PathLike[str]) -> None:
    """Write ``variant_frame(variant)`` to a CSV file, atomically, as the umask says."""
    frame = variant_frame(variant)
    write_file(Path(path), lambda temporary: frame.to_csv(temporary, index=False))


def export_kind(path: str | os.PathLike[str]) -> str:
    """What a file of this name would hold ("notebook", "script", "CSV table"); BadArgument for another suffix."""
    kind = EXPORTS.get(Path(path).suffix.lower())
    if kind is None:
        raise BadArgument(f"{path}: the file name must end in .ipynb (notebook), .py (script) or .csv (table).")
    return kind[0]


def export_variant(variant: RecordedVariant, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
    """Write ``variant`` to ``path`` as its suffix says; refuse to replace a file unless ``overwrite``. Returns the kind."""
    what = export_kind(path)
    if Path(path).exists() and not overwrite:
        raise BadArgument(f"{path} exists already; add --force to replace it, or choose another path.")
    writer = EXPORTS[Path(path).suffix.lower()][1] or write_csv
    writer(variant, path)
    return what
