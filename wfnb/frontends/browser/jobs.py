"""A replay or sweep started from the browser: a worker process, read by a thread, cancellable.

The notebook stays free while it runs (the kernel only reads one line per
step), and ``cancel()`` stops the worker and whatever it started (a sweep's
processes) at once: they form one process group. See ``worker`` for why the
work runs in a process of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

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
    _process: subprocess.Popen | None = field(default=None, repr=False)
    _reader: threading.Thread | None = field(default=None, repr=False)
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def start(self) -> Job:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "wfnb.frontends.browser.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,  # its own process group: a cancel reaches a sweep's workers too
        )
        self._reader = threading.Thread(target=self._read, name=f"wfnb {self.kind}", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        process = self._process
        assert process is not None and process.stdin is not None and process.stdout is not None
        errors: list[str] = []
        drain = threading.Thread(target=lambda: errors.append(process.stderr.read() if process.stderr else ""), daemon=True)
        drain.start()
        try:
            process.stdin.write(json.dumps(self.task))
            process.stdin.close()
        except OSError:
            pass  # it died at once: its stderr says why
        for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            self.events.append(event)
            self.on_event(self, event)
        process.wait()
        drain.join()
        self.stderr = "".join(errors)
        final = self.events[-1]["event"] if self.events else ""
        if self._cancelled.is_set() and final != "done":
            self.state = "cancelled"
        else:
            self.state = "done" if final == "done" else "failed"
        self.on_end(self)

    @property
    def result(self) -> dict[str, Any]:
        """The last event: ``done`` (with ``variants``) or ``failed`` (with ``message`` and ``detail``)."""
        return self.events[-1] if self.events and self.events[-1]["event"] in ("done", "failed") else {}

    def cancel(self) -> None:
        """Stop the worker and its children; the store keeps only what was completely written."""
        process = self._process
        if process is None or process.poll() is not None:
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


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
