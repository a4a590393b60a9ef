"""What a step changes outside its variables, found by comparing the process before and after it ran,
and done again when the step is restored from the cache.

A step may set a seed, a style, an option, the working directory, ``sys.path``, an
environment variable, or an attribute of a local module. A plain run leaves those
changes behind for the cells that follow; a hit must too, or the next cell computes
something else. Each change is recorded with its new value and replayed on a hit.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass, field
from typing import Any

from wfnb import libsettings, localmodules, randomness
from wfnb.codeorigin import user_modules

_DELETED = "<deleted>"  # an attribute or variable the step removed


@dataclass
class ProcessState:
    """The parts of the process a step can change without binding a name."""

    cwd: str
    path: list[str]
    environ: dict[str, str]
    random: Any
    numpy_random: Any
    settings: dict[str, dict[str, Any] | None]
    modules: dict[str, dict[str, str]]  # user module → data attribute digests

    @classmethod
    def now(cls) -> ProcessState:
        np_random = sys.modules.get("numpy.random")
        return cls(
            cwd=os.getcwd(),
            path=list(sys.path),
            environ=dict(os.environ),
            random=random.getstate(),
            numpy_random=np_random.get_state(legacy=False) if np_random is not None else None,
            settings={library: libsettings.current(library) for library in libsettings.LIBRARIES},
            modules={name: localmodules.data_digests(m) for name, m in user_modules().items()},
        )


@dataclass
class Effects:
    """The changes one step made, with their new values (picklable: they are stored with its outputs)."""

    cwd: str | None = None
    path: tuple[list[str], list[str]] | None = None  # before, after
    environ: dict[str, str | None] = field(default_factory=dict)  # None: unset
    random: Any = None
    numpy_random: Any = None
    seeded: dict[str, bool] = field(default_factory=dict)  # generator → reproducible after the step
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)  # attribute → value or _DELETED
    classes: list[tuple[type, str, Any]] = field(default_factory=list)  # library classes changed

    def summary(self) -> list[str]:
        """The changes in words, for the record and the status line."""
        parts = []
        if self.cwd is not None:
            parts.append("working directory")
        if self.path is not None:
            parts.append("sys.path")
        parts.extend(f"env {key}" for key in sorted(self.environ))
        if self.random is not None:
            parts.append("random state")
        if self.numpy_random is not None:
            parts.append("numpy random state")
        parts.extend(f"{library} settings" for library in sorted(self.settings))
        parts.extend(f"{name}.{attribute}" for name, changes in sorted(self.modules.items()) for attribute in sorted(changes))
        parts.extend(f"{cls.__module__}.{cls.__qualname__}.{attribute}" for cls, attribute, _ in self.classes)
        return parts

    def replay_before(self) -> None:
        """What restoring the values may need already: the folder, the import path, the environment."""
        if self.cwd is not None:
            os.chdir(self.cwd)
        if self.path is not None:
            before, after = self.path
            if sys.path == before:
                sys.path[:] = after
            else:
                for entry in reversed([p for p in after if p not in sys.path]):
                    sys.path.insert(0, entry)
                sys.path[:] = [p for p in sys.path if p in after or p not in before]
        for key, value in self.environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def replay_after(self) -> None:
        """The rest, once the values are back: modules, library classes, settings, then the generators."""
        import importlib

        for name, changes in self.modules.items():
            module = sys.modules.get(name) or importlib.import_module(name)
            for attribute, value in changes.items():
                if value == _DELETED:
                    if hasattr(module, attribute):
                        delattr(module, attribute)
                else:
                    setattr(module, attribute, value)
        for cls, attribute, value in self.classes:
            if isinstance(value, str) and value == _DELETED:
                if attribute in vars(cls):
                    delattr(cls, attribute)
            else:
                setattr(cls, attribute, value)
        for library, values in self.settings.items():
            libsettings.apply(library, values)
        if self.random is not None:
            randomness.restore("random", self.random, self.seeded.get("random", False))
        if self.numpy_random is not None:
            randomness.restore("numpy", self.numpy_random, self.seeded.get("numpy", False))


def difference(before: ProcessState, after: ProcessState, *, fresh_modules: set[str]) -> Effects:
    """What changed between ``before`` and ``after``; ``fresh_modules`` were first loaded in between."""
    effects = Effects()
    if after.cwd != before.cwd:
        effects.cwd = after.cwd
    if after.path != before.path:
        effects.path = (before.path, after.path)
    for key in set(before.environ) | set(after.environ):
        if before.environ.get(key) != after.environ.get(key):
            effects.environ[key] = after.environ.get(key)
    if after.random != before.random:
        effects.random = after.random
        effects.seeded["random"] = randomness.is_seeded("random")
    if after.numpy_random is not None and not _same_state(before.numpy_random, after.numpy_random):
        effects.numpy_random = after.numpy_random
        effects.seeded["numpy"] = randomness.is_seeded("numpy")
    for library in libsettings.LIBRARIES:
        changed = libsettings.difference(before.settings.get(library), after.settings.get(library), library)
        if changed:
            effects.settings[library] = changed
    for name, digests in after.modules.items():
        start = localmodules.fresh_digests(name) if name in fresh_modules or name not in before.modules else before.modules[name]
        if start is None:
            continue
        module = sys.modules[name]
        changes = {}
        for attribute in set(start) | set(digests):
            if start.get(attribute) != digests.get(attribute):
                changes[attribute] = getattr(module, attribute) if attribute in digests else _DELETED
        if changes:
            effects.modules[name] = changes
    return effects


def _same_state(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    from wfnb.hashing import hash_value

    return hash_value(a) == hash_value(b)


