"""A replay or sweep started from the browser: a worker process, read by a thread, cancellable.

The notebook stays free while it runs (the kernel only reads one line per
step), and ``cancel()`` stops the worker and whatever it started (a sweep's
processes) at once: they form one process group. See ``worker`` for why the
work runs in a process of its own.

Starting that process (Python, IPython, wfnb, then the steps' libraries) took
longer than a short replay itself, so the kernel keeps one worker warm: a
finished job hands its worker back, the next job sends its task to it, and
``warm_up`` starts one ahead of the first job (the browser calls it when it
opens). A cancelled job's worker is stopped, never reused; a worker that finds
a user module edited since it imported it answers ``stale``, and the job goes
to a fresh one.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

JobKind = Literal["replay", "sweep", "check"]
JobState = Literal["running", "done", "failed", "cancelled"]
STOP_GRACE_S = 3.0  # after SIGTERM, before SIGKILL


@dataclass
class Job:
    """One run of the worker: what it is, what it has said so far, and how it ended."""

    kind: JobKind
    label: str  # "the replay of demo/v1 with window=7"
    task: dict[str, Any]
    on_event: Callable[[Job, dict[str, Any]], None]
    on_end: Callable[[Job], None]
    state: JobState = "running"
    events: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    _worker: Worker | None = field(default=None, repr=False)
    _reader: threading.Thread | None = field(default=None, repr=False)
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def start(self) -> Job:
        self._worker = take_worker()  # raises OSError if no worker process can start
        self._reader = threading.Thread(target=self._read, name=f"wfnb {self.kind}", daemon=True)
        self._reader.start()
        return self

    @property
    def _process(self) -> subprocess.Popen | None:
        return self._worker.process if self._worker is not None else None

    def _read(self) -> None:
        task = {**self.task, "environ": dict(os.environ), "cwd": os.getcwd()}
        worker = self._worker
        assert worker is not None
        final = ""
        for attempt in range(2):
            final = self._read_one(worker, task)
            if final != "stale" or attempt or self._cancelled.is_set():
                break
            worker.stop()  # it runs an older copy of a user module: a fresh process imports the edit
            try:
                worker = self._worker = Worker.start()
            except OSError as error:
                self.stderr, final = f"{type(error).__name__}: {error}", ""
                break
        if final in ("done", "failed") and not self._cancelled.is_set():
            give_back(worker)
        else:
            worker.stop()
            warm_up()  # the next job finds a warm worker all the same
        if self._cancelled.is_set() and final != "done":
            self.state = "cancelled"
        else:
            self.state = "done" if final == "done" else "failed"
        self.on_end(self)

    @property
    def result(self) -> dict[str, Any]:
        """The last event: ``done`` (with ``variants``) or ``failed`` (with ``message`` and ``detail``)."""
        return self.events[-1] if self.events and self.events[-1]["event"] in ("done", "failed") else {}

    def _read_one(self, worker: Worker, task: dict[str, Any]) -> str:
        """Send ``task`` to ``worker`` and report its events up to the last; that event's name ("" if it died)."""
        worker.errors = errors = []
        if not worker.send(task):
            worker.wait_exited()
            self.stderr = "".join(errors)
            return ""
        assert worker.process.stdout is not None
        for line in worker.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event["event"] == "stale":
                return "stale"
            self.events.append(event)
            self.on_event(self, event)
            if event["event"] in ("done", "failed"):
                break
        else:
            worker.wait_exited()
        self.stderr = "".join(errors)
        return self.events[-1]["event"] if self.events else ""

    def cancel(self) -> None:
        """Stop the worker and its children; the store keeps only what was completely written."""
        process = self._process
        if process is None or process.poll() is not None or not self.running:
            return
        self._cancelled.set()
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job has ended and been reported (for scripts and tests)."""
        if self._reader is not None:
            self._reader.join(timeout)
        return self

    @property
    def running(self) -> bool:
        return self.state == "running"


class Worker:
    """One ``python -m wfnb.frontends.browser.worker`` process: tasks in on stdin, events out on stdout."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.executable = sys.executable
        self.errors: list[str] = []  # its stderr lines, for the job it runs now
        self._drain = threading.Thread(target=self._drain_stderr, name="wfnb worker stderr", daemon=True)
        self._drain.start()

    @classmethod
    def start(cls) -> Worker:
        process = subprocess.Popen(
            [sys.executable, "-m", "wfnb.frontends.browser.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, bufsize=1, start_new_session=True,  # its own process group: a cancel reaches a sweep's workers too
        )
        return cls(process)

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        try:
            for line in self.process.stderr:
                self.errors.append(line)
        except (OSError, ValueError):  # closed by stop()
            pass

    def send(self, task: dict[str, Any]) -> bool:
        """Write one task; False if the process is gone (its stderr says why)."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(task, default=str) + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            return False
        return True

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_exited(self) -> None:
        self.process.wait()
        self._drain.join(STOP_GRACE_S)

    def stop(self) -> None:
        """End it and whatever it started; quietly, whether it is busy or idle."""
        if self.alive:
            _signal_group(self.process, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


_idle: list[Worker] = []  # at most one: the warm worker, waiting for a job
_idle_lock = threading.Lock()


def take_worker() -> Worker:
    """The warm worker if there is a live one for this Python, else a new one."""
    with _idle_lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive and worker.executable == sys.executable:
                return worker
            worker.stop()
    return Worker.start()


def give_back(worker: Worker) -> None:
    """Keep ``worker`` warm for the next job (one is enough: jobs run one at a time)."""
    with _idle_lock:
        if worker.alive and not _idle:
            _idle.append(worker)
            return
    worker.stop()


def warm_up(imports: list[str] | None = None) -> None:
    """Start a worker ahead of the first job (unless one waits already); it imports ``imports`` while idle.

    Never raises: a worker that cannot start is reported by the job that needs it.
    """
    with _idle_lock:
        worker = next((w for w in _idle if w.alive and w.executable == sys.executable), None)
        if worker is None:
            try:
                worker = Worker.start()
            except OSError:
                return
            _idle.append(worker)
    if imports:
        worker.send({"kind": "warm", "imports": imports})


def stop_idle() -> None:
    """Stop the warm worker (at exit, or for a test that wants a cold start)."""
    with _idle_lock:
        idle = list(_idle)
        _idle.clear()
    for worker in idle:
        worker.stop()


atexit.register(stop_idle)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
