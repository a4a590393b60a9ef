"""How two values differ, in a few words a person can act on.

``wfnb why`` says by how much an input changed, and a check for nondeterminism
(``wfnb.replay(ref, check=True)``) says how a fresh run's output differs from the
recorded one. Both want the same answers: for numbers the change and its size,
for arrays the elements that differ and the largest difference, for frames the
shape, the columns and the rows that differ, for text the lines, for figures the
pixels. pandas and numpy are imported only when a value is one of theirs.
"""

from __future__ import annotations

import base64
import difflib
import io
import math
from dataclasses import dataclass, field
from typing import Any

_SHOWN = 5  # labels, lines or keys named before "…"
_SHORT = 60  # characters of a repr shown as is


@dataclass(frozen=True)
class Difference:
    """How ``new`` differs from ``old``: lines for people, and the largest differences for code."""

    lines: tuple[str, ...]
    max_abs: float | None = None  # the largest absolute difference among numbers, if any were compared
    max_rel: float | None = None
    columns: tuple[str, ...] = field(default_factory=tuple)  # a frame's columns whose values differ

    @property
    def summary(self) -> str:
        return self.lines[0] if self.lines else "differs"


def difference(old: Any, new: Any) -> Difference:
    """How ``new`` differs from ``old`` (which are known to differ: their hashes do)."""
    for kind, compare in _COMPARERS:
        if kind(old) and kind(new):
            return compare(old, new)
    if type(old) is not type(new):
        return Difference((f"{_type_name(old)} → {_type_name(new)}: {_short(old)} → {_short(new)}",))
    return Difference((f"{_short(old)} → {_short(new)}",))


def text_diff(old: str, new: str, old_label: str, new_label: str, limit: int = 40) -> list[str]:
    """A unified diff of two texts, at most ``limit`` lines (then how many more)."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="", n=1))
    if len(lines) > limit:
        lines = [*lines[:limit], f"… {len(lines) - limit} more lines"]
    return lines


def figure_difference(old: str, new: str) -> str:
    """Two PNG figures (base64, as a notebook keeps them) compared pixel by pixel, in words."""
    try:
        from matplotlib import image

        a = image.imread(io.BytesIO(base64.b64decode(old)), format="png")
        b = image.imread(io.BytesIO(base64.b64decode(new)), format="png")
    except Exception as error:  # noqa: BLE001 - any undecodable image: say so, do not fail the check
        return f"the images differ, and cannot be compared pixel by pixel ({type(error).__name__})"
    if a.shape != b.shape:
        return f"the image is {a.shape[1]}×{a.shape[0]} pixels, then {b.shape[1]}×{b.shape[0]}"
    import numpy as np

    delta = np.abs(a.astype(float) - b.astype(float))
    per_pixel = delta.max(axis=-1) if delta.ndim == 3 else delta
    changed = int((per_pixel > 0).sum())
    share = changed / per_pixel.size if per_pixel.size else 0.0
    return f"{changed} of {per_pixel.size} pixels differ ({share:.2%}), by at most {float(per_pixel.max()) * 255:.0f}/255"


# ---- by kind of value ---------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return False
    if isinstance(value, (int, float)):
        return True
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and getattr(value, "shape", None) == () and value.dtype.kind in "iuf"


def _numbers(old: Any, new: Any) -> Difference:
    a, b = float(old), float(new)
    if not (math.isfinite(a) and math.isfinite(b)):
        return Difference((f"{old!r} → {new!r}",))
    change = b - a
    size = f"{change:+.6g}" + (f", {change / abs(a):+.2%}" if a else "")
    return Difference((f"{old!r} → {new!r} ({size})",), abs(change), abs(change) / abs(a) if a else math.inf)


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _texts(old: str, new: str) -> Difference:
    if len(old) <= _SHORT and len(new) <= _SHORT and "\n" not in old + new:
        return Difference((f"{old!r} → {new!r}",))
    lines = text_diff(old, new, "before", "after", limit=12)
    changed = sum(1 for line in lines if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return Difference((f"text of {len(old)} → {len(new)} characters, {changed} lines differ", *lines[2:]))


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and type(value).__name__ == "ndarray"


def _arrays(old: Any, new: Any) -> Difference:
    import numpy as np

    if old.shape != new.shape or old.dtype != new.dtype:
        return Difference((f"array {_shape(old.shape)} {old.dtype} → {_shape(new.shape)} {new.dtype}",))
    if old.dtype.kind not in "iufcb":
        unequal = int(np.sum(old != new)) if old.dtype.kind != "O" else sum(1 for a, b in zip(old.ravel(), new.ravel()) if not _equal(a, b))
        return Difference((f"{unequal} of {old.size} elements differ",))
    a, b = old.astype(complex if old.dtype.kind == "c" else float), new.astype(complex if new.dtype.kind == "c" else float)
    unequal = ~((a == b) | (np.isnan(a) & np.isnan(b))) if a.dtype.kind == "f" else a != b
    count = int(unequal.sum())
    max_abs, max_rel = _largest(a[unequal], b[unequal])
    return Difference((f"{count} of {old.size} elements differ{_sizes(max_abs, max_rel)}",), max_abs, max_rel)


def _is_frame(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ == "DataFrame"


def _frames(old: Any, new: Any) -> Difference:
    shape = _shape(new.shape) if old.shape == new.shape else f"{_shape(old.shape)} → {_shape(new.shape)}"
    lines = [f"frame {shape}"]
    added = [c for c in new.columns if c not in old.columns]
    removed = [c for c in old.columns if c not in new.columns]
    if added:
        lines.append(f"columns added: {_names(added)}")
    if removed:
        lines.append(f"columns removed: {_names(removed)}")
    common = [c for c in new.columns if c in old.columns]
    retyped = [f"{c} {old[c].dtype} → {new[c].dtype}" for c in common if _unique(old, c) and _unique(new, c) and old[c].dtype != new[c].dtype]
    if retyped:
        lines.append("dtypes changed: " + _names(retyped))
    lines.extend(_index_lines(old.index, new.index, "row"))
    rows, columns, max_abs, max_rel = _cell_changes(old, new, common)
    if columns:
        lines.append(f"values differ in columns {_names(columns)}{_sizes(max_abs, max_rel)}")
    if rows:
        lines.append(f"{_count(len(rows), 'row')} differ{'s' if len(rows) == 1 else ''}: {_names(rows)}")
    if len(lines) == 1:
        lines.append("same columns, rows and values: what differs is elsewhere (index or column names, attrs, flags)")
    return Difference(tuple(lines), max_abs, max_rel, tuple(str(c) for c in columns))


def _is_series(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ == "Series"


def _series(old: Any, new: Any) -> Difference:
    found = _frames(old.to_frame("values"), new.to_frame("values"))
    length = str(len(new)) if len(old) == len(new) else f"{len(old)} → {len(new)}"
    lines = [f"series of {length}", *(line for line in found.lines[1:] if not line.startswith("values differ in columns"))]
    if found.columns:
        lines.insert(1, f"values differ{_sizes(found.max_abs, found.max_rel)}")
    if old.name != new.name:
        lines.append(f"name {old.name!r} → {new.name!r}")
    if old.dtype != new.dtype:
        lines.append(f"dtype {old.dtype} → {new.dtype}")
    return Difference(tuple(lines), found.max_abs, found.max_rel)


def _is_mapping(value: Any) -> bool:
    return type(value) is dict


def _mappings(old: dict, new: dict) -> Difference:
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    changed = [k for k in new if k in old and not _equal(old[k], new[k])]
    lines = [f"dict of {len(old)} → {len(new)} keys"]
    for label, keys in (("added", added), ("removed", removed), ("changed", changed)):
        if keys:
            lines.append(f"keys {label}: {_names(keys)}")
    if len(changed) == 1 and not added and not removed:
        inner = difference(old[changed[0]], new[changed[0]])
        lines.append(f"[{changed[0]!r}]: {inner.summary}")
    if len(lines) == 1:
        lines.append("same keys and values, in another order")
    return Difference(tuple(lines))


def _is_sequence(value: Any) -> bool:
    return type(value) in (list, tuple)


def _sequences(old: Any, new: Any) -> Difference:
    lines = [f"{type(new).__name__} of {len(old)} → {len(new)} items"]
    first = next((i for i, (a, b) in enumerate(zip(old, new)) if not _equal(a, b)), None)
    if first is not None:
        lines.append(f"first difference at [{first}]: {difference(old[first], new[first]).summary}")
    return Difference(tuple(lines))


_COMPARERS = (
    (_is_number, _numbers),
    (_is_text, _texts),
    (_is_array, _arrays),
    (_is_frame, _frames),
    (_is_series, _series),
    (_is_mapping, _mappings),
    (_is_sequence, _sequences),
)


# ---- helpers ------------------------------------------------------------------------------------


def _index_lines(old: Any, new: Any, what: str) -> list[str]:
    lines: list[str] = []
    if old.equals(new):
        return lines
    try:
        added = new.difference(old, sort=False)
        removed = old.difference(new, sort=False)
    except TypeError:
        return [f"the {what} index changed"]
    if len(added):
        lines.append(f"{_count(len(added), what)} added: {_names(list(added))}")
    if len(removed):
        lines.append(f"{_count(len(removed), what)} removed: {_names(list(removed))}")
    if not lines:
        lines.append(f"the same {what}s in another order")
    return lines


def _cell_changes(old: Any, new: Any, columns: list[Any]) -> tuple[list[Any], list[Any], float | None, float | None]:
    """Among the rows and columns both frames have: the rows and columns whose values differ."""
    import numpy as np

    if not (old.index.is_unique and new.index.is_unique) or not all(_unique(old, c) and _unique(new, c) for c in columns):
        a, b = old.reset_index(drop=True), new.reset_index(drop=True)
        rows = a.index.intersection(b.index)
    else:
        a, b = old, new
        rows = new.index.intersection(old.index, sort=False)
    differing_rows = np.zeros(len(rows), dtype=bool)
    differing_columns, max_abs, max_rel = [], None, None
    for column in columns:
        left, right = a.loc[rows, column], b.loc[rows, column]
        try:
            same = (left.to_numpy() == right.to_numpy()) | (left.isna().to_numpy() & right.isna().to_numpy())
        except (TypeError, ValueError):
            same = np.array([_equal(x, y) for x, y in zip(left, right)], dtype=bool)
        same = np.asarray(same, dtype=bool)
        if same.all():
            continue
        differing_columns.append(column)
        differing_rows |= ~same
        if left.dtype.kind in "iuf" and right.dtype.kind in "iuf":
            column_abs, column_rel = _largest(left.to_numpy(float)[~same], right.to_numpy(float)[~same])
            max_abs = column_abs if max_abs is None or (column_abs or 0) > max_abs else max_abs
            max_rel = column_rel if max_rel is None or (column_rel or 0) > max_rel else max_rel
    return list(rows[differing_rows]), differing_columns, max_abs, max_rel


def _largest(old: Any, new: Any) -> tuple[float | None, float | None]:
    import numpy as np

    if old.size == 0:
        return None, None
    delta = np.abs(new - old)
    finite = np.isfinite(delta)
    if not finite.any():
        return math.inf, math.inf
    biggest = float(delta[finite].max())
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(old != 0, delta / np.abs(old), np.inf)
    return biggest, float(np.nanmax(np.real(relative)))


def _sizes(max_abs: float | None, max_rel: float | None) -> str:
    if max_abs is None:
        return ""
    relative = "" if max_rel is None or math.isinf(max_rel) else f", max rel diff {max_rel:.3g}"
    return f" (max abs diff {max_abs:.3g}{relative})"


def _unique(frame: Any, column: Any) -> bool:
    """A label naming one column (a frame may repeat a label)."""
    return bool((frame.columns == column).sum() == 1) if len(frame.columns) else False


def _equal(a: Any, b: Any) -> bool:
    from wfnb.cache.hashing import hash_value
    from wfnb.errors import UnhashableValue

    try:
        return hash_value(a) == hash_value(b)
    except UnhashableValue:
        return a is b


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) or "scalar"


def _names(items: list[Any]) -> str:
    shown = ", ".join(str(item) for item in items[:_SHOWN])
    return shown + (f", … ({len(items)} in all)" if len(items) > _SHOWN else "")


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a repr that fails says nothing; the type will do
        text = f"<{_type_name(value)}>"
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 1] + "…"


def _type_name(value: Any) -> str:
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
