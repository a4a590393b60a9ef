"""What is in place only while a step runs: its watch, and wrappers for what raises no audit event.

Reads of ``os.environ``, ``os.stat`` looks (``os.path.exists``, ``getsize``,
``Path.exists``), the compiled readers that open files in C (pyarrow,
``numpy.fromfile``, polars, ``h5py.File``), the pools that send the notebook's code to other
processes, and the names an import looks for in each folder of ``sys.path``
are invisible to ``sys.addaudithook`` (which sees an import's whole listing of
a folder, not what it asked of it). Each is wrapped on entering a
step and unwrapped on leaving it, so that code outside steps never pays for
them; a module among these first imported during the step is wrapped as soon as
it is loaded. What they see goes to the step's ``Watch`` (``wfnb.cache.watch``).
"""

from __future__ import annotations

import functools
import glob
import importlib.machinery
import os
import re
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from wfnb.cache.codeorigin import is_library_module, is_user_file
from wfnb.cache.onimport import LoadedThen
from wfnb.cache.watch import FileUse, Watch, absolute_path, active, delegated, innermost


@contextmanager
def watching(namespace: dict[str, Any], *, boundary: types.FrameType | None, ignored_roots: tuple[str, ...] = ()) -> Iterator[Watch]:
    """Record what the code run inside the block does (see the module docstring).

    ``boundary`` is the frame that runs the block: frames below it are the step's
    code (and the libraries it calls), frames above it are wfnb and the kernel.
    """
    watch = Watch(namespace, ignored_roots=tuple(os.path.join(os.path.abspath(r), "") for r in ignored_roots))
    watch.boundary = boundary
    with ExitStack() as stack:
        stack.enter_context(_environ_reads(watch))
        stack.enter_context(_file_stats(watch))
        stack.enter_context(_library_wrappers(watch))
        stack.enter_context(_module_lookups(watch))
        stack.enter_context(_modules_from_files(watch))
        yield stack.enter_context(active(watch))


@contextmanager
def _modules_from_files(watch: Watch) -> Iterator[None]:
    """``importlib.util.spec_from_file_location``: a module loaded from a path the step gives is read
    like a file (its source may be read from a cached ``.pyc``, which opens no ``.py``)."""
    import importlib.util

    original = importlib.util.spec_from_file_location

    @functools.wraps(original)
    def spec_from_file_location(name: str, location: Any = None, *args: Any, **kwargs: Any) -> Any:
        if location is not None and innermost() is watch:
            watch.opened(location, "r", 0, sys._getframe(1))
        return original(name, location, *args, **kwargs)

    importlib.util.spec_from_file_location = spec_from_file_location  # put back on leaving
    try:
        yield
    finally:
        importlib.util.spec_from_file_location = original  # the step's wrapper, removed


@contextmanager
def _environ_reads(watch: Watch) -> Iterator[None]:
    """``os.environ[k]``, ``os.getenv(k)``, ``k in os.environ`` and iterating: who reads which variable."""
    environ_type = type(os.environ)
    saved = {name: environ_type.__dict__[name] for name in ("__getitem__", "__iter__") if name in environ_type.__dict__}
    original_getitem, original_iter = saved["__getitem__"], saved["__iter__"]

    def getitem(self: Any, key: Any) -> Any:
        if innermost() is watch:
            watch.read_environ(key, sys._getframe(1))
        return original_getitem(self, key)

    def iterate(self: Any) -> Any:
        if innermost() is watch:
            watch.read_environ(None, sys._getframe(1))
        return original_iter(self)

    environ_type.__getitem__ = getitem  # type: ignore[method-assign]  # for the step's duration: put back on leaving
    environ_type.__iter__ = iterate  # type: ignore[method-assign]  # for the step's duration: put back on leaving
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(environ_type, name, value)


_busy = threading.local()  # a wrapper's own bookkeeping (realpath calls os.lstat) is not the step's


@contextmanager
def _file_stats(watch: Watch) -> Iterator[None]:
    """``os.stat``/``os.lstat``, which ``os.path.exists``, ``getsize``, ``isfile`` and ``Path.exists``
    call: a step whose result depends on whether a file is there, or on its size, depends on it.
    On Python 3.10 ``Path.stat`` calls the ``os.stat`` its accessor took at import: wrapped there too."""
    saved = {(os, name): getattr(os, name) for name in ("stat", "lstat")}
    accessor = getattr(sys.modules.get("pathlib"), "_NormalAccessor", None)  # Python 3.10 only
    if accessor is not None and "stat" in vars(accessor):
        saved[(accessor, "stat")] = vars(accessor)["stat"]

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
            if not getattr(_busy, "on", False) and innermost() is watch and not isinstance(path, int):
                _busy.on = True
                try:
                    watch.statted(path, sys._getframe(1))
                except Exception:  # noqa: BLE001 - never break the user's code
                    pass
                finally:
                    _busy.on = False
            return original(path, *args, **kwargs)

        return stat

    for (owner, name), original in saved.items():
        setattr(owner, name, wrap(original) if owner is os else staticmethod(wrap(original)))
    try:
        yield
    finally:
        for (owner, name), original in saved.items():
            setattr(owner, name, original)


@contextmanager
def _module_lookups(watch: Watch) -> Iterator[None]:
    """``FileFinder.find_spec``, which looks for one module name in one folder of ``sys.path`` (or of a
    package): each name looked for in a user's folder (the working directory, a local package) is noted,
    found or not, so that a module file appearing there later that the import would have found re-runs
    the step, and no other file does."""
    finder = importlib.machinery.FileFinder
    original = finder.__dict__["find_spec"]

    def find_spec(self: Any, fullname: str, target: Any = None) -> Any:
        if innermost() is watch and isinstance(fullname, str):
            try:
                watch.looked_up(self.path or os.getcwd(), fullname.rpartition(".")[2])
            except Exception:  # noqa: BLE001 - an import must never fail for wfnb's sake
                pass
        return original(self, fullname, target)

    finder.find_spec = find_spec  # type: ignore[method-assign]  # for the step's duration: put back on leaving
    try:
        yield
    finally:
        finder.find_spec = original  # type: ignore[method-assign]  # for the step's duration: put back on leaving


# Readers that open files in compiled code, where no audit event is raised: (module, function).
_COMPILED_READERS = (
    ("pyarrow.parquet", "read_table"),
    ("pyarrow.parquet", "read_pandas"),
    ("pyarrow.parquet", "read_metadata"),
    ("pyarrow.parquet", "read_schema"),
    ("pyarrow.dataset", "dataset"),
    ("pyarrow.feather", "read_table"),
    ("pyarrow.feather", "read_feather"),
    ("pyarrow.csv", "read_csv"),
    ("pyarrow.json", "read_json"),
    ("pyarrow.orc", "read_table"),
    ("numpy", "fromfile"),
    *(
        ("polars", name)
        for name in (
            "read_csv", "read_parquet", "read_parquet_schema", "read_parquet_metadata", "read_ipc", "read_ipc_stream",
            "read_ipc_schema", "read_json", "read_ndjson", "read_lines", "read_avro", "read_excel", "read_ods", "read_delta",
            "scan_csv", "scan_parquet", "scan_ipc", "scan_ndjson", "scan_lines", "scan_delta",
        )
    ),
)
# Pools that send work to other processes: (module, class, methods). What the notebook's code
# reads there raises no event in this process, so a step that sends its own code there runs every time.
_PROCESS_POOLS = (
    ("multiprocessing.pool", "Pool", ("apply_async", "_map_async", "imap", "imap_unordered")),
    ("multiprocessing.process", "BaseProcess", ("start",)),
    ("concurrent.futures.process", "ProcessPoolExecutor", ("submit",)),
    ("joblib.externals.loky.process_executor", "ProcessPoolExecutor", ("submit",)),
)
# Pools that run work in threads of this process: the hooks see what that work opens, but no frame of
# the notebook's code is on those threads' stacks (``pool.map(pd.read_csv, files)``). Work the step
# hands to them is marked as done on its behalf.
_THREAD_POOLS = (("concurrent.futures.thread", "ThreadPoolExecutor", ("submit",)),)


@contextmanager
def _library_wrappers(watch: Watch) -> Iterator[None]:
    """The compiled readers and the process pools, wrapped while the step runs: those loaded now,
    and those the step loads (``pd.read_parquet`` imports ``pyarrow.parquet`` on its first call)."""
    restore: list[tuple[Any, str, Any]] = []

    def wrap_module(module_name: str) -> None:
        module = sys.modules.get(module_name)
        if module is None:
            return
        for name in (n for m, n in _COMPILED_READERS if m == module_name):
            original = getattr(module, name, None)
            if original is not None:
                setattr(module, name, _reader_wrapper(watch, original))
                restore.append((module, name, original))
        library = module_name.partition(".")[0]
        wrappers = [(p, lambda o: _pool_wrapper(watch, o, library)) for p in _PROCESS_POOLS]
        wrappers += [(p, lambda o: _thread_pool_wrapper(watch, o)) for p in _THREAD_POOLS]
        for _, class_name, method, make in (w for w in _OPENING_METHODS if w[0] == module_name):
            cls = getattr(module, class_name, None)
            original = cls.__dict__.get(method) if isinstance(cls, type) else None
            if original is not None:
                setattr(cls, method, make(watch, original))
                restore.append((cls, method, original))
        for (_, class_name, methods), wrap in (w for w in wrappers if w[0][0] == module_name):
            cls = getattr(module, class_name, None)
            for name in methods if isinstance(cls, type) else ():
                original = cls.__dict__.get(name)
                if original is not None:
                    setattr(cls, name, wrap(original))
                    restore.append((cls, name, original))

    for module_name in _WRAPPED_MODULES:
        wrap_module(module_name)
    finder = LoadedThen(_WRAPPED_MODULES, wrap_module)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for owner, name, original in reversed(restore):
            setattr(owner, name, original)


def _pool_wrapper(watch: Watch, original: Callable[..., Any], library: str) -> Callable[..., Any]:
    """Work sent to other processes: the notebook's code there (the work, or a pool's ``initializer``,
    which a worker process holds in its arguments) makes the step run every time; a library function
    sent there (``pool.map(np.load, paths)``) reads what it is handed: the files and folders named
    among the work's arguments are read by the step."""

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if innermost() is watch and library not in watch.workers and not _is_thread_pool(self):
            if original.__name__ == "_map_async" and len(args) > 1 and not hasattr(args[1], "__len__"):
                args = (args[0], list(args[1]), *args[2:])  # as Pool does first: its items can be looked at
            work = (getattr(self, "_target", None), getattr(self, "_args", None), getattr(self, "_kwargs", None), args, kwargs)
            if _carries_user_code(work):
                watch.workers.append(library)
            else:
                try:
                    for path in _strings_in((args, kwargs)):
                        _handed_path(watch, path)
                except Exception:  # noqa: BLE001 - never break the user's code
                    pass
        return original(self, *args, **kwargs)

    return wrapper


def _handed_path(watch: Watch, item: Any) -> None:
    """A str or path among work sent to a worker process that names a file or folder there now (the
    working directory and the folders above it name where the notebook is, not what it reads)."""
    try:
        text = os.fsdecode(os.fspath(item))
    except (TypeError, ValueError):
        return
    if not text or len(text) > 1024 or "\0" in text or "\n" in text or not os.path.exists(text):
        return
    target, here = os.path.abspath(text), os.getcwd()
    if target == here or here.startswith(os.path.join(target, "")):
        return
    _read_path(watch, text)


def _thread_pool_wrapper(watch: Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if innermost() is watch and watch.origin(sys._getframe(1)) == "user":
            fn = _on_behalf_of_step(fn)
        return original(self, fn, *args, **kwargs)

    return submit


def _on_behalf_of_step(fn: Callable[..., Any]) -> Callable[..., Any]:
    def work(*args: Any, **kwargs: Any) -> Any:
        with delegated():
            return fn(*args, **kwargs)

    return work


def _is_thread_pool(pool: Any) -> bool:
    """``multiprocessing.pool.ThreadPool`` and ``multiprocessing.dummy`` run in this process, where the hooks see."""
    return any(cls.__name__ in ("ThreadPool", "DummyProcess") for cls in type(pool).__mro__)


_MAX_VISITS = 400
_MAX_PATHS = 10_000  # strings looked at among the work sent to other processes


def _carries_user_code(root: Any) -> bool:
    """Whether work sent to another process holds the notebook's code (a function or an instance of a
    class from the notebook or a local module), looking through partials, batches and wrappers."""
    stack: list[tuple[Any, int]] = [(root, 0)]
    seen: set[int] = set()
    while stack and len(seen) < _MAX_VISITS:
        value, depth = stack.pop()
        if id(value) in seen or depth > 5:
            continue
        seen.add(id(value))
        if isinstance(value, (str, bytes, int, float, bool, type(None))):
            continue
        if isinstance(value, types.MethodType):
            stack.append((value.__func__, depth + 1))
            stack.append((value.__self__, depth + 1))
            continue
        if isinstance(value, types.FunctionType):
            if is_user_file(value.__code__.co_filename):
                return True
            continue
        if isinstance(value, functools.partial):
            stack.extend((item, depth + 1) for item in (value.func, value.args, value.keywords))
            continue
        if isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value[:100])
            continue
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in list(value.values())[:100])
            continue
        if isinstance(value, type):
            if not is_library_module(value.__module__):
                return True
            continue
        if not is_library_module(type(value).__module__):
            return True
        attributes = getattr(value, "__dict__", None)
        if isinstance(attributes, dict):
            stack.extend((item, depth + 1) for item in list(attributes.values())[:100])
    return False


def _strings_in(root: Any) -> list[Any]:
    """The strings and paths in work sent to another process (its arguments, batches, partials)."""
    found: list[Any] = []
    stack: list[tuple[Any, int]] = [(root, 0)]
    seen: set[int] = set()
    while stack and len(seen) < _MAX_VISITS and len(found) < _MAX_PATHS:
        value, depth = stack.pop()
        if isinstance(value, (str, bytes, os.PathLike)):
            found.append(value)
            continue
        if isinstance(value, (int, float, bool, type(None))) or id(value) in seen or depth > 5:
            continue
        seen.add(id(value))
        if isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value[:_MAX_PATHS] if not isinstance(item, (int, float)))
        elif isinstance(value, dict):
            stack.extend((item, depth + 1) for item in list(value.values())[:100])
        elif isinstance(value, functools.partial):
            stack.extend((item, depth + 1) for item in (value.args, value.keywords))
        elif not isinstance(value, (type, types.FunctionType, types.MethodType, types.ModuleType)):
            attributes = getattr(value, "__dict__", None)
            if isinstance(attributes, dict):
                stack.extend((item, depth + 1) for item in list(attributes.values())[:100])
    return found


def _reader_wrapper(watch: Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(source: Any = None, *args: Any, **kwargs: Any) -> Any:
        if watch.origin(sys._getframe(1)) == "user":
            for item in source if isinstance(source, (list, tuple)) else [source]:
                _read_path(watch, item)
        return original(source, *args, **kwargs)

    return wrapper


def _read_path(watch: Watch, item: Any) -> None:
    """A path a compiled reader was given: a file read, a folder read whole, or a pattern (polars
    expands ``data/*.csv``) whose matches are read and whose set of matches counts."""
    if not isinstance(item, (str, bytes, os.PathLike)):
        return
    target = absolute_path(item)
    if target is None or watch._ignored(target):
        return
    text = os.fsdecode(os.fspath(item))
    if glob.has_magic(text) and not os.path.exists(target):
        watch.globs[(text, os.getcwd(), "**" in text)] = None
        for match in glob.glob(text, recursive="**" in text):
            watch.files.setdefault(os.path.abspath(match), FileUse("read"))
    elif os.path.isdir(target):
        watch.trees[target] = None
    else:
        watch.files.setdefault(target, FileUse("read"))


def _h5py_file(watch: Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    """``h5py.File(path, mode)``: read (``r``), read then written (``r+``, ``a``), or written."""

    @functools.wraps(original)
    def __init__(self: Any, name: Any, mode: str = "r", *args: Any, **kwargs: Any) -> None:
        frame = sys._getframe(1)
        if innermost() is watch and isinstance(name, (str, bytes, os.PathLike)) and watch.origin(frame) == "user":
            if mode in ("r", "r+", "a") and os.path.exists(name):
                watch.opened(name, "r", 0, frame)
            if mode != "r":
                watch.opened(name, "w", 0, frame)
        original(self, name, mode, *args, **kwargs)

    return __init__


_SCANNED = re.compile(r"SCAN \[(.*?)(?:, \.\.\. \d+ other (?:sources|files))?\]")


def _lazy_collect(watch: Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    """``LazyFrame.collect``: the files its scans read, named in its plan. A plan that names only the
    first of several files (``[a.csv, ... 3 other sources]``) counts that file's folder whole."""

    @functools.wraps(original)
    def collect(self: Any, *args: Any, **kwargs: Any) -> Any:
        if innermost() is watch and watch.origin(sys._getframe(1)) == "user":
            try:
                plan = self.explain(optimized=False)
                for found in _SCANNED.finditer(plan):
                    for path in found.group(1).split(", "):
                        _read_path(watch, os.path.dirname(path) or "." if "other" in found.group(0) else path)
            except Exception:  # noqa: BLE001 - a query wfnb cannot read is still the user's to run
                pass
        return original(self, *args, **kwargs)

    return collect


# Readers that open a file when an object is made or a query runs: (module, class, method, wrapper).
# ``h5py.File(path)`` opens it in C; a polars query made with ``scan_*`` in one step may read its files
# in another, when it is collected.
_OPENING_METHODS: tuple[tuple[str, str, str, Callable[[Watch, Callable[..., Any]], Callable[..., Any]]], ...] = (
    ("h5py._hl.files", "File", "__init__", _h5py_file),
    ("polars.lazyframe.frame", "LazyFrame", "collect", _lazy_collect),
)
_WRAPPED_MODULES = (
    frozenset(m for m, _ in _COMPILED_READERS)
    | frozenset(m for m, _, _ in _PROCESS_POOLS)
    | frozenset(m for m, _, _ in _THREAD_POOLS)
    | frozenset(m for m, _, _, _ in _OPENING_METHODS)
)
