"""The run-log entry of a step is written off the step's thread, and nobody reading the log misses it.

A trivial hit spent a fifth of its time writing its run-log entry. The entry now goes to
disk from a background thread; ``wfnb.runs()``, ``wfnb why`` and interpreter exit wait for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from IPython.utils.capture import capture_output

import wfnb
from wfnb.store import open_store

REPO = Path(__file__).resolve().parent.parent.parent
_renames: list[tuple[str, int]] = []
_listening = False


def _audit(event: str, args: tuple) -> None:
    if _listening and event == "os.rename":  # os.replace raises it too
        _renames.append((str(args[1]), threading.get_ident()))


sys.addaudithook(_audit)  # a hook cannot be removed: it only listens while a test asks


def test_a_hit_writes_its_run_log_entry_from_another_thread_and_runs_sees_it(ip, tmp_path) -> None:
    global _listening
    cell = "%%step double\nx = 21 * 2"
    with capture_output():
        assert ip.run_cell(cell).success
        wfnb.runs()  # the miss's entry is on disk before we listen
        _renames.clear()
        _listening = True
        try:
            assert ip.run_cell(cell).success
            entries = wfnb.runs()  # waits for the queued entry
        finally:
            _listening = False

    runs = [(path, thread) for path, thread in _renames if f"{os.sep}runs{os.sep}" in path]
    assert len(runs) == 1
    assert runs[0][1] != threading.get_ident()  # not on the step's (the kernel's) thread
    assert list(entries["cached"]) == [False, True]


SCRIPT = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "wfnb")
shell.run_line_magic("wfnb", "store store")
shell.run_line_magic("wfnb", "workflow exiting")
for _ in range(3):
    assert shell.run_cell("%%step double\\nx = 21 * 2").success
"""


def test_interpreter_exit_waits_for_the_queued_entries(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WFNB_FSYNC": "0"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    entries = open_store(tmp_path / "store", create=False).runs()
    assert [entry["cached"] for entry in entries] == [False, True, True]
