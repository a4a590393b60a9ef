"""The browser's replays and sweeps run here, in a process of their own: ``python -m wfnb.frontends.browser.worker``.

Why a process, not a thread of the kernel: a step's output capture replaces
``sys.stdout`` and the shell's display hooks for the whole process, so a replay
in a thread would swallow what the notebook's own cells print meanwhile (and
the user's code would compete with the notebook for the GIL). A process also
stops at once when cancelled, even inside a long C call, and the store stays
consistent: every write is a temporary file renamed into place.

The task comes as one JSON object on stdin; progress goes to stdout as one
JSON object per line (``step``, ``point``, then ``done`` or ``failed``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from wfnb.cache.execution import format_user_traceback
from wfnb.errors import StepFailed, WfnbError


def main() -> int:
    task = json.loads(sys.stdin.read())
    out = sys.stdout
    sys.stdout = sys.stderr  # anything else printed must not break the event stream

    def emit(event: str, **fields: Any) -> None:
        out.write(json.dumps({"event": event, **fields}, default=str) + "\n")
        out.flush()

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
    return 0


def _open(task: dict[str, Any]) -> Any:
    """The variant, in a shell like the notebook's (inline figures are recorded as the notebook records them)."""
    from wfnb.history.snapshots import load_variant
    from wfnb.history.workers import record_like_a_kernel
    from wfnb.store import open_store, settings

    settings.configure(storage_options=task.get("storage_options"), cache_dir=task.get("cache_dir"))
    record_like_a_kernel()
    store = open_store(task["store"], create=False)
    return load_variant(store, task["workflow"], task["number"])


def _replay(variant: Any, params: dict[str, Any], emit: Any) -> None:
    from wfnb.history.replay import replay

    def progress(report: Any) -> None:
        emit("step", step=report.step, cached=bool(report.parts and report.parts[0] == "cached"), text=" · ".join(report.parts))

    made = replay(variant, progress=progress, **params)
    emit("done", variants=[made.number])


def _check(variant: Any, emit: Any) -> None:
    from wfnb.history.determinism import check_variant

    def progress(check: Any) -> None:
        emit("step", step=check.step, cached=False, text=check.lines()[0].split(": ", 1)[-1], verdict=check.verdict)

    report = check_variant(variant, progress=progress)
    emit("done", variants=[variant.number], nondeterministic=report.nondeterministic, summary=str(report).splitlines()[0])


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
    frame = sweep(variant, grid, backend=backend, n_jobs=n_jobs, progress=False)
    numbers = [int(str(name).lstrip("v")) for name in frame["variant"]]
    emit("done", variants=numbers)


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
