"""Looks at files and the environment through the standard library's frozen modules.

Since Python 3.11, ``os``, ``posixpath`` and ``genericpath`` are frozen into the interpreter: their
code is named ``<frozen genericpath>``, not by a file. Kernels started from ipykernel's kernelspec
turn that off (``-Xfrozen_modules=off``, for the debugger), but an IPython terminal, a script, and
the worker processes of replays, checks and sweeps keep it on. These tests run in the test process
itself (frozen modules on, as in those processes), where a look through ``os.path.exists`` was
once not seen at all: a file appearing beside the notebook left the step's old result in place.
"""

from __future__ import annotations

import os
import sys

import pytest

from shells import run_cell_for_status as run  # tests/shells.py


def test_this_process_runs_the_frozen_standard_library_where_python_has_one():
    """Else the tests below would not test what they say (3.10 has no frozen os.path to test)."""
    assert os.path.exists.__code__.co_filename.startswith("<frozen") == (sys.version_info >= (3, 11))


@pytest.mark.parametrize(
    "code, edit, before, after",
    [
        ("import os\nthere = os.path.exists('flag')", lambda: open("flag", "w").close(), False, True),
        ("import os.path\nname = 'a'\nthere = os.path.isfile(name + '.txt')", lambda: os.remove("a.txt"), True, False),
        ("from os.path import getsize\nname = 'a'\nthere = getsize(f'{name}.txt')", lambda: open("a.txt", "w").write("three"), 3, 5),
        ("import os\nname = 'dat'\nthere = sorted(f for _, _, files in os.walk(name + 'a') for f in files)",
         lambda: open("data/b.txt", "w").close(), ["a.txt"], ["a.txt", "b.txt"]),
        ("import os\nname = 'WFNB_TEST_'\nthere = os.getenv(name + 'SETTING', 'unset')", lambda: os.environ.update(WFNB_TEST_SETTING="on"),
         "unset", "on"),
    ],
    ids=["exists", "isfile", "getsize", "walk", "getenv"],
)
def test_a_look_through_frozen_os_path_reruns_the_step_when_its_answer_changes(ip, monkeypatch, code, edit, before, after):
    monkeypatch.delenv("WFNB_TEST_SETTING", raising=False)
    os.makedirs("data")
    open("data/a.txt", "w").write("one")
    open("a.txt", "w").write("one")
    step = f"%%step look\n{code}"
    run(ip, step)
    assert ip.user_ns["there"] == before
    assert "cached" in run(ip, step)
    edit()
    status = run(ip, step)
    assert "cached" not in status and ip.user_ns["there"] == after, status
