"""What a step changes outside its variables, found by comparing the process before and after it ran,
and done again when the step is restored from the cache.

A step may set a seed, a style, an option, the working directory, ``sys.path``, an
environment variable, an attribute of a local module, or a setting of the interpreter
(warning filters, the recursion limit, ``decimal``'s context, the locale, logging's level). A plain run leaves those
changes behind for the cells that follow; a hit must too, or the next cell computes
something else. Each change is recorded with its new value and replayed on a hit.
"""

from __future__ import annotations

import locale
import logging
import os
import random
import sys
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfnb.cache import libsettings, localmodules, patches, probes, randomness
from wfnb.cache.codeorigin import is_user_module, user_modules

if TYPE_CHECKING:
    from wfnb.cache import tracing
    from wfnb.cache.statusline import StepReport

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
    interpreter: dict[str, Any] = field(default_factory=dict)  # see _interpreter()
    log_handlers: tuple[int, ...] = ()  # the root logger's handlers (by identity: a stream cannot be stored)
    library_classes: dict[type, dict[str, int]] = field(default_factory=dict)  # see patches.class_snapshot

    @classmethod
    def now(cls) -> ProcessState:
        np_random = sys.modules.get("numpy.random")
        return cls(
            interpreter=_interpreter(),
            log_handlers=tuple(id(handler) for handler in logging.getLogger().handlers),
            library_classes=patches.class_snapshot(),
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
    interpreter: dict[str, Any] | None = None  # settings of the interpreter changed (None in older records)
    appended: dict[str, bytes] = field(default_factory=dict)  # file → the bytes the step appended to it

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
        parts.extend(_SETTING_NAMES[name] for name in sorted(self.interpreter or {}))
        parts.extend(f"{name}.{attribute}" for name, changes in sorted(self.modules.items()) for attribute in sorted(changes))
        parts.extend(f"lines appended to {os.path.basename(path)}" for path in sorted(getattr(self, "appended", None) or {}))
        parts.extend(f"{patches.owner_name(cls)}{'.' + cls.__qualname__ if isinstance(cls, type) else ''}.{attribute}" for cls, attribute, _ in self.classes)
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
        if "TZ" in self.environ and hasattr(time, "tzset"):
            time.tzset()  # what a step does after setting TZ, or `time.localtime` keeps the old zone

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
        for path, data in (getattr(self, "appended", None) or {}).items():  # absent in older records
            with open(path, "ab") as handle:
                handle.write(data)
        for name, value in (self.interpreter or {}).items():
            _set_interpreter(name, value)
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
    for name, value in after.interpreter.items():
        if before.interpreter.get(name) != value:
            effects.interpreter = {**(effects.interpreter or {}), name: value}
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
    for cls, attribute in patches.changed_attributes(before.library_classes, after.library_classes):
        effects.classes.append((cls, attribute, vars(cls).get(attribute, _DELETED)))
    return effects


# ---- settings of the interpreter a step may change (cheap to read: taken before and after every step) ----

_SETTING_NAMES = {
    "warnings": "warning filters",
    "recursion": "recursion limit",
    "decimal": "decimal context",
    "locale": "locale",
    "log_level": "logging level",
}


def _interpreter() -> dict[str, Any]:
    settings: dict[str, Any] = {
        "warnings": list(warnings.filters),
        "recursion": sys.getrecursionlimit(),
        "log_level": logging.getLogger().level,
    }
    decimal = sys.modules.get("decimal")
    if decimal is not None:
        context = decimal.getcontext()
        settings["decimal"] = (context.prec, context.rounding, context.Emin, context.Emax, context.capitals, context.clamp)
    try:
        settings["locale"] = locale.setlocale(locale.LC_ALL)
    except locale.Error:
        pass
    return settings


def _set_interpreter(name: str, value: Any) -> None:
    if name == "warnings":
        warnings.filters[:] = value  # type: ignore[index]  # a list at runtime; typeshed says Sequence
        warnings._filters_mutated()  # type: ignore[attr-defined]  # what filterwarnings itself calls
    elif name == "recursion":
        sys.setrecursionlimit(value)
    elif name == "log_level":
        logging.getLogger().setLevel(value)
    elif name == "decimal":
        import decimal

        context = decimal.getcontext()
        context.prec, context.rounding, context.Emin, context.Emax, context.capitals, context.clamp = value
    elif name == "locale":
        try:
            locale.setlocale(locale.LC_ALL, value)
        except locale.Error:
            pass  # a locale this machine does not have: as a plain run here would fail to set it


def _same_state(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    from wfnb.cache.hashing import hash_value

    return hash_value(a) == hash_value(b)


# ---- around a hit: what must be in place before values are read, and modules imported again ----


@dataclass
class ProcessUndo:
    """What ``replay_before`` changes, as it was: put back if the values then cannot be read."""

    cwd: str
    path: list[str]
    environ: dict[str, str]

    @classmethod
    def now(cls) -> ProcessUndo:
        import os

        return cls(os.getcwd(), list(sys.path), dict(os.environ))

    def apply(self) -> None:
        import os

        os.chdir(self.cwd)
        sys.path[:] = self.path
        for key in set(os.environ) - set(self.environ):
            del os.environ[key]
        os.environ.update(self.environ)


def before_effects(effects: Any) -> dict[str, Any]:
    """The effects needed before values are read (they may import from a changed sys.path), as JSON."""
    return {"cwd": effects.cwd, "path": effects.path, "environ": effects.environ}


def replay_before(before: Mapping[str, Any]) -> None:
    path = before.get("path")
    Effects(cwd=before.get("cwd"), path=tuple(path) if path else None, environ=before.get("environ") or {}).replay_before()


def reimports(observation: tracing.Observation) -> list[str]:
    """Modules the step imported that a hit imports again, for what importing them does (registrations)."""
    names = []
    for name in sorted(observation.fresh_modules):
        module = sys.modules.get(name)
        if module is not None and "." not in name or (module is not None and is_user_module(module)):
            names.append(name)
    return names


def note_edited_modules(report: StepReport, record: Mapping[str, Any]) -> None:
    """Say when a module the step uses was edited after this kernel imported it: Python still runs
    the old code here, and a restart (or a sweep's worker) would run the edit."""
    names = {what for kind, what, _ in probes.probes_of(record) if kind == "module"} | set(record.get("modules", {}))
    edited = localmodules.edited_since_loaded(names)
    if edited:
        shown = ", ".join(f"{name}.py" for name in edited)
        report.note(f"{shown} edited since this kernel imported it: restart, or importlib.reload, to use the edit")


def import_again(names: list[str]) -> None:
    import importlib

    for name in names:
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the step's values are back; a module that no longer imports is the user's to see
                pass


def is_module(value: Any) -> bool:
    import types

    return isinstance(value, types.ModuleType)
