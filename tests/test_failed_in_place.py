"""A step that fails after changing its input in place: the advice says what to re-run, and following it works."""

from __future__ import annotations

import textwrap

from IPython.utils.capture import capture_output


def run(shell, cell):
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    return result, io


def status(shell):
    with capture_output() as io:
        shell.run_line_magic("wfnb", "status")
    return io.stdout


LOAD = "%%step load\ndata = {'a': 1, 'b': 2, 'c': 3}"
BOOM = "%%step boom\ndata.pop('b')\nraise RuntimeError('boom')"
FIXED = "%%step boom\ntotal = sum(data.values())"


def test_the_advice_names_the_step_that_made_the_changed_input_and_clears_once_followed(ip):
    assert run(ip, LOAD)[0].success
    failed, _ = run(ip, BOOM)
    assert not failed.success
    message = str(failed.error_in_exec)
    assert "Before it failed, it changed data, so it is no longer what step load made: run load again first" in message
    assert ip.user_ns["data"] == {"a": 1, "c": 3}
    text = status(ip)
    assert "load" in text and "data was changed by the failed run of step boom" in text
    assert "Run load, boom to reach a variant" in text

    # running the fixed boom first does not hide it: load still has to run
    assert run(ip, FIXED)[0].success
    assert "data was changed by the failed run of step boom" in status(ip)

    # following the advice: load (restored from the cache), then boom
    _, io = run(ip, LOAD)
    assert ip.user_ns["data"] == {"a": 1, "b": 2, "c": 3}
    _, io = run(ip, FIXED)
    assert ip.user_ns["total"] == 6
    lines = [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"]
    assert "variant v" in lines[-1], lines
    text = status(ip)
    assert "at variant v" in text and "stale" not in text and "Run " not in text
