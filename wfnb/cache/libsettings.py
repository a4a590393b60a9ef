"""Library settings a step reads and changes: matplotlib's rcParams, pandas' options, numpy's print
options and floating-point error handling, scikit-learn's configuration.

They change what a step computes and shows (``plt.style.use``, ``pd.set_option``,
``np.seterr``, ``sklearn.set_config(transform_output="pandas")``), so a step that uses one of these libraries depends on its settings,
and a step that changes them must change them again when it is restored. Settings
are compared with the library's defaults: a library not imported yet and the same
library freshly imported are in the same state.
"""

from __future__ import annotations

import contextvars
import sys
from typing import Any

import xxhash

LIBRARIES = ("matplotlib", "pandas", "numpy", "sklearn")
DEFAULTS = "defaults"
# rcParams that say where figures go, not what they look like (the kernel sets them).
_MATPLOTLIB_PLACE = frozenset({"backend", "backend_fallback", "interactive"})


def current(library: str) -> dict[str, Any] | None:
    """The library's settings now (None if it is not imported)."""
    if library == "matplotlib":
        mpl = sys.modules.get("matplotlib")
        if mpl is None or not hasattr(mpl, "rcParams"):
            return None
        return {key: value for key, value in dict.items(mpl.rcParams) if key not in _MATPLOTLIB_PLACE}
    if library == "pandas":
        config = sys.modules.get("pandas._config.config")
        if config is None:
            return None
        return _flatten(config._global_config)
    if library == "numpy":
        np = sys.modules.get("numpy")
        if np is None:
            return None
        return _numpy_settings(np)
    if library == "sklearn":
        sklearn = sys.modules.get("sklearn")
        return None if sklearn is None or not hasattr(sklearn, "get_config") else dict(sklearn.get_config())
    raise ValueError(library)


def defaults(library: str) -> dict[str, Any] | None:
    if library == "matplotlib":
        mpl = sys.modules.get("matplotlib")
        original = getattr(mpl, "rcParamsOrig", None)
        return None if original is None else dict(dict.items(original))
    if library == "pandas":
        config = sys.modules.get("pandas._config.config")
        return None if config is None else {key: option.defval for key, option in config._registered_options.items()}
    if library == "numpy":
        np = sys.modules.get("numpy")
        return None if np is None else contextvars.Context().run(_numpy_settings, np)  # the context variables' defaults
    if library == "sklearn":
        config = sys.modules.get("sklearn._config")  # set_config changes a per-thread copy of this
        return None if config is None else dict(config._global_config)
    raise ValueError(library)


def changed(library: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings (now, or ``values``) that differ from the library's defaults (none if not imported)."""
    now = current(library) if values is None else values
    base = defaults(library)
    if now is None or base is None:
        return {}
    return {key: value for key, value in now.items() if key not in base or not _same(base[key], value)}


def digest(library: str) -> str:
    """One digest of the settings that differ from the defaults now: ``defaults`` when none do."""
    return digest_of(library, current(library))


def digest_of(library: str, values: dict[str, Any] | None) -> str:
    """The same digest for settings taken earlier (None: the library was not imported then)."""
    from wfnb.cache.hashing import hash_value

    differing = changed(library, values) if values is not None else {}
    if not differing:
        return DEFAULTS
    try:
        return hash_value(dict(sorted(differing.items())))
    except Exception:  # noqa: BLE001 - a setting with no content to compare: its repr
        return xxhash.xxh3_128_hexdigest(repr(sorted(differing.items())).encode())


def difference(before: dict[str, Any] | None, after: dict[str, Any] | None, library: str) -> dict[str, Any]:
    """Settings a step changed: from ``before`` (or the defaults, if it imported the library) to ``after``."""
    if after is None:
        return {}
    base = before if before is not None else (defaults(library) or {})
    return {key: value for key, value in after.items() if key not in base or not _same(base[key], value)}


def apply(library: str, values: dict[str, Any]) -> None:
    """Set the library's settings to ``values`` (importing it if needed), as a step did."""
    if not values:
        return
    if library == "matplotlib":
        import matplotlib

        matplotlib.rcParams.update(values)  # type: ignore[arg-type]  # the names a step set, checked by matplotlib
    elif library == "pandas":
        import pandas as pd

        for key, value in values.items():
            pd.set_option(key, value)
    elif library == "numpy":
        import numpy as np

        errors = {key[4:]: value for key, value in values.items() if key.startswith("err.")}
        printing = {key: value for key, value in values.items() if not key.startswith("err.")}
        if errors:
            np.seterr(**errors)
        if printing:
            np.set_printoptions(**printing)
    elif library == "sklearn":
        import sklearn

        sklearn.set_config(**values)


def _numpy_settings(np: Any) -> dict[str, Any]:
    settings = dict(np.get_printoptions())
    settings.update({f"err.{key}": value for key, value in np.geterr().items()})
    return settings


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) if type(a) is type(b) else False
    except Exception:  # noqa: BLE001 - arrays and other values without a plain ==
        return a is b
