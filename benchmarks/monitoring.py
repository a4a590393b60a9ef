"""The trace's probe: audit hooks (what wfnb uses) against ``sys.monitoring`` (Python 3.12+).

wfnb sees what a step does through ``sys.addaudithook`` (opens, listings, imports, programs)
and a few wrappers. Python 3.12 added ``sys.monitoring``, which can report every call, every
function start or every branch. This measures, on the Python that runs it, what each costs on
three kinds of code: one that calls a small function a million times, one that branches, one
that opens files; each figure is the best of several interleaved rounds, as a ratio to the same
code with no probe. The section it writes goes into docs/benchmarks.md (``make bench`` keeps it):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv-3.13/bin/python -m benchmarks.monitoring

The audit hook is measured last: Python cannot remove one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.browser import carried_section, write_section
from benchmarks.harness import load_average, machine

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- probe benchmark: written by python -m benchmarks.monitoring; make bench keeps it -->"
END = "<!-- end of the probe benchmark -->"
_CALLS = 1_000_000
_BRANCHES = 1_000_000
_OPENS = 20_000


def _small(x: int) -> int:
    return x + 1


def _calls() -> None:
    total = 0
    for _ in range(_CALLS):
        total = _small(total)


def _branches() -> None:
    total = 0
    for i in range(_BRANCHES):
        if i & 1:
            total += 1
        else:
            total -= 1


def _opens(path: str) -> Callable[[], None]:
    def opens() -> None:
        for _ in range(_OPENS):
            with open(path, "rb"):
                pass

    return opens


def _best(work: Callable[[], None], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(rounds: int) -> dict[str, dict[str, float]]:
    """Seconds per workload (calls, branches, opens) under each probe."""
    handle, path = tempfile.mkstemp()
    os.close(handle)
    workloads = {"calls": _calls, "branches": _branches, "opens": _opens(path)}
    results: dict[str, dict[str, float]] = {}
    results["no probe"] = {name: _best(work, rounds) for name, work in workloads.items()}
    if sys.version_info >= (3, 12):
        results.update(_monitoring(workloads, rounds))
    sys.addaudithook(_audit)
    results["audit hook (wfnb's)"] = {name: _best(work, rounds) for name, work in workloads.items()}
    os.remove(path)
    return results


def _audit(event: str, args: tuple) -> None:
    if event == "open":  # what wfnb's hook does for the events it follows: look at the caller's frame
        _ = sys._getframe(1).f_code.co_filename


def _monitoring(workloads: dict[str, Callable[[], None]], rounds: int) -> dict[str, dict[str, float]]:
    monitoring = sys.monitoring  # type: ignore[attr-defined]  # 3.12+
    tool = monitoring.PROFILER_ID
    monitoring.use_tool_id(tool, "wfnb-benchmark")
    seen: set[object] = set()
    results = {}
    try:
        def on_call(code: object, offset: int, called: object, arg0: object) -> None:
            seen.add(called)

        monitoring.register_callback(tool, monitoring.events.CALL, on_call)
        monitoring.set_events(tool, monitoring.events.CALL)
        results["sys.monitoring: every call"] = {name: _best(work, rounds) for name, work in workloads.items()}
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.CALL, None)

        def on_start(code: object, offset: int) -> object:
            seen.add(code)
            return monitoring.DISABLE  # once per function: which functions the code reached

        monitoring.register_callback(tool, monitoring.events.PY_START, on_start)
        timings = {}
        for name, work in workloads.items():
            def restarted(work: Callable[[], None] = work) -> None:
                monitoring.restart_events()
                monitoring.set_events(tool, monitoring.events.PY_START)
                work()
                monitoring.set_events(tool, 0)

            timings[name] = _best(restarted, rounds)
        results["sys.monitoring: each function's first start"] = timings
        monitoring.register_callback(tool, monitoring.events.PY_START, None)
    finally:
        monitoring.set_events(tool, 0)
        monitoring.free_tool_id(tool)
    return results


def render(results: dict[str, dict[str, float]], rounds: int, loads: tuple[str, str]) -> str:
    plain = results["no probe"]
    lines = [
        BEGIN,
        "## The trace's probe: audit hooks and sys.monitoring",
        "",
        f"Python {sys.version.split()[0]}, {machine().get('CPU', 'this machine')}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; best of {rounds} rounds each, as a ratio to the same code "
        f"with no probe (`python -m benchmarks.monitoring`). The workloads: {_CALLS:,} calls of a small function, "
        f"{_BRANCHES:,} branches, {_OPENS:,} opens of a file.",
        "",
        "| probe | calls | branches | opens |",
        "| --- | ---: | ---: | ---: |",
    ]
    for probe, timings in results.items():
        cells = [f"{timings[name] * 1000:.0f} ms" + ("" if probe == "no probe" else f" ({timings[name] / plain[name]:.2f}×)") for name in ("calls", "branches", "opens")]
        lines.append(f"| {probe} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "wfnb keeps the audit hook: it costs nothing on code that opens no file and little on code that opens many, "
        "and it sees what the step *did* (opens, listings, imports, programs) in every library, compiled or not. "
        "Reporting every call would cost a multiple of call-heavy code. Each function's first start (disabled after it) "
        "is nearly free, but says only which Python functions ran, not what they read; it is not needed for the trace, "
        "and Python 3.10 and 3.11 would still need the audit hook.",
        "",
        f"Load average before: {loads[0]}; after: {loads[1]} (a load above the core count makes every figure pessimistic).",
        END,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.monitoring", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    before = load_average()
    results = measure(args.rounds)
    section = render(results, args.rounds, (before, load_average()))
    write_section(args.out, section, BEGIN, END)
    print(section)
    return 0


__all__ = ["BEGIN", "END", "carried_section", "main", "measure"]

if __name__ == "__main__":
    raise SystemExit(main())
