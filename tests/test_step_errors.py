"""What a `%%step` cell shows when it cannot run or is stopped: the user's error as a plain cell shows it,
or one wfnb paragraph, never wfnb's own frames."""

from __future__ import annotations

import os
import re
import textwrap

import pytest
from IPython.utils.capture import capture_output

import wfnb
from wfnb.store import open_store

from kernels import LiveKernel, wfnb_frames  # tests/kernels.py


def shown(shell, cell):
    """Run a cell; its result and everything it printed (without colours)."""
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    return result, re.sub(r"\x1b\[[0-9;]*m", "", io.stdout + io.stderr)


@pytest.mark.parametrize("code, line", [("x = = 1", "x = = 1"), ("df = frame.assign(z=1", "df = frame.assign(z=1")])
def test_a_syntax_error_in_a_step_shows_as_in_a_plain_cell(ip, code, line):
    _, plain = shown(ip, code)
    result, text = shown(ip, f"%%step broken\n{code}")
    assert not result.success and isinstance(result.error_before_exec, SyntaxError)
    # numbered from the body's first line, as a traceback from a step's code is (and the plain cell's)
    # (3.13 names an unclosed bracket `_IncompleteInputError`, a SyntaxError, in a plain cell too)
    assert ("SyntaxError" in text or "_IncompleteInputError" in text) and line in text and "line 1" in text
    for noise in ("During handling", "UsageError", "TokenError", "Traceback"):
        assert noise not in text, text
    assert wfnb_frames(text) == []
    assert text.splitlines()[-1] == plain.splitlines()[-1]  # the same message as the plain cell's
    assert len(wfnb.runs()) == 0  # nothing ran, so nothing was recorded


def test_an_indented_step_with_a_syntax_error_shows_the_real_error(ip):
    result, text = shown(ip, "%%step broken\n    total = (1 +\n    print(total)")
    assert not result.success and isinstance(result.error_before_exec, SyntaxError)
    assert ("SyntaxError" in text or "_IncompleteInputError" in text) and "IndentationError" not in text and "Traceback" not in text


def test_an_interrupt_in_the_users_code_fails_the_cell_with_it_and_says_nothing_else(ip, probe):
    body = "probe.hit()\npartial = 1\nraise KeyboardInterrupt"
    _, plain = shown(ip, body)
    cell = f"%%step stopped\n{body}"
    result, text = shown(ip, cell)
    assert not result.success and isinstance(result.error_in_exec, KeyboardInterrupt)
    same_cell = re.compile(r"Cell In\[\d+\]")
    assert same_cell.sub("Cell", text) == same_cell.sub("Cell", plain), text  # shown once, as the plain cell shows it
    assert "Fix the cell" not in text and "UsageError" not in text and wfnb_frames(text) == []
    shown(ip, cell)
    assert probe.count() == 3  # the plain cell, then the step twice: nothing was cached


def test_an_interrupt_while_wfnb_stores_a_step_is_one_paragraph_and_keeps_the_store_consistent(ip, probe):
    # pickling this value is where wfnb's store write is when Ctrl-C arrives
    ip.run_cell("class Stubborn:\n    def __reduce__(self):\n        raise KeyboardInterrupt")
    assert ip.run_cell("%%step first\nfirst = list(range(5))").success
    result, text = shown(ip, "%%step stubborn\nprobe.hit()\nvalue = Stubborn()\nother = 2")
    assert not result.success
    assert wfnb_frames(text) == [] and "Traceback" not in text and "KeyboardInterrupt" not in text, text
    (paragraph,) = [line for line in text.splitlines() if "interrupted" in line]
    assert "Step stubborn ran, but wfnb was interrupted while storing its result" in paragraph
    assert "Nothing half-written was kept" in paragraph and "Run the cell again" in paragraph
    store = open_store(".wfnb")
    assert store.verify().ok and os.listdir(store.root / "tmp") == []
    assert ip.user_ns["other"] == 2  # the step ran: its values are there
    status = {row[0]: row[1] for row in ip.magics_manager.registry["WorkflowMagics"].session.status_table()}
    assert status["stubborn"] != "fresh"  # and it is not taken as recorded


def test_ctrl_c_in_a_running_step_shows_the_users_keyboard_interrupt(tmp_path):
    with LiveKernel(tmp_path, tmp_path / ".wfnb") as kernel:
        assert kernel.run("%load_ext wfnb").ok
        cell = kernel.run_interrupted("%%step slow\nimport time\nprint('started', flush=True)\ntime.sleep(60)\ndone = 1", "started")
        assert not cell.ok and cell.error.startswith("KeyboardInterrupt"), cell
        traceback = re.sub(r"\x1b\[[0-9;]*m", "", cell.traceback)
        assert "----> 3 time.sleep(60)" in traceback and wfnb_frames(traceback) == [], traceback
        assert traceback.count("Traceback (most recent call last)") == 1  # shown once
        assert len([m for m in cell.messages if m["header"]["msg_type"] == "error"]) == 1
        assert "Fix the cell" not in traceback + cell.stderr and "UsageError" not in traceback + cell.stderr
        assert kernel.run("%%step slow\nimport time\ndone = 1").ok  # the kernel and the store carry on


def test_ctrl_c_while_wfnb_stores_a_step_is_one_paragraph_in_a_kernel(tmp_path):
    with LiveKernel(tmp_path, tmp_path / ".wfnb") as kernel:
        assert kernel.run("%load_ext wfnb").ok
        # storing this value takes a while: Ctrl-C arrives in wfnb's store write, after the step's code ended
        assert kernel.run(
            "class Slow:\n    def __reduce__(self):\n        import time\n        print('storing', flush=True)\n"
            "        time.sleep(60)\n        return (Slow, ())"
        ).ok
        cell = kernel.run_interrupted("%%step slow\nvalue = Slow()\ndone = 1", "storing")
        assert not cell.ok and cell.error.startswith("UsageError: Step slow ran, but wfnb was interrupted while storing"), cell
        assert "Nothing half-written was kept" in cell.error and "Run the cell again" in cell.error
        assert cell.traceback.count("\n") <= 1 and wfnb_frames(cell.traceback + cell.stderr) == []  # one paragraph
        assert kernel.value("done") == "1"
        assert kernel.run("import wfnb\nassert wfnb.verify().ok and wfnb.runs()['error'].notna().sum() == 0").ok
        assert os.listdir(tmp_path / ".wfnb" / "tmp") == []
