"""What is in place only while a step runs: its watch, and wrappers for what raises no audit event.

Reads of ``os.environ``, ``os.stat`` looks (``os.path.exists``, ``getsize``,
``Path.exists``), the compiled readers that open files in C (pyarrow,
``numpy.fromfile``), the pools that send the notebook's code to other
processes, and the names an import looks for in each folder of ``sys.path``
are invisible to ``sys.addaudithook`` (which sees an import's whole listing of
a folder, not what it asked of it). Each is wrapped on entering a
step and unwrapped on leaving it, so that code outside steps never pays for
them; a module among these first imported during the step is wrapped as soon as
it is loaded. What they see goes to the step's ``Watch`` (``wfnb.cache.watch``).
"""

from __future__ import annotations

import functools
import importlib.machinery
import os
import sys
import threading
import types
from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterator

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

    importlib.util.spec_from_file_location = spec_from_file_location  # type: ignore[assignment]  # put back on leaving
    try:
        yield
    finally:
        importlib.util.spec_from_file_location = original  # type: ignore[assignment]  # the step's wrapper, removed


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

    environ_type.__getitem__ = getitem
    environ_type.__iter__ = iterate
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

    finder.find_spec = find_spec
    try:
        yield
    finally:
        finder.find_spec = original


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
_WRAPPED_MODULES = (
    frozenset(m for m, _ in _COMPILED_READERS) | frozenset(m for m, _, _ in _PROCESS_POOLS) | frozenset(m for m, _, _ in _THREAD_POOLS)
)


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
    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if innermost() is watch and library not in watch.workers and not _is_thread_pool(self):
            if _carries_user_code((getattr(self, "_target", None), args, kwargs)):
                watch.workers.append(library)
        return original(self, *args, **kwargs)

    return wrapper


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


def _carries_user_code(root: Any) -> bool:
    """Whether work sent to another process holds the notebook's code (a function or an instance of a
    class from the notebook or a local module), looking through partials, batches and wrappers."""
    stack, seen = [(root, 0)], set()
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


def _reader_wrapper(watch: Watch, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def wrapper(source: Any = None, *args: Any, **kwargs: Any) -> Any:
        if watch.origin(sys._getframe(1)) == "user":
            for item in source if isinstance(source, (list, tuple)) else [source]:
                target = absolute_path(item) if isinstance(item, (str, bytes, os.PathLike)) else None
                if target is not None and not watch._ignored(target):
                    if os.path.isdir(target):
                        watch.trees[target] = None
                    else:
                        watch.files.setdefault(target, FileUse("read"))
        return original(source, *args, **kwargs)

    return wrapper
