"""The browser's replays and sweeps run here, in a process of their own: ``python -m wfnb.frontends.browser.worker``.

Why a process, not a thread of the kernel: a step's output capture replaces
``sys.stdout`` and the shell's display hooks for the whole process, so a replay
in a thread would swallow what the notebook's own cells print meanwhile (and
the user's code would compete with the notebook for the GIL). A process also
stops at once when cancelled, even inside a long C call, and the store stays
consistent: every write is a temporary file renamed into place.

Tasks come as JSON objects on stdin, one a line; progress goes to stdout as one
JSON object per line (``step``, ``point``, then ``done`` or ``failed``). The
process then waits for the next task: the kernel keeps one worker warm
(``jobs``), so that a replay does not pay for starting Python and importing
IPython, wfnb and the steps' libraries each time. A task's ``environ`` and
``cwd`` are the kernel's when it was sent, applied before it runs; a ``warm``
task only imports its ``imports``. Before each task the worker checks the
user's modules it has imported: if one was edited on disk since, it answers
``stale`` and exits, and the kernel starts a fresh worker for the task (a
replay must run the code on disk, as a new process would).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from wfnb.cache.execution import format_user_traceback
from wfnb.errors import StepFailed, WfnbError


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # anything else printed must not break the event stream

    def emit(event: str, **fields: Any) -> None:
        sys.stderr.flush()  # what the task printed belongs to it: before its last event
        out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        out.flush()

    _warm_up()
    for line in sys.stdin:
        if not line.strip():
            continue
        task = json.loads(line)
        if task["kind"] == "warm":
            from wfnb.history.workers import preimport

            preimport(task.get("imports", ()))
            continue
        _take_context(task)
        stale = _edited_modules()
        if stale:
            emit("stale", modules=stale)
            return 0
        run(task, emit)
    return 0


def _warm_up() -> None:
    """What every task needs, imported while the worker waits for its first one."""
    import wfnb.history.determinism
    import wfnb.history.replay  # noqa: F401 - imported while idle, so that the first task does not wait for it
    from wfnb.history.workers import record_like_a_kernel

    record_like_a_kernel()


def _edited_modules() -> list[str]:
    """The user modules this worker imported whose file has changed, or which would now come from another file."""
    import importlib.machinery
    import os

    from wfnb.cache import localmodules

    names = list(localmodules.loaded_names())
    moved = []
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if "." in name or not file:
            continue
        spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
        if spec is None or spec.origin is None or os.path.realpath(spec.origin) != os.path.realpath(file):
            moved.append(name)
    return sorted(set(localmodules.edited_since_loaded(names)) | set(moved))


def _take_context(task: dict[str, Any]) -> None:
    """The kernel's environment variables and folder at the time of the task, as a new process would have them."""
    import os

    from wfnb.history.workers import take_context

    take_context(task.get("environ") or dict(os.environ), task.get("cwd") or os.getcwd())


def run(task: dict[str, Any], emit: Any) -> None:
    """One task, reported through ``emit`` up to its ``done`` or ``failed`` event."""
    try:
        variant = _open(task)
        if task["kind"] == "replay":
            _replay(variant, task["params"], emit)
        elif task["kind"] == "check":
            _check(variant, emit)
        else:
            _sweep(variant, task["grid"], task.get("backend", "loky"), task.get("n_jobs"), emit)
    except StepFailed as failure:
        step = _failed_step(failure)
        emit("failed", message=str(failure), detail=user_traceback(failure, step), step=step)
    except WfnbError as error:
        emit("failed", message=str(error), detail="", step="")
    except Exception as error:  # noqa: BLE001 - wfnb's own bug: the worker stays, the kernel is told
        emit("failed", message=f"The worker failed: {type(error).__name__}: {error}", detail=format_user_traceback(error), step="")


def _open(task: dict[str, Any]) -> Any:
    """The variant, in a shell like the notebook's (inline figures are recorded as the notebook records them)."""
    from wfnb.history.snapshots import load_variant
    from wfnb.store import open_store, settings

    settings.configure(storage_options=task.get("storage_options"), cache_dir=task.get("cache_dir"))
    store = open_store(task["store"], create=False)
    variant = load_variant(store, task["workflow"], task["number"])
    from wfnb.history.workers import preimport, step_imports

    preimport(step_imports(variant))
    return variant


def _replay(variant: Any, params: dict[str, Any], emit: Any) -> None:
    from wfnb.history.replay import replay

    def progress(report: Any) -> None:
        emit("step", step=report.step, cached=bool(report.parts and report.parts[0] == "cached"), text=" · ".join(report.details()))

    made = replay(variant, progress=progress, **params)
    emit("done", variants=[made.number])


def _check(variant: Any, emit: Any) -> None:
    from wfnb.history.determinism import check_variant

    def progress(check: Any) -> None:
        emit("step", step=check.step, cached=False, text=check.lines()[0].split(": ", 1)[-1], verdict=check.verdict)

    report = check_variant(variant, progress=progress)
    emit("done", variants=[variant.number], nondeterministic=report.nondeterministic, failed=report.failed,
         unchecked=report.unchecked, ok=report.ok, summary=report.summary())


def _sweep(variant: Any, grid: dict[str, list[Any]], backend: str, n_jobs: int | None, emit: Any) -> None:
    from wfnb.history.sweeps import grid_points, sweep
    from wfnb.store import changes

    total = len(grid_points(grid, variant.params))
    marker = f"workflows/{variant.workflow}/variants"  # what a sweep announces per finished point
    done = [0]

    def on_point(root: str, ref: str) -> None:
        if ref == marker:
            done[0] += 1
            emit("point", done=done[0], total=total)

    changes.subscribe(on_point)
    try:
        frame = sweep(variant, grid, backend=backend, n_jobs=n_jobs, progress=False)
    finally:
        changes.unsubscribe(on_point)  # the worker lives on: the next sweep counts its own points
    numbers = [int(str(name).lstrip("v")) for name in frame["variant"] if isinstance(name, str)]
    errors = [str(e) for e in frame["error"] if isinstance(e, str)] if "error" in frame else []
    emit("done", variants=numbers, failed_points=len(errors), first_error=errors[0] if errors else "")


def _failed_step(failure: StepFailed) -> str:
    """The step named in "replay of demo/v1: step smooth failed (…)"."""
    _, found, rest = str(failure).partition("step ")
    return rest.split(" ", 1)[0] if found else ""


def user_traceback(error: BaseException, step: str) -> str:
    """The traceback of the user's own exception behind a failed step (chained to wfnb's error)."""
    cause: BaseException | None = error
    while cause is not None and isinstance(cause, WfnbError):
        cause = cause.__cause__ or cause.__context__
    return format_user_traceback(cause, step).rstrip("\n") if cause is not None else ""


if __name__ == "__main__":
    raise SystemExit(main())
