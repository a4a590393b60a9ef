"""Whose code is this: the user's (the notebook, a local file, an editable install) or a library's.

User code is followed by content: editing it must re-run the steps that used it.
Library code (the standard library, anything installed in site-packages) changes
only with its version, so it is followed by version. The line is drawn by where
the code lives on disk; wfnb's own modules always count as library code.
"""

from __future__ import annotations

import functools
import os
import platform
import site
import sys
import sysconfig
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import importlib.metadata

# Code compiled from notebook cells: IPython's names and the name replays give a step's code.
_CELL_PREFIXES = ("<ipython-input-", "<wfnb step ")
_OWN_PACKAGE = os.path.join(os.path.dirname(os.path.realpath(__file__)), "")
_SELF = __name__.partition(".")[0]

# sysconfig reads its settings on first use, importing a module to do so; were that first use
# library_roots() with wfnb's import hook installed, the hook would ask library_roots() again, and
# on Python 3.13 the half-read settings lack what the paths need (`abi_thread`): read them now.
sysconfig.get_config_vars()

_files: dict[str, tuple[tuple[str, ...], bool]] = {}
_modules: dict[str, tuple[tuple[str, ...], bool]] = {}


@functools.lru_cache(maxsize=8)
def _roots_for(path: tuple[str, ...]) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
    dirs += site.getsitepackages() if hasattr(site, "getsitepackages") else []
    dirs.append(site.getusersitepackages())
    dirs += [p for p in path if os.path.basename(p) in ("site-packages", "dist-packages")]
    return tuple({os.path.join(os.path.realpath(d), "") for d in dirs if d})


def library_roots() -> tuple[str, ...]:
    """Directories whose files are library code, with a trailing separator (follows ``sys.path``)."""
    return _roots_for(tuple(sys.path))


library_roots.cache_clear = _roots_for.cache_clear  # type: ignore[attr-defined]  # the lru_cache's own, on the function that wraps it


def is_library_path(path: str) -> bool:
    """Whether a file on disk is library code (or wfnb's own)."""
    roots = library_roots()
    known = _files.get(path)
    if known is not None and known[0] is roots:
        return known[1]
    real = os.path.realpath(path)
    result = real.startswith(roots) or real.startswith(_OWN_PACKAGE)
    _files[path] = (roots, result)
    return result


def is_user_file(filename: str) -> bool:
    """Whether code with this ``co_filename`` (or a data file at this path) is the user's own."""
    if filename.startswith("<"):
        return filename.startswith(_CELL_PREFIXES)
    return not is_library_path(filename)


def is_library_module(module_name: str) -> bool:
    """Whether a module is library code: standard library, builtin, or installed in site-packages.

    Library code is hashed by name and version; everything else (``__main__``, local
    files, editable installs) is user code and is hashed by content, so that editing
    it invalidates the cache. A module that is not imported counts as user code.

    Parameters
    ----------
    module_name : str
        Dotted module name, e.g. ``fn.__module__``.

    Returns
    -------
    bool
        Cached per process and module name (and ``sys.path``).
    """
    if module_name == "__main__":
        return False
    if module_name.partition(".")[0] == _SELF:  # wfnb itself, even when installed editable
        return True
    roots = library_roots()
    known = _modules.get(module_name)
    if known is not None and known[0] is roots:
        return known[1]
    module = sys.modules.get(module_name)
    if module is None:
        top = module_name.partition(".")[0]
        return top != module_name and top in sys.modules and is_library_module(top)
    result = _classify(module)
    _modules[module_name] = (roots, result)
    return result


def is_user_module(module: ModuleType) -> bool:
    """A module of the user's own, loaded from a file (not ``__main__``, not built in)."""
    name = getattr(module, "__name__", None)
    return isinstance(name, str) and name != "__main__" and bool(getattr(module, "__file__", None)) and not is_library_module(name)


_kinds: dict[str, tuple[int, tuple[str, ...], bool]] = {}  # name → (id of the module, roots, is the user's)


def user_modules() -> dict[str, ModuleType]:
    """The user's modules loaded now, by name (each module is classified once, not at every call)."""
    roots = library_roots()
    found = {}
    for name, module in list(sys.modules.items()):
        known = _kinds.get(name)
        if known is None or known[0] != id(module) or known[1] is not roots:
            known = (id(module), roots, isinstance(module, ModuleType) and is_user_module(module))
            _kinds[name] = known
        if known[2]:
            found[name] = module
    return found


def _classify(module: ModuleType) -> bool:
    if module.__name__ in sys.builtin_module_names:
        return True
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin in ("built-in", "frozen"):
        return True
    file = getattr(module, "__file__", None)
    paths = [file] if file else list(getattr(module, "__path__", None) or ())
    return bool(paths) and all(is_library_path(p) for p in paths)


# ---- which version of a library: part of the hash of its code --------------------------------------

_PYTHON_VERSION = f"{sys.implementation.name}-{platform.python_version()}"


def module_version(module_name: str) -> str | None:
    """Installed distribution version of a module's top-level package, or ``None``.

    A library function's hash includes it, so that upgrading the library invalidates
    the steps that call it. Several distributions sharing one namespace package give
    ``"dist==version"`` pairs joined by ``"; "``. Cached per process: an upgrade takes
    effect in the interpreter (and in the hash) only after a restart.

    Parameters
    ----------
    module_name : str
        Dotted module name; only its first component is looked up.
    """
    top = module_name.partition(".")[0]
    known = _VERSIONS.get(top)
    if known is None:
        known = _top_level_version(top)
        if known is not None:  # not a miss: a lookup made while a library imports itself can fail once
            _VERSIONS[top] = known
    return known


_VERSIONS: dict[str, str] = {}


def _top_level_version(top: str) -> str | None:
    import importlib.metadata  # here, not at the top: it costs %load_ext ~30 ms

    direct = _direct_version(top)
    if direct is not None:
        return direct
    dists = _distributions_providing(top)
    versions = []
    for dist in dists:
        try:
            versions.append((dist, _metadata_field(importlib.metadata.distribution(dist), "Version")))
        except importlib.metadata.PackageNotFoundError:
            continue
    if len(versions) == 1:
        return versions[0][1]
    if versions:
        return "; ".join(f"{dist}=={version}" for dist, version in versions)
    try:
        return importlib.metadata.version(top)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        pass
    version = getattr(sys.modules.get(top), "__version__", None)
    return version if isinstance(version, str) else None


def _direct_version(top: str) -> str | None:
    """The version of the distribution named like the module, if it provides it.

    Most packages are named like their module; asking for that one distribution
    takes a millisecond, where looking through every installed distribution for
    the module (the general fallback) reads two files of each.
    """
    import importlib.metadata

    for name in dict.fromkeys((top, top.replace("_", "-"))):
        try:
            dist = importlib.metadata.distribution(name)
        except (importlib.metadata.PackageNotFoundError, ValueError):
            continue
        provided = set((dist.read_text("top_level.txt") or "").split())
        if not provided and _record_starts_with(dist, top):
            return _metadata_field(dist, "Version")
        if not provided:
            provided = {parts[0].removesuffix(".py") for parts in _installed_paths(dist) if parts}
        if top in provided:
            return _metadata_field(dist, "Version")
    return None


def _distributions_providing(top: str) -> list[str]:
    """The names of the distributions that provide module ``top``, as ``packages_distributions`` says.

    Python's own ``packages_distributions`` parses every installed distribution's metadata
    and makes a path object of every file each installed (~30,000 in a data-science venv):
    most of a second on the first hit of a step calling scikit-learn, whose distribution is
    not named like its module. ``_providers`` reads ``top_level.txt`` or searches the text of
    ``RECORD`` instead, once, and the metadata of the distributions asked about is read only.
    """
    return sorted({_metadata_field(dist, "Name") for dist in _providers().get(top, ())})


@functools.cache
def _providers() -> dict[str, list[importlib.metadata.Distribution]]:
    import importlib.metadata

    found: dict[str, list[importlib.metadata.Distribution]] = {}
    for dist in importlib.metadata.distributions():
        for name in (dist.read_text("top_level.txt") or "").split() or _inferred_top_levels(dist):
            found.setdefault(name, []).append(dist)
    return found


def _metadata_field(dist: importlib.metadata.Distribution, field: str) -> str:
    """One field of a distribution's metadata, read from its header lines without the email parser (5 ms each)."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    prefix = f"{field}:"
    for line in text.splitlines():
        if not line:  # the headers end here; what follows is the description
            break
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return dist.metadata[field]


def _inferred_top_levels(dist: importlib.metadata.Distribution) -> set[str]:
    """The top-level names of the ``.py`` files a distribution installed, as Python 3.11 infers them."""
    record = dist.read_text("RECORD")
    if record is not None and not _unusual(record):  # plain relative paths: split as text
        names = set()
        for line in record.splitlines():
            path = line.partition(",")[0]
            if path.endswith(".py"):
                first, slash, _ = path.partition("/")
                names.add(first if slash else path[:-3])
        return names
    return {parts[0] if len(parts) > 1 else parts[0][:-3] for parts in _installed_paths(dist) if parts and parts[-1].endswith(".py")}


def _unusual(record: str) -> bool:
    """Quoted, absolute, ``./`` or doubled-slash paths: those are split as paths are, not as text."""
    return '"' in record or "//" in record or "/./" in record or record.startswith(("/", "./")) or "\n/" in record or "\n./" in record


def _record_starts_with(dist: importlib.metadata.Distribution, top: str) -> bool:
    """True if a line of the distribution's RECORD is a file in package ``top`` or the module ``top.py``.

    A plain text search that settles the common case at once (False only means "look closer").
    """
    record = "\n" + (dist.read_text("RECORD") or "")
    return f"\n{top}/" in record or f"\n{top}.py," in record


def _installed_paths(dist: importlib.metadata.Distribution) -> list[tuple[str, ...]]:
    """The parts of each path a distribution installed, as ``dist.files`` gives them, read from RECORD directly.

    ``dist.files`` makes a path object of each of them: a quarter of a second for pandas'
    4,000 files, paid on the first hit in every fresh kernel.
    """
    import csv

    record = dist.read_text("RECORD")
    if record is None:  # an egg or a legacy install: its file list comes from elsewhere
        return [f.parts for f in dist.files or ()]
    found = []
    for row in csv.reader(record.splitlines()):
        if row:
            parts = [part for part in row[0].split("/") if part not in ("", ".")]  # as PurePosixPath splits it
            found.append(("/", *parts) if row[0].startswith("/") else tuple(parts))
    return found


def library_version(module_name: str) -> str | None:
    """Version token of library code: the distribution's version, or Python's for the stdlib."""
    top = module_name.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return _PYTHON_VERSION
    return module_version(top)
