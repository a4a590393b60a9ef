"""Timing, results and machine facts shared by every workload family.

A workload family is a function ``run(ctx) -> None`` that measures wfnb and its
peers on the same data in the same process, and adds rows (what was measured)
and targets (the issue's ratios, each met or not) to ``ctx``. Timings are the
median, min and max of several repeats after a warm-up; sub-millisecond
operations are timed in batches, so that the clock's resolution does not count.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["met", "not met", "pending"]


@dataclass(frozen=True)
class Sizes:
    """How big each workload is: ``FULL`` is what the issue asks for, ``SMOKE`` keeps the code alive."""

    label: str
    array_n: int  # float64 values in "the 400 MB array"
    frame_rows: int  # rows of the mixed DataFrame
    strings_n: int  # object-dtype strings
    small_frame: tuple[int, int]  # the small DataFrame input
    records: int  # step records and run-log entries for the listing
    variants: int
    warmup: int
    repeats: int
    fast_batch: int  # calls per sample for sub-millisecond operations
    fast_samples: int


FULL = Sizes("full", 50_000_000, 8_000_000, 1_000_000, (1000, 5), 10_000, 1000, 1, 7, 20, 25)
SMOKE = Sizes("smoke", 100_000, 10_000, 70_000, (1000, 5), 30, 20, 1, 2, 2, 3)


@dataclass(frozen=True)
class Timing:
    """Seconds per operation: one sample per repeat."""

    samples: tuple[float, ...]
    batch: int = 1
    group: int | None = None  # timings of one interleaved group share it: sample i of each is round i

    def paired_with(self, other: Timing) -> bool:
        return self.group is not None and self.group == other.group

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)


@dataclass(frozen=True)
class Row:
    """One measured subject in a workload: a timing, or a plain figure (bytes, a count)."""

    workload: str
    subject: str
    timing: Timing | None = None
    figure: str | None = None
    note: str = ""
    is_wfnb: bool = False


@dataclass(frozen=True)
class Target:
    """One of the issue's targets, evaluated on figures measured in this run."""

    name: str
    measured: str  # e.g. "wfnb 21 ms vs arr.sum() 30 ms"
    ratio: str  # e.g. "0.70× (sum time / wfnb time)"
    goal: str  # e.g. "≥ 0.5"
    status: Status
    why: str = ""  # for a missed or pending target: why, and what would close it


@dataclass(frozen=True)
class Subject:
    """One thing to time in a group: wfnb or a peer, with its untimed per-call setup."""

    name: str
    fn: Callable[[], object]
    setup: Callable[[], object] | None = None
    is_wfnb: bool = False
    note: str = ""


@dataclass
class Context:
    """What the families share: sizes, a scratch directory, and the results so far."""

    sizes: Sizes
    scratch: Path
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    loads: list[tuple[str, str, str, float]] = field(default_factory=list)  # family, load before, after, seconds

    def time(
        self,
        workload: str,
        subject: str,
        fn: Callable[[], object],
        *,
        setup: Callable[[], object] | None = None,
        fast: bool = False,
        note: str = "",
        is_wfnb: bool = False,
    ) -> Timing:
        """Time ``fn`` (``setup`` runs untimed before each call) and record the row."""
        timing = measure(fn, self.sizes, setup=setup, fast=fast)
        self.rows.append(Row(workload, subject, timing, note=note, is_wfnb=is_wfnb))
        return timing

    def time_group(self, workload: str, subjects: list[Subject], *, fast: bool = False) -> list[Timing]:
        """Time several subjects in interleaved rounds and record their rows, in order.

        Each round times every subject once, starting from a different one each
        round, so that a change of load on the shared machine (or the disk's
        writeback of an earlier subject's file) falls on all of them alike.
        """
        timings = measure_group([(s.fn, s.setup) for s in subjects], self.sizes, fast=fast)
        for subject, timing in zip(subjects, timings):
            self.rows.append(Row(workload, subject.name, timing, note=subject.note, is_wfnb=subject.is_wfnb))
        return timings

    def figure(self, workload: str, subject: str, figure: str, note: str = "", is_wfnb: bool = False) -> None:
        self.rows.append(Row(workload, subject, figure=figure, note=note, is_wfnb=is_wfnb))

    def target(self, name: str, measured: str, ratio: str, goal: str, met: bool | None, why: str = "") -> None:
        status: Status = "pending" if met is None else ("met" if met else "not met")
        self.targets.append(Target(name, measured, ratio, goal, status, "" if met else why))

    def note(self, workload: str, text: str) -> None:
        self.notes.setdefault(workload, []).append(text)


def ratio(a: Timing, b: Timing) -> float:
    """How many times ``a`` takes ``b``'s time: the median of the per-round ratios when both were
    timed in the same interleaved rounds (load that comes and goes falls on both sides of each
    ratio), else the ratio of the medians."""
    if len(a.samples) == len(b.samples) and a.paired_with(b):
        return statistics.median(x / y for x, y in zip(a.samples, b.samples))
    return a.median / b.median


def measure(
    fn: Callable[[], object],
    sizes: Sizes,
    *,
    setup: Callable[[], object] | None = None,
    fast: bool = False,
) -> Timing:
    """Warm up, then time ``repeats`` calls (or ``fast_samples`` batches of ``fast_batch`` calls)."""
    batch = sizes.fast_batch if fast else 1
    count = sizes.fast_samples if fast else sizes.repeats
    for _ in range(sizes.warmup):
        if setup is not None:
            setup()
        fn()
    samples = []
    for _ in range(count):
        if setup is not None:
            setup()
        samples.append(_sample(fn, batch))
    return Timing(tuple(samples), batch)


_GROUPS = itertools.count()


def measure_group(
    calls: list[tuple[Callable[[], object], Callable[[], object] | None]],
    sizes: Sizes,
    *,
    fast: bool = False,
) -> list[Timing]:
    """Warm each call up, then time them in rounds, rotating which goes first."""
    batch = sizes.fast_batch if fast else 1
    count = sizes.fast_samples if fast else sizes.repeats
    for fn, setup in calls:
        for _ in range(sizes.warmup):
            if setup is not None:
                setup()
            fn()
    samples: list[list[float]] = [[] for _ in calls]
    for round_ in range(count):
        for offset in range(len(calls)):
            index = (round_ + offset) % len(calls)
            fn, setup = calls[index]
            if setup is not None:
                setup()
            samples[index].append(_sample(fn, batch))
    group = next(_GROUPS)
    return [Timing(tuple(found), batch, group) for found in samples]


def _sample(fn: Callable[[], object], batch: int) -> float:
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()  # a collection inside one sample would be charged to whoever was unlucky
    try:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        return (time.perf_counter() - start) / batch
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables for a block (``WFNB_FSYNC``, ``IPYTHONDIR``), then put them back."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def ms(seconds: float) -> str:
    """A duration for a table: µs below 1 ms, else ms or s."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:.1f} MB"


def gbps(nbytes: float, seconds: float) -> str:
    return f"{nbytes / seconds / 1e9:.1f} GB/s"


def machine() -> dict[str, str]:
    """CPU model, cores, memory, OS and Python, from /proc where it exists."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    facts = {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }
    reclaim = _proactive_reclaim()
    if reclaim:
        facts["memory reclaim"] = reclaim
    huge = _huge_pages()
    if huge:
        facts["transparent huge pages"] = huge
    return facts


def _huge_pages() -> str:
    """THP settings: numpy asks for huge pages for big buffers, which makes most big reads faster
    and a few much slower (a fault waits for the kernel to compact memory)."""
    base = Path("/sys/kernel/mm/transparent_hugepage")
    try:
        enabled, defrag = ((base / name).read_text().strip() for name in ("enabled", "defrag"))
    except OSError:
        return ""
    def chosen(text: str) -> str:  # "always [madvise] never" -> "madvise"
        return text.split("[", 1)[1].split("]", 1)[0] if "[" in text else text

    return (
        f"enabled `{chosen(enabled)}`, defrag `{chosen(defrag)}`: numpy's big buffers (np.load's and "
        "wfnb's read buffer alike) get huge pages, which makes a fresh 400 MB buffer cost about "
        "55 ms of page faults instead of 210 ms; but on this VM a fresh buffer now and then costs "
        "0.3-1 s instead (not compaction: `compact_stall` stays 0; most likely the hypervisor "
        "backing memory the guest had handed back). Those are the other outliers in the max column."
    )


def _proactive_reclaim() -> str:
    """Whether the kernel pages out cold memory by itself (DAMON): then a file read may hit the disk."""
    actions = []
    for state in Path("/sys/kernel/mm/damon/admin/kdamonds").glob("*/state"):
        try:
            if state.read_text().strip() != "on":
                continue
            for action in state.parent.glob("contexts/*/schemes/*/action"):
                actions.append(action.read_text().strip())
        except OSError:
            continue
    if "pageout" not in actions:
        return ""
    return (
        "DAMON proactive reclaim is on (action `pageout`): memory and page cache left untouched "
        "for a while are reclaimed, so a read of a file written earlier sometimes comes from disk. "
        "Such samples are one kind of outlier in the max column."
    )


def load_average(short: bool = False) -> str:
    """The 1, 5 and 15 minute load averages (only the 1-minute one if ``short``)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f}" if short else f"{one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min)"


def versions(names: list[str]) -> dict[str, str]:
    """Installed versions of the packages compared, read from their metadata."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found
