"""Sweeps: replay a variant over a grid of parameters, each point a variant, in parallel.

``wfnb.sweep(variant, grid={"window": [5, 10, 20]})`` replays the variant once
per point of the grid (``itertools.product`` of the lists) through joblib:
processes on this machine (``loky``), threads, or Dask workers (``dask``: an
existing ``dask.distributed.Client`` or a ``LocalCluster`` made for the sweep).
Every point runs against the same store, opened by its location in each worker,
so a local directory works for processes on one machine and an ``s3://`` store
for workers anywhere.

Cached steps are shared between points. When a step that no swept parameter
reaches is missing from the cache (``wfnb gc`` removed it), the first point
runs alone, so that this step is computed once and then restored by all the
others; otherwise all points start at once. Only the steps downstream of a
swept parameter run per point. Concurrent misses of one step (a repeated
point, a retried task) are harmless: their objects are write-once under their
content's name, and the record is replaced atomically by one of two equal
records.

A point in another process (loky, Dask) records what its steps show as the
notebook's kernel would (``wfnb.history.workers``); points in threads run in
this process and record their steps in turns (``replay.taking_turns``).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Literal

from wfnb.errors import BadArgument, StepFailed, WfnbError, api_boundary
from wfnb.store.changes import announce

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.history.snapshots import RecordedVariant

Backend = Literal["loky", "threading", "dask"]
_BACKENDS = ("loky", "threading", "dask")


@api_boundary
def sweep(
    workflow_or_variant: str | int | RecordedVariant,
    grid: Mapping[str, Sequence[Any]],
    *,
    backend: Backend = "loky",
    client: Any = None,
    n_jobs: int | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Replay a variant at every point of a parameter grid, in parallel; one row per point.

    A sweep answers "how do the metrics move with these parameters?" without
    editing the notebook: each point becomes a variant of the workflow (listed
    by ``wfnb.variants()`` and in the browser), computed only as far as the
    swept parameters reach.

    Parameters
    ----------
    workflow_or_variant
        A variant (``wfnb.variant("v3")``, ``"v3"``, a tag, ``"workflow/v3"``), or
        a workflow's name for its current variant.
    grid
        Parameter name → list of values; every combination is a point. Each
        name must be a parameter of the variant, each value plain JSON data.
    backend
        ``"loky"`` (processes on this machine, the default), ``"threading"``, or
        ``"dask"`` (needs ``pip install 'wfnb[dask]'``).
    client
        With ``backend="dask"``: a ``dask.distributed.Client`` to use. Without
        one, a ``LocalCluster`` bound to 127.0.0.1 is started and closed.
    n_jobs
        How many points run at once (joblib's ``n_jobs``; the size of the local
        cluster). Default: the number of CPUs, or 2 workers for a local cluster.
    progress
        Show a progress bar over the points (tqdm; a widget in a notebook).

    Returns
    -------
    pandas.DataFrame
        One row per point in grid order: ``variant``, then the parameters, then
        the metrics of the resulting variant. A point whose step failed does not
        stop the others: its ``variant`` is None and column ``error`` says why
        (the failure is also noted in the store, ``wfnb.history.attempts``).
    """
    import pandas as pd

    from wfnb.store import settings

    start = _resolve(workflow_or_variant)
    points = grid_points(grid, start.params)
    if backend not in _BACKENDS:
        raise BadArgument(f"backend={backend!r} is not one of {', '.join(map(repr, _BACKENDS))}.")
    if client is not None and backend != "dask":
        raise BadArgument(f"client= is for backend='dask', but backend={backend!r} was given. Pass backend='dask'.")
    store = start._store()
    _warn_if_modules_were_edited(start)
    chosen = settings.current()
    # Points in other processes record figures as the kernel does and import the steps' libraries first.
    from wfnb.history.workers import step_imports

    elsewhere = backend != "threading"  # threads run in this process, with its own shell (a kernel's)
    turns = None if elsewhere else threading.Lock()  # threads record their steps' output in turns (see replay)
    # loky's workers outlive a sweep (joblib reuses them), started with this process's environment of then:
    # each point takes the one of now (credentials, settings set since), as a new process would
    here = (dict(os.environ), os.getcwd()) if backend == "loky" else None
    task = (str(store.root), chosen.storage_options, chosen.cache_dir, start.workflow, start.number, elsewhere, step_imports(start), turns, here)
    bar = _progress_bar(len(points), start, progress)
    rows: list[dict[str, Any] | None] = [None] * len(points)
    try:
        with _parallel_backend(backend, client, n_jobs) as parallel:
            from joblib import delayed

            first = 1 if _shared_steps_missing(start, set(grid), store) else 0
            if first:  # the first point alone: it fills the cache for every step no swept parameter reaches
                for index, row in parallel(delayed(_run_point)(task, 0, points[0]) for _ in (0,)):
                    rows[index] = row
                    bar.update(1)
                    announce(store.root, f"workflows/{start.workflow}/variants")  # a worker's variant, for open browsers
            rest = (delayed(_run_point)(task, i, point) for i, point in enumerate(points) if i >= first)
            for index, row in parallel(rest):
                rows[index] = row
                bar.update(1)
                announce(store.root, f"workflows/{start.workflow}/variants")
    finally:
        bar.close()
    failed = [row for row in rows if row is not None and row.get("variant") is None]
    if failed:
        from wfnb.cache.execution import warn

        warn(
            f"{len(failed)} of {len(points)} points failed; their rows have no variant and say why in column "
            f"'error' (the first: {failed[0]['error']}). The browser lists them as failed rows."
        )
    return pd.DataFrame(rows)


def _shared_steps_missing(variant: RecordedVariant, swept: set[str], store: Any) -> bool:
    """Whether some step that no swept parameter reaches has no result in the cache (``wfnb gc`` removed it).

    A step is reached when it reads a swept parameter or a value that a reached
    step produced. Every point needs the others' results: one the cache lacks is
    computed by the first point alone and restored by the rest. A result stored
    as not restorable is computed by every point anyway, so it does not count.
    """
    reached: set[str] = set(swept)
    for step in variant.steps:
        if reached & (set(step.params) | set(step.inputs)):
            reached |= set(step.outputs)
        elif step.key and _missing(store, step.key):
            return True
    return False


def _missing(store: Any, key: str) -> bool:
    try:
        return store.read_record(key) is None
    except WfnbError:  # damaged: the first point will run the step again and say so
        return True


def _warn_if_modules_were_edited(variant: RecordedVariant) -> None:
    """Points run in other processes import local modules afresh: say so if this kernel runs older code."""
    from wfnb.cache import localmodules, probes
    from wfnb.cache.execution import warn

    names = {what for step in variant.steps for kind, what, _ in probes.probes_of(step.record) if kind == "module"}
    edited = localmodules.edited_since_loaded(names)
    if edited:
        warn(
            f"{', '.join(f'{name}.py' for name in edited)} changed on disk after this kernel imported it: "
            f"the sweep's points run the code on disk, {variant.name} was made with the code imported here. "
            "Restart the kernel (or importlib.reload the module) to compare like with like."
        )


def grid_points(grid: Mapping[str, Sequence[Any]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in order, without repeats; checks names and values."""
    from wfnb.history.params import as_parameter_type, check_param

    if not isinstance(grid, Mapping) or not grid:
        raise BadArgument(f"grid must be a non-empty dict of parameter → list of values, but {grid!r} was given.")
    unknown = sorted(set(grid) - set(params))
    if unknown:
        known = ", ".join(sorted(params)) or "none"
        raise BadArgument(f"The grid names {', '.join(unknown)}, which the variant does not have; its parameters: {known}.")
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise BadArgument(
                f"grid[{name!r}] = {values!r} is not a non-empty list of values; write e.g. grid={{{name!r}: [1, 2, 3]}}."
            )
        for value in values:
            check_param(name, value)
    # each value of its parameter's type: alpha=20 for alpha = 0.5 is 20.0, as in a replay
    typed = {name: [as_parameter_type("the sweep", name, value, params[name]) for value in values] for name, values in grid.items()}
    points, seen = [], set()
    for combination in itertools.product(*typed.values()):
        point = dict(zip(grid, combination))
        marker = repr(sorted(point.items()))
        if marker not in seen:
            seen.add(marker)
            points.append(point)
    return points


def _run_point(task: tuple[Any, ...], index: int, point: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """In a worker: open the store by its location, replay the variant with ``point``; its table row."""
    from wfnb.history.replay import replay, taking_turns
    from wfnb.history.snapshots import load_variant
    from wfnb.store import open_store, settings

    location, storage_options, cache_dir, workflow, number, elsewhere, imports, turns, here = task
    if elsewhere:
        from wfnb.history.workers import preimport, record_like_a_kernel, take_context

        if here is not None:
            take_context(*here)
        record_like_a_kernel()
        preimport(imports)
    settings.configure(storage_options=storage_options, cache_dir=cache_dir)
    store = open_store(location, create=False)
    start = load_variant(store, workflow, number)
    try:
        with taking_turns(turns) if turns is not None else nullcontext():
            result = replay(start, progress=_quiet, **point)
    except StepFailed as failure:  # noted in the store (attempts); the other points go on
        return index, {"variant": None, **point, **{k: v for k, v in start.params.items() if k not in point}, "error": str(failure)}
    row: dict[str, Any] = {"variant": result.name}
    params = {**point, **result.params}  # the swept parameters first, in the grid's order
    row.update({(f"param {k}" if k in row else k): v for k, v in params.items()})
    row.update({(f"metric {k}" if k in row else k): v for k, v in result.metrics.items()})
    return index, row


def _quiet(report: Any) -> None:
    """Replays in workers print nothing: the sweep's bar reports progress."""


def _resolve(target: str | int | RecordedVariant) -> RecordedVariant:
    from wfnb.history.session import find_variant, resolve_store
    from wfnb.history.snapshots import RecordedVariant, current_number, load_variant

    if isinstance(target, RecordedVariant):
        return target
    if isinstance(target, str) and "/" not in target:
        store = resolve_store(None, create=False)
        number = current_number(store, target)  # a damaged HEAD is reported, not guessed around
        if number is not None:
            return load_variant(store, target, number)
    return find_variant(target)


class _parallel_backend:
    """A joblib ``Parallel`` on the chosen backend; for Dask, with a client (and cluster) closed on exit."""

    def __init__(self, backend: Backend, client: Any, n_jobs: int | None) -> None:
        self.backend, self.client, self.n_jobs = backend, client, n_jobs
        self._owned: list[Any] = []
        self._config: Any = None

    def __enter__(self) -> Any:
        from joblib import Parallel, parallel_config

        if self.backend != "dask":
            return Parallel(n_jobs=self.n_jobs or -1, backend=self.backend, return_as="generator_unordered")
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise BadArgument(
                "backend='dask' needs dask.distributed, which is not installed. Install it with "
                "`pip install 'wfnb[dask]'`, or use backend='loky' for processes on this machine."
            ) from None
        client = self.client
        if client is None:
            cluster = LocalCluster(
                n_workers=self.n_jobs or 2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
            self._owned = [client, cluster]
        self._config = parallel_config(backend="dask", client=client)
        self._config.__enter__()
        jobs = self.n_jobs or max(1, len(client.scheduler_info().get("workers", {})))
        return Parallel(n_jobs=jobs, return_as="generator_unordered")

    def __exit__(self, *exc: object) -> None:
        if self._config is not None:
            self._config.__exit__(*exc)
        for owned in self._owned:
            owned.close()


def _progress_bar(total: int, start: RecordedVariant, shown: bool) -> Any:
    """tqdm's bar (a widget in a notebook, text in a terminal), or a silent stand-in."""
    if shown:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            pass
        else:
            return tqdm(total=total, desc=f"sweep {start.workflow}/{start.name}", unit="point")
    return _NoBar()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass
