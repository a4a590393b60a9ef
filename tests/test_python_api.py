"""The Python API as a user meets it: plain errors without wfnb's frames, Tab completion, steps by
name, readable reprs, `%wfnb` alone, warnings said once, right reasons, files as the umask says."""

from __future__ import annotations

import os
import re
import stat

import nbformat
import pytest
from IPython.utils.capture import capture_output

import wfnb

from kernels import LiveKernel, wfnb_frames  # tests/kernels.py

SETUP = ["%load_ext wfnb", "import wfnb", "%%params\nwindow = 3",
         "%%step load\nimport numpy as np\ndata = np.arange(20.0)",
         "%%step smooth\ndef inner(w):\n    return 10 / (w - 4)\nsm = np.convolve(data, np.ones(window) / window, 'valid') * inner(window)"]


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    work = tmp_path_factory.mktemp("api")
    with LiveKernel(work, work / "store", name="nb.ipynb") as k:
        for cell in SETUP:
            assert k.run(cell).ok, cell
        yield k


def test_errors_show_one_message_and_no_frame_of_wfnb(kernel):
    for code, message in [
        ('wfnb.variant("nope")', "BadArgument: No variant 'nope' in workflow 'nb' (it has v1)"),
        ('wfnb.replay("v1", windw=50)', "BadArgument: nb/v1 has no parameter windw; its parameters: window. Did you mean window?"),
        ('wfnb.variant("v1").steps["nope"]', "UnknownName: nb/v1 has no step 'nope'; its steps: load, smooth."),
    ]:
        done = kernel.run(code)
        shown = plain(done.traceback)
        assert not done.ok and message in shown, shown
        assert wfnb_frames(shown) == [] and "During handling" not in shown and "direct cause" not in shown
        assert len(shown.splitlines()) < 12, shown


def test_a_failing_replay_shows_the_users_traceback_once_then_one_error(kernel):
    done = kernel.run('wfnb.replay("v1", window=4)')
    assert not done.ok
    user = plain(done.stderr)
    assert user.count("ZeroDivisionError") == 1 and "return 10 / (w - 4)" in user and wfnb_frames(user) == []
    error = plain(done.traceback)
    assert "StepFailed: replay of nb/v1: step smooth failed (ZeroDivisionError: division by zero)" in error
    assert "ZeroDivisionError\n" not in error and wfnb_frames(error) == [] and len(error.splitlines()) < 12


def test_tab_completes_the_public_names_and_dir_lists_only_them(kernel):
    assert set(kernel.complete("wfnb.va")) == {"variant", "variants"}
    offered = set(kernel.complete("wfnb."))
    assert {"variants", "variant", "replay", "tag", "browse", "log", "Workflow", "WfnbError"} <= offered
    assert not offered & {"Any", "TYPE_CHECKING", "annotations", "api", "session"}
    assert sorted(dir(wfnb)) == sorted([*wfnb.__all__, "__version__"])


def test_steps_by_name_and_readable_reprs(kernel):
    assert kernel.value('wfnb.variant("v1").steps["smooth"].step') == "'smooth'"
    assert kernel.value('"load" in wfnb.variant("v1").steps') == "True"
    shown = kernel.value('wfnb.variant("v1")')
    assert shown.startswith("nb/v1\n  created") and "params  window=3" in shown
    assert kernel.value('repr(wfnb.variant("v1"))') == "'<Variant nb/v1: steps load, smooth; params window=3; metrics none>'"
    assert kernel.value('repr(wfnb.variant("v1").steps)') == "'<steps of nb/v1: load, smooth>'"
    assert kernel.value('repr(wfnb.variant("v1").outputs)').startswith("'<outputs of nb/v1: ")
    step = kernel.value('repr(wfnb.variant("v1").steps["smooth"])')
    assert step.startswith("'<StepRecord smooth: reads ") and "makes " in step


def test_wfnb_alone_lists_its_commands(ip):
    with capture_output() as io:
        assert ip.run_cell("%wfnb").success
    lines = io.stdout.splitlines()
    assert lines[0].startswith("wfnb commands")
    commands = [line.split()[1] for line in lines[1:]]
    assert {"status", "variants", "checkout", "forget", "show", "export", "verify", "store", "workflow"} <= set(commands)
    assert all(len(line.split("  ")) > 1 for line in lines[1:])  # each with what it does


def test_a_warning_said_to_come_once_comes_once(ip):
    cell = "%%step gen\nnumbers = (i for i in range(3))"
    with capture_output() as first:
        ip.run_cell(cell)
    with capture_output() as second:
        ip.run_cell(cell)
    said = first.stderr + second.stderr
    assert said.count("could not be cached") == 1
    status = [o.data["text/plain"] for o in second.outputs if o.metadata.get("wfnb") == "status"][-1]
    assert "(its values could not be stored last time)" in status and "not cached: numbers cannot be stored" in status


def test_a_recomputed_damaged_value_says_so_in_the_status_line(ip, tmp_path):
    cells = ["%%params\nwindow = 3", "%%step load\nimport numpy as np\ndata = np.arange(5000.0)",
             "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')"]
    objects = tmp_path / ".wfnb" / "objects"
    for cell in cells[:2]:
        assert ip.run_cell(cell).success
    before = set(objects.rglob("*"))
    assert ip.run_cell(cells[2]).success
    damaged = max(set(objects.rglob("*")) - before, key=lambda p: p.stat().st_size)  # smooth's value, window 3
    assert ip.run_cell("%%params\nwindow = 5").success and ip.run_cell(cells[2]).success
    assert ip.run_cell(cells[0]).success  # back to window 3, whose stored value is now damaged
    os.truncate(damaged, damaged.stat().st_size - 8)
    with capture_output() as io:
        ip.run_cell(cells[2])
    status = [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"][-1]
    assert "(its stored result was damaged)" in status and "window" not in status.split("·")[1]


def test_exported_files_and_saved_outputs_follow_the_umask(ip, tmp_path):
    previous = os.umask(0o022)
    try:
        assert ip.run_cell("%%step load --save data=out/data.csv\nimport numpy as np\ndata = np.arange(5.0)").success
        variant = wfnb.variant("v1")
        variant.to_notebook(str(tmp_path / "v1.ipynb"))
        variant.to_script(str(tmp_path / "v1.py"))
        variant.to_csv(str(tmp_path / "v1.csv"))
    finally:
        os.umask(previous)
    for name in ("v1.ipynb", "v1.py", "v1.csv", "out/data.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert nbformat.read(tmp_path / "v1.ipynb", as_version=4).cells[-1].source.startswith("%%step load")
    assert not list(tmp_path.glob(".*tmp*")) and not list((tmp_path / "out").glob(".*"))  # no temporary file left
