"""What a step did while it ran: the files it opened, the folders it listed, the modules it
imported, the names it read through ``eval``, the environment variables it read, the
programs it started.

Reading the cell cannot see a path built with an f-string, a file opened by a library,
or a helper reached through ``eval``; the running code can. Python's audit hooks
(``sys.addaudithook``) report every ``open``, listing, glob, import, ``exec`` and
subprocess without slowing the code between them, so a step's dependencies are
recorded from what it did. A few things raise no audit event (reads of
``os.environ``, ``os.stat`` looks, readers written in C, pools of other processes):
light wrappers installed only while a step runs report those to the same ``Watch``
(``wfnb.cache.whilerunning``).

Only what the step's own code caused counts: an event is the step's when the code
that raised it was called from the notebook's code or a local module (not from the
import machinery, nor from the kernel's other threads' library code). A listing is
held to a stricter rule (``Watch.listed``): the import system and libraries list
folders on their own behalf (``importlib.metadata`` lists every ``sys.path`` entry,
the working directory included, to find plugins), and a trace holding those
listings would re-run a step whenever any file appeared beside the notebook.
What an import asked of a folder is recorded instead, name by name
(``wfnb.cache.whilerunning``).
"""

from __future__ import annotations

import _collections_abc
import fnmatch
import genericpath
import glob
import itertools
import os
import pathlib
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from wfnb.cache.codehash import names_used
from wfnb.cache.codeorigin import is_user_file

Origin = Literal["user", "library", "import"]

# Modes of open() that write (any of these characters), and os.open flags that do.
_WRITE_MODES = frozenset("wax+")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# Python workers started by joblib/loky, multiprocessing or concurrent.futures run this
# process's code, not another program: they are not "a program the step ran".
_WORKER_MARKERS = ("multiprocessing", "loky", "joblib", "concurrent.futures", "distributed", "dask")
_MAX_COMMAND = 80  # characters of a command shown in the status line
_SYSTEM_ROOTS = ("/proc/", "/sys/", "/dev/")


@dataclass
class FileUse:
    """How a step used one path: first access decides whether it is an input or an output."""

    first: Literal["read", "write"]
    read_digest: str | None = None  # content before the step first wrote a file it had read


@dataclass
class Watch:
    """Everything one step did that its dependencies or effects depend on."""

    namespace: dict[str, Any]
    ignored_roots: tuple[str, ...] = ()
    boundary: types.FrameType | None = None  # frames from here down ran the step; above is wfnb
    files: dict[str, FileUse] = field(default_factory=dict)  # absolute path → use
    listings: dict[str, None] = field(default_factory=dict)  # absolute folders listed
    lookups: dict[str, dict[str, None]] = field(default_factory=dict)  # folder → module names imports looked for there
    trees: dict[str, None] = field(default_factory=dict)  # folders read whole by compiled readers
    globs: dict[tuple[str, str, bool], None] = field(default_factory=dict)  # (pattern, cwd, recursive)
    removed: dict[str, None] = field(default_factory=dict)
    imported: dict[str, None] = field(default_factory=dict)  # modules first imported during the step
    evaluated: dict[str, None] = field(default_factory=dict)  # notebook names read by eval/exec
    environ: dict[str, None] = field(default_factory=dict)  # variables read by the step's code
    whole_environ: bool = False  # the step's code iterated over os.environ
    programs: list[str] = field(default_factory=list)  # commands started
    servers: list[str] = field(default_factory=list)  # addresses connected to (a server's answers are not traced)
    workers: list[str] = field(default_factory=list)  # pools that ran the notebook's code in other processes
    stats: dict[str, None] = field(default_factory=dict)  # paths whose existence, kind or size was looked at
    temporary: set[str] = field(default_factory=set)  # files made by tempfile: not data
    appended: dict[str, int] = field(default_factory=dict)  # files opened to append → their size before
    upstream: dict[str, str] = field(default_factory=dict)  # results of other workflows it read: ref → what it resolved to
    uses: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)  # (workflow, number) → the outputs read
    thread: int = field(default_factory=threading.get_ident)
    _unwatched: set[str] = field(default_factory=set)  # library folders imports looked in

    # -- classification ---------------------------------------------------------

    def origin(self, frame: types.FrameType | None) -> Origin:
        """Who caused an event raised in ``frame``: the step's code, a library, or an import.
        In a thread doing work the step handed to a pool, the step's code is the one that asked."""
        while frame is not None and frame is not self.boundary:
            filename = frame.f_code.co_filename
            if filename.startswith("<frozen importlib"):
                return "import"
            if is_user_file(filename):
                return "user"
            frame = frame.f_back
        return "user" if getattr(_delegation, "depth", 0) else "library"

    def ignore_folder(self, path: Any) -> None:
        """A temporary folder the step made: what it puts there is not data."""
        target = absolute_path(path)
        if target is not None:
            self.ignored_roots = (*self.ignored_roots, os.path.join(target, ""))

    def _ignored(self, path: str) -> bool:
        if path.startswith(_SYSTEM_ROOTS) or "__pycache__" in path or path in self.temporary:
            return True
        return path.startswith(self.ignored_roots) or not is_user_file(path)

    # -- events -------------------------------------------------------------------

    def opened(self, path: Any, mode: Any, flags: Any, frame: types.FrameType | None) -> None:
        target = absolute_path(path)
        if target is None or self._ignored(target) or self.origin(frame) != "user":
            return
        writes = bool(_WRITE_MODES & set(mode)) if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        appends = "a" in mode if isinstance(mode, str) else bool((flags or 0) & os.O_APPEND)
        if appends and target not in self.appended and self.files.get(target, FileUse("read")).first == "read":
            self.appended[target] = os.path.getsize(target) if os.path.isfile(target) else 0
        use = self.files.get(target)
        if use is None:
            self.files[target] = FileUse("write" if writes else "read")
        elif writes and use.first == "read" and use.read_digest is None:
            from wfnb.cache.files import path_digest

            use.read_digest = path_digest(target)  # what was read, before this write replaces it
        self.removed.pop(target, None)

    def listed(self, path: Any, frame: types.FrameType | None) -> None:
        target = absolute_path(path if path not in (None, "", b"") else ".")
        if target is not None and not self._ignored(target) and self._asked_for(target, frame):
            self.listings[target] = None

    def _asked_for(self, folder: str, frame: types.FrameType | None) -> bool:
        """Whether the step's code asked for this listing: itself (``os.listdir``, ``glob``, ``Path.iterdir``
        in the cell or a helper), or through a library it handed the folder to (``load_files('data')``,
        ``shutil.copytree``). The import system's listings, and a library's on its own behalf (plugins
        found through ``importlib.metadata``, a font cache), are not the step's reading of the folder."""
        while frame is not None and _is_listing_code(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is None or frame is self.boundary:
            return False
        if is_user_file(frame.f_code.co_filename):
            return True
        outermost = frame
        while frame is not None and frame is not self.boundary:
            filename = frame.f_code.co_filename
            if filename.startswith("<frozen importlib"):
                return False
            if _is_path_search(filename):  # the folders of sys.path, unless this call was handed the folder
                while frame.f_back is not None and _is_path_search(frame.f_back.f_code.co_filename):
                    frame = frame.f_back
                return _handed_in(folder, frame)
            if is_user_file(filename):
                return _handed_in(folder, outermost)
            outermost = frame
            frame = frame.f_back
        return False

    def looked_up(self, folder: str, name: str) -> None:
        """An import looked for module ``name`` in ``folder`` (``wfnb.cache.whilerunning``)."""
        names = self.lookups.get(folder)
        if names is None:
            if folder in self._unwatched or self._ignored(os.path.join(folder, name)):  # site-packages, the stdlib
                self._unwatched.add(folder)
                return
            names = self.lookups[folder] = {}
        names[name] = None

    def globbed(self, pattern: Any, recursive: Any, root: Any, frame: types.FrameType | None) -> None:
        if not isinstance(pattern, (str, bytes)) or self.origin(frame) != "user":
            return
        base = absolute_path(root) if root is not None else os.getcwd()
        if base is not None:
            self.globs[(os.fsdecode(pattern), base, bool(recursive))] = None

    def moved(self, source: Any, target: Any, frame: types.FrameType | None) -> None:
        """``os.rename`` / ``os.replace``: the source is gone, the target written."""
        self.removed_path(source, frame)
        self.opened(target, "w", 0, frame)

    def removed_path(self, path: Any, frame: types.FrameType | None) -> None:
        target = absolute_path(path)
        if target is not None and not self._ignored(target) and self.origin(frame) == "user":
            self.removed[target] = None
            if self.files.get(target, FileUse("write")).first == "write":
                self.files.pop(target, None)

    def statted(self, path: Any, frame: types.FrameType | None) -> None:
        """A path the step's own code looked at (``os.path.exists``, ``Path.is_file``): a library's own
        looks (a font cache, a config file) are its business, like its reads of the environment."""
        while frame is not None and frame.f_code.co_filename in _STAT_FILES:
            frame = frame.f_back
        if frame is None or frame is self.boundary or not is_user_file(frame.f_code.co_filename):
            return
        target = absolute_path(path)
        if target is not None and target not in self.stats and not self._ignored(target):
            self.stats[target] = None

    def connected(self, address: Any, frame: types.FrameType | None) -> None:
        if self.origin(frame) != "user":
            return
        if isinstance(address, tuple) and len(address) >= 2:
            shown = f"{address[0]}:{address[1]}"
        else:
            shown = os.fsdecode(address) if isinstance(address, (str, bytes)) else "a socket"
        if shown not in self.servers:
            self.servers.append(shown)

    def started(self, command: str, frame: types.FrameType | None) -> None:
        if _system_query(command) and not _started_by_user_code(frame, self.boundary):
            return  # a library asking the machine about itself (joblib's lscpu): not the step's program
        if self.origin(frame) == "user" or frame is None:
            text = " ".join(command.split())
            self.programs.append(text if len(text) <= _MAX_COMMAND else text[: _MAX_COMMAND - 1] + "…")

    def evaluated_code(self, code: types.CodeType, frame: types.FrameType | None) -> None:
        """``eval``/``exec`` called by the notebook's code: the notebook names its code reads."""
        if frame is None or not is_user_file(frame.f_code.co_filename) or frame.f_globals is not self.namespace:
            return
        for name in names_used(code):
            if name in self.namespace:
                self.evaluated[name] = None

    def read_environ(self, key: Any, frame: types.FrameType | None) -> None:
        """A variable read by the step's own code (a library's reads, such as a terminal's width, are its own)."""
        while frame is not None and frame.f_code.co_filename in _ENVIRON_FILES:
            frame = frame.f_back
        if frame is None or frame is self.boundary or not is_user_file(frame.f_code.co_filename):
            return
        if key is None:
            self.whole_environ = True
        elif isinstance(key, str):
            self.environ[key] = None


def _code_files(*modules: types.ModuleType) -> frozenset[str]:
    """The names frames of these modules' code carry: the module's file, or since Python 3.11, for the
    modules frozen into the interpreter (os, posixpath, genericpath, _collections_abc...), ``<frozen os>``."""
    return frozenset(name for m in modules for name in (getattr(m, "__file__", None), f"<frozen {_spec_name(m)}>") if name)


def _spec_name(module: types.ModuleType) -> str:
    spec = getattr(module, "__spec__", None)  # _collections_abc calls itself collections.abc
    return getattr(spec, "name", None) or module.__name__


# The modules between a reader's code and os.environ: os.getenv, Mapping.get, `in`.
_ENVIRON_FILES = _code_files(os, _collections_abc)


# The modules between a caller and os.stat: os.path.exists/getsize/isfile, Path.exists/is_file
# (since Python 3.13 pathlib is a package: its Path's methods live in pathlib/_local.py and _abc.py).
# Their frames are named by their code's file name, which since Python 3.11 is ``<frozen genericpath>``
# (os, posixpath and genericpath are frozen into the interpreter), not the module's ``__file__``.
_STAT_FILES = frozenset(
    _code_files(os, os.path, genericpath, pathlib)
    | {f.__code__.co_filename for cls in pathlib.Path.__mro__ for f in vars(cls).values() if isinstance(f, types.FunctionType)}
)


# Programs libraries run to ask about the machine (CPU count, GPUs, fonts), whose answers are not data.
_SYSTEM_QUERIES = frozenset(
    {"lscpu", "nproc", "getconf", "sysctl", "uname", "nvidia-smi", "fc-list", "fc-match", "ldconfig", "sw_vers", "wmic"}
)
_PROCESS_FILES = _code_files(os, subprocess)


def _system_query(command: str) -> bool:
    words = command.split()
    return bool(words) and os.path.basename(words[0]) in _SYSTEM_QUERIES


def _started_by_user_code(frame: types.FrameType | None, boundary: types.FrameType | None) -> bool:
    """Whether the code that started a program is the notebook's own (not a library it called)."""
    while frame is not None and frame.f_code.co_filename in _PROCESS_FILES:
        frame = frame.f_back
    return frame is not None and frame is not boundary and is_user_file(frame.f_code.co_filename)


# The modules between a caller and a listing: os.listdir/scandir/walk, Path.iterdir/glob/rglob, glob.glob.
_LISTING_FILES = _code_files(os, glob, fnmatch, pathlib)
_LISTING_PACKAGE = os.path.join(os.path.dirname(pathlib.__file__), "") if hasattr(pathlib, "__path__") else None  # 3.13


def _is_listing_code(filename: str) -> bool:
    return filename in _LISTING_FILES or (_LISTING_PACKAGE is not None and filename.startswith(_LISTING_PACKAGE))


def _is_path_search(filename: str) -> bool:
    """Code that lists the ``sys.path`` folders unless given others (installed distributions, entry points,
    modules). Called by a library on its own behalf, what that library was handed (a regular expression such
    as scikit-learn's ``token_pattern``, which reads as a pattern of the working directory) says nothing of
    the listing: only what this code itself was handed (``iter_modules(['plugins'])``) does."""
    return filename.startswith(_PATH_SEARCH) or os.path.basename(os.path.dirname(filename)) in _PATH_SEARCH_PACKAGES


_PATH_SEARCH = tuple(os.path.join(os.path.dirname(os.__file__), name) for name in ("importlib" + os.sep + "metadata", "pkgutil.py"))
_PATH_SEARCH_PACKAGES = frozenset({"importlib_metadata", "pkg_resources"})
_MAX_HANDED = 50  # values of a library call's arguments looked at for a path
_MAX_PATH = 1024


def _handed_in(folder: str, frame: types.FrameType) -> bool:
    """Whether the library call ``frame`` (entered from the step's code) was handed ``folder``: among its
    arguments (or its object's attributes) a path that is the folder, one above it, or one in it."""
    local = frame.f_locals
    values = list(itertools.islice(local.values(), _MAX_HANDED))
    owner = getattr(local.get("self"), "__dict__", None)
    if isinstance(owner, dict):
        values += itertools.islice(owner.values(), _MAX_HANDED)
    for value in values:
        items = value if isinstance(value, (list, tuple)) else value.values() if isinstance(value, dict) else (value,)
        for item in itertools.islice(items, _MAX_HANDED):
            if isinstance(item, (str, bytes, os.PathLike)) and _covers(item, folder):
                return True
    return False


def _covers(value: str | bytes | os.PathLike, folder: str) -> bool:
    try:
        text = os.fsdecode(os.fspath(value))
    except (TypeError, ValueError):
        return False
    if not text or len(text) > _MAX_PATH or "\0" in text or "\n" in text:
        return False
    parts = text.split(os.sep)
    magic = next((i for i, part in enumerate(parts) if glob.has_magic(part)), None)
    base = os.sep.join(parts[:magic]) if magic is not None else text  # a pattern's folder part
    given = os.path.abspath(base or ".")
    if given == os.sep:
        return False  # a separator held by the library, not a folder handed to it
    if folder == given or folder.startswith(os.path.join(given, "")):
        return True  # the folder, or one below a folder handed in
    return os.path.dirname(given) == folder and (os.sep in text or magic is not None or os.path.lexists(given))


def absolute_path(path: Any) -> str | None:
    if isinstance(path, int) or path is None:
        return None
    try:
        return os.path.abspath(os.fsdecode(path))
    except (TypeError, ValueError):
        return None


# ---- the audit hook: installed once per process, active only while a step runs -------------------

_active: list[Watch] = []
_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    handler = _EVENTS.get(event)
    if handler is not None:
        watch = _active[-1]
        try:
            handler(watch, args, sys._getframe(1))
        except Exception:  # noqa: BLE001 - a hook must never break the user's code
            pass


def _on_subprocess(watch: Watch, args: tuple[Any, ...], frame: types.FrameType | None) -> None:
    executable, argv = args[0], args[1]
    words = [os.fsdecode(a) for a in (argv if isinstance(argv, (list, tuple)) else [argv]) if isinstance(a, (str, bytes, os.PathLike))]
    program = os.fsdecode(executable) if isinstance(executable, (str, bytes)) else (words[0] if words else "")
    if _is_python_worker(program, words):
        return
    watch.started(" ".join(words) or program, frame)


def _is_python_worker(program: str, words: list[str]) -> bool:
    if os.path.basename(program).startswith("python") or program == sys.executable:
        return any(marker in word for word in words[1:] for marker in _WORKER_MARKERS)
    return False


_EVENTS: dict[str, Callable[[Watch, tuple[Any, ...], Any], None]] = {
    "open": lambda w, a, f: w.opened(a[0], a[1], a[2], f),
    "os.listdir": lambda w, a, f: w.listed(a[0], f),
    "os.scandir": lambda w, a, f: w.listed(a[0], f),
    "glob.glob/2": lambda w, a, f: w.globbed(a[0], a[1], a[2], f),
    "os.remove": lambda w, a, f: w.removed_path(a[0], f),
    "os.rename": lambda w, a, f: w.moved(a[0], a[1], f),
    "os.replace": lambda w, a, f: w.moved(a[0], a[1], f),
    "shutil.rmtree": lambda w, a, f: w.removed_path(a[0], f),
    "import": lambda w, a, f: w.imported.__setitem__(a[0], None) if isinstance(a[0], str) else None,
    # unpickling an object of a class from a local module runs that module's code: it is used like an import
    "pickle.find_class": lambda w, a, f: w.imported.__setitem__(a[0], None) if isinstance(a[0], str) else None,
    "exec": lambda w, a, f: w.evaluated_code(a[0], f) if isinstance(a[0], types.CodeType) else None,
    "subprocess.Popen": _on_subprocess,
    "socket.connect": lambda w, a, f: w.connected(a[1], f),
    "os.system": lambda w, a, f: w.started(os.fsdecode(a[0]), f),
    "os.exec": lambda w, a, f: w.started(" ".join(os.fsdecode(x) for x in a[1]) if a[1] else os.fsdecode(a[0]), f),
    "os.posix_spawn": lambda w, a, f: w.started(" ".join(os.fsdecode(x) for x in a[1]) if a[1] else os.fsdecode(a[0]), f),
    "os.spawn": lambda w, a, f: w.started(" ".join(os.fsdecode(x) for x in a[2]) if a[2] else os.fsdecode(a[1]), f),
    "os.forkpty": lambda w, a, f: w.started("a shell command", f),
    # a database file is read (and maybe written) by compiled code: its content is what the step read
    "sqlite3.connect": lambda w, a, f: w.opened(a[0], "r", 0, f) if isinstance(a[0], (str, bytes, os.PathLike)) and a[0] not in (":memory:", "") else None,
    "tempfile.mkstemp": lambda w, a, f: w.temporary.add(os.path.abspath(a[0])),
    "tempfile.mkdtemp": lambda w, a, f: w.ignore_folder(a[0]),
}


_delegation = threading.local()  # depth > 0: this thread runs work a step handed to a thread pool


@contextmanager
def delegated() -> Iterator[None]:
    """Mark the block as work done in another thread on behalf of the running step."""
    _delegation.depth = getattr(_delegation, "depth", 0) + 1
    try:
        yield
    finally:
        _delegation.depth -= 1


def current() -> Watch | None:
    """The watch of the step running in this thread, if one is (``wfnb.history.upstream`` notes what it reads)."""
    watch = _active[-1] if _active else None
    return watch if watch is not None and watch.thread == threading.get_ident() else None


def install() -> None:
    """Add the audit hook (once per process: Python cannot remove one)."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


def innermost() -> Watch | None:
    """The watch of the innermost step running now, in any thread (what a wrapper reports to)."""
    return _active[-1] if _active else None


@contextmanager
def active(watch: Watch) -> Iterator[Watch]:
    """Make ``watch`` the one the audit hook and the wrappers report to, for the block."""
    install()
    _active.append(watch)
    try:
        yield watch
    finally:
        _active.remove(watch)
