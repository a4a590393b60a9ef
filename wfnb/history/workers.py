"""Processes that replay steps for a notebook: made to record what a kernel records, and warmed up.

A sweep's points (loky or Dask workers) and the browser's background replays
run a variant's steps in a process other than the kernel, and store what they
show. A kernel shows a figure through its IPython shell and matplotlib's inline
backend (ipykernel sets ``MPLBACKEND`` to it); a bare process has neither, and
the inline backend, finding no shell, prints ``Figure(700x300)`` instead. That
text would then be restored in a kernel in place of the figure. So a worker
gets the kernel's set-up: an IPython shell (no history database, no GUI loop)
and the inline backend, loaded when a step first imports matplotlib, which
then configures the shell's formatters exactly as in a kernel (PNG,
``bbox_inches='tight'``, the InlineBackend defaults). What a step shows then
goes through the same ``display`` → formatter → ``publish`` path as in the
kernel, where ``wfnb.cache.capture`` records it.

Starting Python and importing the step's libraries is most of what a short
replay costs in a new process; ``preimport`` imports them ahead of the first
step (in a warm worker, while it waits for work).
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"  # what ipykernel puts in MPLBACKEND
_setting_up = threading.Lock()
_WORKER_OWN = ("_NUM_THREADS", "_MAXIMUM_THREADS", "ENABLE_IPC")  # what joblib sets in each loky worker's environment


def record_like_a_kernel() -> Any:
    """Give this worker process an IPython shell and the inline backend, as a kernel has; the shell.

    Does nothing to a process that already has a shell (the threading backend
    runs in the caller's, which is then the notebook's own kernel).
    """
    from IPython.core.getipython import get_ipython

    with _setting_up:  # a Dask worker may run several points in threads
        shell = get_ipython()
        return shell if shell is not None else _kernel_like_shell()


@contextmanager
def recording_like_a_kernel() -> Iterator[Any]:
    """``record_like_a_kernel`` for a while: in a process with no shell (``wfnb replay --check`` in a
    terminal), the shell made and the matplotlib backend chosen go away afterwards, as they were."""
    from IPython.core.getipython import get_ipython

    if get_ipython() is not None:
        yield get_ipython()
        return
    saved = os.environ.get("MPLBACKEND")
    backend = sys.modules["matplotlib"].get_backend() if "matplotlib" in sys.modules else None
    try:
        yield record_like_a_kernel()
    finally:
        from IPython.core.interactiveshell import InteractiveShell

        InteractiveShell.clear_instance()
        if saved is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved
        if "matplotlib.pyplot" in sys.modules:
            pyplot = sys.modules["matplotlib.pyplot"]
            pyplot.close("all")
            pyplot.switch_backend(backend or "agg")


def _kernel_like_shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # a worker's cells are no one's history
    shell = InteractiveShell.instance(config=config)
    shell.enable_gui = lambda gui=None: None  # type: ignore[method-assign]  # no GUI event loop: the inline backend needs none
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    if "matplotlib" in sys.modules:  # imported before: it read MPLBACKEND already, so switch the backend now
        shell.enable_matplotlib("inline")
    return shell


def take_context(environ: dict[str, str], cwd: str) -> None:
    """Take the kernel's environment variables and folder of now, as a process started now would have them.

    A worker kept for the next task (the browser's, joblib's loky workers) was
    started with those of then; a step may read a variable or a relative path.
    """
    own = {name: value for name, value in os.environ.items() if name.endswith(_WORKER_OWN)}
    os.environ.clear()
    os.environ.update(environ)
    os.environ.update(own)  # joblib limits a worker's threads (OMP_NUM_THREADS, ...): no oversubscription
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    if os.path.realpath(cwd) != os.path.realpath(os.getcwd()):
        if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == os.path.realpath(os.getcwd()):
            sys.path[0] = cwd  # the folder it started in comes first: a new process would have this one
        os.chdir(cwd)
        importlib.invalidate_caches()


def step_imports(variant: RecordedVariant) -> list[str]:
    """The top-level modules the variant's steps imported when they ran (numpy, pandas, the user's own)."""
    names: list[str] = []
    for step in variant.steps:
        for name in step.record.get("imports", ()):
            top = str(name).split(".", 1)[0]
            if top not in names:
                names.append(top)
    return names


def preimport(names: Iterable[str]) -> None:
    """Import the installed libraries among ``names`` now, so the first step that needs them does not wait.

    The user's own modules are left for the steps to import: importing one runs
    the user's code, which must happen when and as the step does it.
    """
    for name in names:
        if name in sys.modules or not _installed(name):
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that fails to import fails its step, with the user's traceback
            pass


def _installed(name: str) -> bool:
    """A library of the environment (site-packages or the standard library), not a file of the user's."""
    import importlib.util
    import sysconfig

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    origin = getattr(spec, "origin", None) if spec is not None else None
    if origin in (None, "built-in", "frozen"):
        return spec is not None
    places = {sysconfig.get_path(key) for key in ("purelib", "platlib", "stdlib", "platstdlib")}
    return any(os.path.abspath(origin).startswith(os.path.abspath(place) + os.sep) for place in places if place)
