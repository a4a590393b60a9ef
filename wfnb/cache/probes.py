"""A step's verified trace: each thing it was seen to depend on while it ran, checked again on every hit.

The key (code, inputs, helpers) finds a candidate result; the trace decides whether
it may be used. Each probe names something the run read (a file, a folder listing,
an environment variable, a module's source, a library's version or settings, the
random state it drew from) and the value it had; a hit is accepted only if every
probe still gives that value, in the order recorded. This is how build systems such
as Shake verify their traces, applied to a notebook cell.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import xxhash

from wfnb.cache import libsettings, localmodules, patches, randomness
from wfnb.cache.files import (
    ABSENT,
    glob_digest,
    listing_digest,
    path_digest,
    stat_digest,
    tree_digest,
)
from wfnb.errors import UnhashableValue

Probe = tuple[str, str, str]  # (kind, what, value)
UNSET = "unset"


@dataclass
class Trace:
    """The probes of one run, and why it cannot be trusted if it cannot (then it is never restored)."""

    probes: list[Probe] = field(default_factory=list)
    untraceable: list[str] = field(default_factory=list)

    def add(self, kind: str, what: str, value: str) -> None:
        self.probes.append((kind, what, value))

    def to_json(self) -> dict[str, Any]:
        return {"probes": [list(p) for p in self.probes], "untraceable": self.untraceable}


def probes_of(record: Mapping[str, Any]) -> list[Probe]:
    trace = record.get("trace") or {}
    return [tuple(p) for p in trace.get("probes", [])]


def first_change(probes: list[Probe], namespace: dict[str, Any]) -> str | None:
    """Why the trace no longer holds (e.g. ``file data/a.csv changed``), or None if every probe does."""
    for kind, what, value in probes:
        try:
            now = observe(kind, what, namespace)
        except Exception:  # noqa: BLE001 - a probe that cannot be taken now does not hold
            now = None
        if now != value:
            return describe(kind, what, now, value)
    return None


def observe(kind: str, what: str, namespace: dict[str, Any]) -> str:
    """The value of one probe now."""
    return _OBSERVERS[kind](what, namespace)


def describe(kind: str, what: str, now: str | None = None, then: str | None = None) -> str:
    """A probe that changed, in words for the status line (``then`` is the value it had, if known)."""
    if kind in ("file", "stat"):
        return f"file {_shown(what)} changed"
    if kind == "wrote":
        return f"file {_shown(what)} it wrote is {'missing' if now == ABSENT else 'changed'}"
    if kind in ("listing", "tree"):
        return f"folder {_shown(what)} changed"
    if kind == "folder":
        difference = names_changed(then, now)
        return f"folder {_shown(what)} changed" + (f": {difference}" if difference else "")
    if kind == "lookup":
        folder, _ = json.loads(what)
        difference = names_changed(then, now)
        return f"folder {_shown(folder or '.')} changed: {difference or 'its modules'}, named like a module it imports"
    if kind == "glob":
        return f"files matching {json.loads(what)[0]} changed"
    if kind == "env":
        return f"environment variable {what} changed"
    if kind == "rng":
        return "numpy's global random state differs" if what == "numpy" else "the random module's state differs"
    if kind == "settings":
        return f"{what} settings changed"
    if kind == "patches":
        return f"{what} classes changed in the notebook"
    if kind in _DESCRIBERS:
        return _DESCRIBERS[kind](what, now)
    return {
        "environ": "the environment changed",
        "argv": "sys.argv changed",
        "cwd": "working directory changed",
        "module": f"module {what} changed",
        "package": f"package {what} changed",
        "global": f"input {what} changed",
    }.get(kind, f"{kind} {what} changed")


def names_changed(then: str | None, now: str | None, shown: int = 3) -> str:
    """The names that appeared in a listing and those that went (``new b.csv; gone a.csv``), or ``""``
    when the values do not hold names (a large folder is kept as a hash)."""
    old, new = _names(then), _names(now)
    if old is None or new is None:
        return "it is gone" if now == ABSENT else "it is new" if then == ABSENT else ""
    parts = []
    for word, names in (("new", [n for n in new if n not in old]), ("gone", [n for n in old if n not in new])):
        if names:
            more = f" and {len(names) - shown} more" if len(names) > shown else ""
            parts.append(f"{word} {', '.join(names[:shown])}{more}")
    return "; ".join(parts)


def _names(value: str | None) -> list[str] | None:
    if value is None or not value.startswith("["):
        return None
    try:
        names = json.loads(value)
    except ValueError:
        return None
    return names if isinstance(names, list) else None


def _shown(path: str) -> str:
    """A path as the user wrote it, roughly: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


# ---- observers: one per kind of probe -----------------------------------------------------------------


def value_digest(value: Any) -> str:
    from wfnb.cache.hashing import hash_value

    try:
        return hash_value(value)
    except UnhashableValue:
        return f"unhashable:{os.urandom(8).hex()}"  # never equal: the step runs


def text_digest(text: str | None) -> str:
    return UNSET if text is None else xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def environ_digest(environ: dict[str, str]) -> str:
    return xxhash.xxh3_128_hexdigest(json.dumps(sorted(environ.items())).encode("utf-8", "surrogatepass"))


def _global(name: str, namespace: dict[str, Any]) -> str:
    return value_digest(namespace[name]) if name in namespace else ABSENT


def _package(name: str, namespace: dict[str, Any]) -> str:
    from wfnb.cache.hashing import module_version

    return module_version(name) or ""


def _glob(what: str, namespace: dict[str, Any]) -> str:
    pattern, root, recursive = json.loads(what)
    return glob_digest(pattern, root, recursive)


_MAX_NAMES = 2000  # entries of a listed folder kept by name (to say which changed); a larger one is kept as a hash


def folder_names(folder: str) -> str:
    """What a listing of ``folder`` shows: its entries' names, folders with a trailing ``/``, as a JSON list
    (``absent`` if it is not there)."""
    try:
        names = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return ABSENT
    except OSError as error:
        return f"unreadable:{error.errno}"
    if len(names) > _MAX_NAMES:
        return "hash:" + xxhash.xxh3_128_hexdigest("\0".join(names).encode("utf-8", "surrogateescape"))
    return json.dumps(names, ensure_ascii=False)


def module_files(what: str) -> str:
    """Which of the modules an import looked for are in a folder: the files (``utils.py``, an extension
    module) and folders (``utils/``, with the ``__init__`` that makes it a package) that ``import`` would
    find there, as a JSON list. ``what`` is ``[folder, names]``; folder ``""`` is the working directory."""
    folder, names = json.loads(what)
    folder = folder or os.getcwd()
    try:
        entries = set(os.listdir(folder))
    except OSError:
        entries = set()  # no folder: no module there either
    suffixes = importlib.machinery.all_suffixes()
    found = []
    for name in names:
        if name in entries and os.path.isdir(os.path.join(folder, name)):
            inits = [f"__init__{s}" for s in suffixes if os.path.isfile(os.path.join(folder, name, f"__init__{s}"))]
            found.append(f"{name}/{inits[0] if inits else ''}")
        found += [name + suffix for suffix in suffixes if name + suffix in entries]
    return json.dumps(found, ensure_ascii=False)


_OBSERVERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "file": lambda what, ns: path_digest(what),
    "stat": lambda what, ns: stat_digest(what),
    "wrote": lambda what, ns: path_digest(what),
    "listing": lambda what, ns: listing_digest(what),  # records made before names were kept
    "folder": lambda what, ns: folder_names(what),
    "lookup": lambda what, ns: module_files(what),
    "tree": lambda what, ns: tree_digest(what),
    "glob": _glob,
    "env": lambda what, ns: text_digest(os.environ.get(what)),
    "environ": lambda what, ns: environ_digest(dict(os.environ)),
    "argv": lambda what, ns: value_digest(list(sys.argv)),
    "cwd": lambda what, ns: os.getcwd(),
    "module": lambda what, ns: localmodules.module_state(what),
    "package": _package,
    "global": _global,
    "rng": lambda what, ns: randomness.fingerprint(what),
    "settings": lambda what, ns: libsettings.digest(what),
    "patches": lambda what, ns: patches.state(what) or "",
}
_DESCRIBERS: dict[str, Callable[[str, str | None], str]] = {}


def add_kind(kind: str, observe: Callable[[str], str], describe: Callable[[str, str | None], str]) -> None:
    """A kind of probe that a higher layer defines (``variant``, the result of another workflow, is
    ``wfnb.history.upstream``'s). Until it is added, a probe of that kind cannot be taken: the step runs."""
    _OBSERVERS[kind] = lambda what, namespace: observe(what)
    _DESCRIBERS[kind] = describe
