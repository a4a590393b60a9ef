"""Calling back once a module has been imported: wfnb wraps functions of modules that a step (or
any cell) may import only later, such as ``pyarrow.parquet`` on the first ``pd.read_parquet`` or
``numpy.random``, whose seeding functions say whether its global generator is reproducible."""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable
from typing import Any


class LoadedThen:
    """On ``sys.meta_path``: when one of ``names`` is first imported, lets its own loader run it,
    then calls ``then(name)``."""

    def __init__(self, names: frozenset[str], then: Callable[[str], None]) -> None:
        self.names = names
        self.then = then
        self.busy = threading.local()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in self.names or getattr(self.busy, "on", False):
            return None
        self.busy.on = True
        try:
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self.busy.on = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenLoader(spec.loader, self.then)
        return spec

    def invalidate_caches(self) -> None:
        pass


class _ThenLoader:
    def __init__(self, loader: Any, then: Callable[[str], None]) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__loader__ = self.loader  # the module keeps its own loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self.loader
        self.loader.exec_module(module)
        try:
            self.then(module.__name__)
        except Exception:  # noqa: BLE001 - an import must never fail for wfnb's sake
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)
