"""Sweeps and background replays: what running a variant's steps in other processes costs.

A sweep of 8 points (``wfnb.sweep``, loky, 2 workers) is timed against
``joblib.Parallel`` running the same model function over the same 8 values on
the same reusable loky executor: the difference is what wfnb adds per point
(opening the store, keys, storing each point's outputs and variant). A
background replay (the browser's Replay: a job in the kernel's warm worker
process) is timed against the same replay run in this process, as a kernel
would run it; and a replay that fails at its first step, from its start to
the error being reported. Every timed run uses parameter values not seen
before, so that nothing is restored from the cache.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from typing import Any

from benchmarks import peers
from benchmarks.harness import Context, Subject, environ, ms, ratio

SWEEP = "Sweep: 8 points of a model step, 2 loky workers"
REPLAY = "Background replay (the browser's Replay, in a worker process)"
POINTS = 8
JOBS = 2

NOTEBOOK = [
    "%%params\nalpha = 1.0\nseed = 0",
    "%%step setup\nimport numpy as np",
    # the body of peers.fit_ridge, as a step; the data is dropped as the function drops it
    "%%step fit\nrng = np.random.default_rng(seed)\nx = rng.normal(size=(ROWS, 40))\n"
    "y = x @ np.arange(40.0) + rng.normal(size=ROWS)\n"
    "coef = np.linalg.solve(x.T @ x + alpha * np.eye(40), x.T @ y)\n"
    "mse = float(((x @ coef - y) ** 2).mean())\ndel x, y, rng\nwfnb.log(mse=mse)",
]


def run(ctx: Context) -> None:
    rows = 20_000 if ctx.sizes.label == "smoke" else 400_000
    with _notebook(ctx, rows) as variant:
        _sweep(ctx, variant, rows)
        _replay(ctx, variant)


@contextlib.contextmanager
def _notebook(ctx: Context, rows: int) -> Iterator[Any]:
    """The notebook run once in a real InteractiveShell; its variant."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    from traitlets.config import Config

    import wfnb

    config = Config()
    config.HistoryManager.enabled = False
    with environ(IPYTHONDIR=str(ctx.scratch / "ipython-sweeps")):
        shell = InteractiveShell.instance(config=config)
        try:
            with capture_output():
                shell.run_line_magic("load_ext", "wfnb")
                for cell in [f"%wfnb store {ctx.scratch / 'sweep-store'}", "import wfnb", f"ROWS = {rows}", *NOTEBOOK]:
                    result = shell.run_cell(cell, store_history=False)
                    if not result.success:
                        raise RuntimeError(f"benchmark cell failed: {cell!r}: {result.error_in_exec!r}")
            yield wfnb.variant("v1")
        finally:
            InteractiveShell.clear_instance()


_values = itertools.count(2)


def _fresh_alphas() -> list[float]:
    """Values never swept before: every point runs, none is restored."""
    return [float(next(_values)) for _ in range(POINTS)]


def _sweep(ctx: Context, variant: Any, rows: int) -> None:
    from joblib import Parallel, delayed

    import wfnb

    def sweep() -> None:
        table = wfnb.sweep(variant, grid={"alpha": _fresh_alphas()}, n_jobs=JOBS, progress=False)
        if len(table) != POINTS:
            raise RuntimeError(f"the sweep gave {len(table)} rows, not {POINTS}")

    def plain() -> None:
        Parallel(n_jobs=JOBS, backend="loky")(delayed(peers.fit_ridge)(alpha, rows) for alpha in _fresh_alphas())

    start = time.perf_counter()
    peers.fit_ridge(1.0, rows)
    one = time.perf_counter() - start
    wfnb_time, joblib_time = ctx.time_group(
        SWEEP,
        [
            Subject("`wfnb.sweep` (loky): 8 new points, each a variant", sweep, is_wfnb=True),
            Subject("`joblib.Parallel` (loky) over `fit_ridge` with the same 8 values", plain),
        ],
    )
    ctx.figure(SWEEP, "the model once, in this process (`fit_ridge`)", ms(one))
    per_point = (wfnb_time.median - joblib_time.median) / POINTS * JOBS
    ctx.note(
        SWEEP,
        f"Both run on joblib's reusable loky executor, warmed up before the timed rounds. What wfnb adds is "
        f"about {ms(max(per_point, 0))} per point and worker: opening the store, the steps' keys, restoring the "
        "shared `setup` step, storing the point's outputs, record and variant. All points start at once: every "
        "step that no swept parameter reaches is in the cache, so no first point needs to run alone to compute it.",
    )
    ctx.target(
        "A sweep of 8 points ≤ 1.3× `joblib.Parallel` over the same function",
        f"wfnb {ms(wfnb_time.median)}, joblib {ms(joblib_time.median)}",
        f"{ratio(wfnb_time, joblib_time):.2f}×",
        "≤ 1.3×",
        ratio(wfnb_time, joblib_time) <= 1.3,
        "Each point opens the store, keys its steps, restores the shared ones and stores its outputs, record "
        "and variant; a step that imports a module spends about 0.2-0.4 s per point scanning that module when "
        "its outputs are stored (`wfnb/cache/objectgraph.py`, `_scan`, walks a module's namespace).",
    )


def _replay(ctx: Context, variant: Any) -> None:
    from wfnb.frontends.browser import jobs
    from wfnb.history.replay import replay
    from wfnb.store import settings

    chosen = settings.current()

    def job(alpha: float, **more: Any) -> jobs.Job:
        task = {
            "kind": "replay", "store": str(variant._store().root), "workflow": variant.workflow, "number": variant.number,
            "storage_options": chosen.storage_options, "cache_dir": chosen.cache_dir, "params": {"alpha": alpha, **more},
        }
        return jobs.Job("replay", "benchmark", task, on_event=lambda j, e: None, on_end=lambda j: None).start().wait()

    def background() -> None:
        done = job(float(next(_values)))
        if done.state != "done":
            raise RuntimeError(f"the background replay {done.state}: {done.result or done.stderr[-2000:]}")

    def here() -> None:
        replay(variant, progress=lambda report: None, alpha=float(next(_values)))

    def failing() -> None:
        done = job(1.0, seed="not a seed")  # fails at once: the first line of step fit
        if done.state != "failed":
            raise RuntimeError(f"the failing replay ended {done.state}")

    jobs.stop_idle()
    start = time.perf_counter()
    background()
    cold = time.perf_counter() - start
    worker_time, kernel_time, failed_time = ctx.time_group(
        REPLAY,
        [
            Subject("background replay in the warm worker (a job, as the browser starts it)", background, is_wfnb=True),
            Subject("the same replay in this process (`wfnb.replay`), as the kernel runs it", here, is_wfnb=True),
            Subject("a replay failing at the first line of its step, until its error is reported", failing, is_wfnb=True),
        ],
    )
    ctx.figure(REPLAY, "the first background replay, starting its worker (no warm one)", ms(cold), is_wfnb=True)
    jobs.stop_idle()
    overhead = worker_time.median - kernel_time.median
    ctx.note(
        REPLAY,
        "The kernel keeps one worker process warm (started when the browser opens, handed back after every job), "
        "so a replay pays neither Python's start nor importing IPython, wfnb and the steps' libraries; the first "
        f"one, starting its worker, took {ms(cold)}.",
    )
    ctx.target(
        "A background replay's overhead over the same steps in the kernel < 2 s",
        f"worker {ms(worker_time.median)}, kernel {ms(kernel_time.median)}",
        f"{'+' if overhead >= 0 else '−'}{ms(abs(overhead))}",
        "< 2 s",
        overhead < 2.0,
        "The worker was not warm: see the first replay's time.",
    )
    ctx.target(
        "A replay failing at once reports the error within 2 s",
        f"median {ms(failed_time.median)}, max {ms(failed_time.max)}",
        f"{ms(failed_time.median)}",
        "< 2 s",
        failed_time.median < 2.0,
        "The worker was not warm.",
    )
