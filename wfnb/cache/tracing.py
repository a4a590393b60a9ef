"""One run of a step, observed: its trace (what it depended on) and its effects (what it changed).

The runner wraps the step's execution in ``observe``; afterwards ``trace_of`` turns
what was seen into probes (``wfnb.cache.probes``) and ``effects_of`` into the changes to
replay on a hit (``wfnb.cache.effects``). Things that cannot be traced (a program run,
a helper that reads ``globals()``) make the trace untrusted: such a step runs every
time, and its status line says why in a few words.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from wfnb.cache import libsettings, localmodules, patches, probes, randomness
from wfnb.cache.codeorigin import is_user_module
from wfnb.cache.effects import _DELETED, Effects, ProcessState, difference
from wfnb.cache.watch import FileUse, Watch
from wfnb.cache.whilerunning import watching

_MAX_UNTRACEABLE = 3  # reasons shown in the status line


@dataclass
class Observation:
    """What was seen around one run of a step."""

    before: ProcessState
    watch: Watch
    draws: randomness.StepDraws
    modules_before: set[str] = field(default_factory=set)
    after: ProcessState | None = None
    fresh_modules: set[str] = field(default_factory=set)


@contextmanager
def observe(namespace: dict[str, Any], boundary: types.FrameType, ignored_roots: tuple[str, ...] = ()) -> Iterator[Observation]:
    """Snapshot the process, watch the block run, snapshot again."""
    localmodules.install()
    randomness.install()
    before = ProcessState.now()
    loaded = set(sys.modules)
    with watching(namespace, boundary=boundary, ignored_roots=ignored_roots + _quiet_roots()) as watch, randomness.StepDraws() as draws:
        observation = Observation(before, watch, draws, loaded)
        yield observation
    observation.after = ProcessState.now()
    observation.fresh_modules = set(sys.modules) - loaded


def trace_of(observation: Observation, namespace: dict[str, Any], touched: frozenset[str], bound: set[str], named: tuple[str, ...] = ()) -> probes.Trace:
    """The probes of a run: what it read, listed, imported (and looked for) and drew from, as it found them.

    ``named`` are the files the code names (a path in a string): read, as far as
    anyone can tell, unless the run wrote them first, even by compiled code no
    hook sees.
    """
    watch, before = observation.watch, observation.before
    for path in named:
        watch.files.setdefault(os.path.abspath(path), FileUse("read"))
    untraceable = [f"it runs a program ({command})" for command in dict.fromkeys(watch.programs)]
    untraceable += [f"it runs its own code in other processes ({pool}), where what that code reads cannot be traced" for pool in watch.workers]
    untraceable += [f"it reads from a server ({address}), whose answers cannot be traced" for address in watch.servers]
    after = observation.after
    if after is not None and after.log_handlers != before.log_handlers:
        untraceable.append("it changes logging's handlers (logging.basicConfig), which cannot be stored")
    trace = probes.Trace(untraceable=untraceable[:_MAX_UNTRACEABLE])
    stats = [p for p in watch.stats if p not in watch.files and p not in watch.removed and p not in watch.trees]
    if watch.files or watch.listings or watch.globs or watch.trees or stats:
        trace.add("cwd", "", before.cwd)
    for path, use in sorted(watch.files.items()):
        if use.first == "read":
            trace.add("file", path, use.read_digest or probes.observe("file", path, namespace))
    for path in sorted(stats):
        trace.add("stat", path, probes.observe("stat", path, namespace))
    for path in sorted(watch.trees):
        trace.add("tree", path, probes.observe("tree", path, namespace))
    for path in sorted(watch.listings):
        trace.add("folder", path, probes.observe("folder", path, namespace))
    for pattern, root, recursive in sorted(watch.globs):
        what = json.dumps([pattern, root, recursive])
        trace.add("glob", what, probes.observe("glob", what, namespace))
    for path, use in sorted(watch.files.items()):
        if use.first == "write" and not _replayed_append(watch, path):
            trace.add("wrote", path, probes.observe("wrote", path, namespace))
    for path in sorted(watch.removed):
        trace.add("wrote", path, probes.ABSENT)
    for folder, names in sorted(watch.lookups.items()):  # the working directory as "": what '' on sys.path means
        what = json.dumps(["" if folder == before.cwd else folder, sorted(names)])
        trace.add("lookup", what, probes.observe("lookup", what, namespace))
    for key in sorted(watch.environ):
        trace.add("env", key, probes.text_digest(before.environ.get(key)))
    if watch.whole_environ:
        trace.add("environ", "", probes.environ_digest(before.environ))
    for name in sorted(set(watch.evaluated) - bound):
        trace.add("global", name, probes.observe("global", name, namespace))
    for what, resolved in watch.upstream.items():  # results of other workflows: re-resolved on every hit
        trace.add("variant", what, resolved)
    _add_modules(trace, observation)
    _add_random(trace, observation)
    used = set(touched) | {name.partition(".")[0] for name in observation.fresh_modules}
    for library in libsettings.LIBRARIES:
        if library in used:
            trace.add("settings", library, libsettings.digest_of(library, before.settings.get(library)))
    return trace


def _add_modules(trace: probes.Trace, observation: Observation) -> None:
    """Every user module imported on the way, as the run found it, and the libraries it pulled in."""
    from wfnb.cache.hashing import module_version

    imported = set(observation.watch.imported) | observation.fresh_modules
    user = set()
    packages = set()
    for name in imported:
        module = sys.modules.get(name)
        if isinstance(module, types.ModuleType) and is_user_module(module):
            user.add(name)
        elif module is not None:
            packages.add(name.partition(".")[0])
    for name in sorted(localmodules.used_modules(user)):
        state = localmodules.module_state(name)
        if name in observation.fresh_modules or name not in observation.before.modules:
            state = f"{localmodules.source_state(name)}/{localmodules.PRISTINE}"
        else:
            fresh = localmodules.fresh_digests(name) or {}
            state = f"{localmodules.source_state(name)}/{localmodules.changed_digest(fresh, observation.before.modules[name])}"
        trace.add("module", name, state)
    for package in sorted(packages - {"wfnb", "__main__"} - sys.stdlib_module_names):  # the stdlib goes with Python
        version = module_version(package)
        if version:
            trace.add("package", package, version)


def _add_random(trace: probes.Trace, observation: Observation) -> None:
    """A step that drew from a global generator without seeding it first depends on the state it found."""
    after = observation.after
    if after is None:
        return
    for generator, state in (("random", after.random), ("numpy", after.numpy_random)):
        if state is not None and observation.draws.depended_on(generator, state):
            trace.add("rng", generator, observation.draws.found(generator))


def effects_of(observation: Observation, source: str, namespace: dict[str, Any]) -> Effects:
    """What the run changed outside its variables, with the new values."""
    assert observation.after is not None
    effects = difference(observation.before, observation.after, fresh_modules=observation.fresh_modules)
    effects.appended = appended_lines(observation.watch)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return effects
    noted = {(cls, attribute) for cls, attribute, _ in effects.classes}
    for cls, attribute in patches.note_tree(tree, namespace):
        if (cls, attribute) not in noted:
            effects.classes.append((cls, attribute, vars(cls).get(attribute, _DELETED)))
    return effects


_MAX_APPENDED = 16 << 20  # bytes appended to one file that a hit writes again; past it, the file is an output


def _replayed_append(watch: Watch, path: str) -> bool:
    return path in watch.appended and _replayable_start(watch, path) is not None


def _replayable_start(watch: Watch, path: str) -> int | None:
    """Where what the step appended to ``path`` begins, if a hit can append it again (None if not)."""
    start = watch.appended[path]
    try:
        return start if 0 <= os.path.getsize(path) - start <= _MAX_APPENDED else None
    except OSError:
        return None


def appended_lines(watch: Watch) -> dict[str, bytes]:
    """What the step appended to files it opened to append (a log, a results table): a hit appends
    it again, as a run would, instead of leaving the file as it found it."""
    added = {}
    for path in watch.appended:
        start = _replayable_start(watch, path)
        if start is None:
            continue
        try:
            with open(path, "rb") as handle:
                handle.seek(start)
                added[path] = handle.read()
        except OSError:
            continue
    return added


def _quiet_roots() -> tuple[str, ...]:
    """Folders whose files are the tools' own (IPython, Jupyter, matplotlib's font cache, wfnb's
    read cache), never a step's data. Other caches (a dataset library's) are followed like any file."""
    home = os.path.expanduser("~")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    roots = [os.path.join(home, ".ipython"), os.path.join(home, ".jupyter"), os.path.join(home, ".local", "share", "jupyter")]
    roots += [os.path.join(cache, tool) for tool in ("matplotlib", "fontconfig", "wfnb")]
    roots.append(os.path.join(home, ".config", "matplotlib"))
    for variable in ("IPYTHONDIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "MPLCONFIGDIR", "WFNB_CACHE_DIR"):
        if os.environ.get(variable):
            roots.append(os.environ[variable])
    return tuple(roots)
