"""``--save NAME=PATH``: also write a step output to a file the user can open elsewhere.

The format follows the extension; the write is atomic (a temporary file beside
the target, then a rename), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import pickle
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wfnb.errors import BadArgument
from wfnb.store.localfs import replacing

FORMATS = (".csv", ".parquet", ".json", ".pkl")


@dataclass(frozen=True)
class SaveTarget:
    """One ``--save`` request: which output, and the path template it goes to."""

    name: str
    template: str

    @classmethod
    def parse(cls, text: str) -> SaveTarget:
        name, sep, template = text.partition("=")
        if not sep or not name.isidentifier() or not template:
            raise BadArgument(
                f"--save {text!r}: expected NAME=PATH, where NAME is an output of the step, "
                f"e.g. --save clean=out/clean.csv."
            )
        if Path(template).suffix.lower() not in FORMATS:
            raise BadArgument(
                f"--save {text!r}: the file type is chosen by the extension, and "
                f"{Path(template).suffix or 'no extension'!r} is not one of {', '.join(FORMATS)}."
            )
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        if any(not f.isidentifier() for f in fields):
            raise BadArgument(f"--save {text!r}: placeholders must be parameter names, like {{window}}.")
        return cls(name=name, template=template)

    def path(self, params: Mapping[str, Any]) -> Path:
        """The target path with ``{param}`` placeholders filled in."""
        fields = [f for _, f, _, _ in string.Formatter().parse(self.template) if f]
        missing = [f for f in fields if f not in params]
        if missing:
            known = ", ".join(sorted(params)) or "none"
            raise BadArgument(
                f"--save {self.name}={self.template}: no parameter named {', '.join(missing)} "
                f"among the step's inputs (parameters it reads: {known})."
            )
        return Path(self.template.format_map(params))


def write_output(value: Any, path: Path) -> None:
    """Write ``value`` to ``path`` in the format its extension names, atomically, as the umask says."""
    with replacing(path) as temporary:
        _WRITERS[path.suffix.lower()](value, str(temporary))


def _frame(value: Any, path: str) -> Any:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    try:
        return pd.DataFrame(value)
    except (ValueError, TypeError) as error:
        raise BadArgument(
            f"--save to {Path(path).suffix}: a value of type {type(value).__name__!r} cannot be written as a table "
            f"({error}). Save a DataFrame or Series, or use .pkl."
        ) from None


def _write_csv(value: Any, path: str) -> None:
    _frame(value, path).to_csv(path)


def _write_parquet(value: Any, path: str) -> None:
    _frame(value, path).to_parquet(path)


def _write_json(value: Any, path: str) -> None:
    import pandas as pd

    if isinstance(value, (pd.DataFrame, pd.Series)):
        value.to_json(path, orient="table", date_format="iso")
        return
    try:
        text = json.dumps(value, indent=2)
    except (TypeError, ValueError) as error:
        raise BadArgument(
            f"--save to .json: a value of type {type(value).__name__!r} is not JSON data ({error}). "
            "Save plain data or a DataFrame, or use .pkl."
        ) from None
    Path(path).write_text(text + "\n")


def _write_pickle(value: Any, path: str) -> None:
    with open(path, "wb") as handle:
        pickle.dump(value, handle, protocol=5)


_WRITERS = {".csv": _write_csv, ".parquet": _write_parquet, ".json": _write_json, ".pkl": _write_pickle}
