"""Export and import of variants: frame, CSV, notebook and script round trips, on a store written by a real shell.

One workflow is recorded once per module (a real InteractiveShell, as a notebook would):
parameters, an import and a helper from plain cells, a `%time` line, a metric, printed
text and a last-expression result. Cache hits are proved by the run log, where every
execution of a step body is an entry with `cached: false`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

import wfnb
from wfnb.cache.plaincode import to_plain_python
from wfnb.errors import BadArgument, StepFailed

from kernels import run_notebook  # tests/kernels.py
from shells import close_shell  # tests/shells.py

CELLS = [
    "%wfnb workflow demo",
    "%%params\nwindow = 3\nlabel = 'x'",
    "import numpy as np\nscale = 2.0\ndef helper(a):\n    return a * scale\n",
    "%%step load\ndata = helper(np.arange(20.0))\nprint('loaded', len(data))",
    "%%step smooth\nimport wfnb\n%time sm = np.convolve(data, np.ones(window) / window, 'valid')\n"
    "wfnb.log(last=float(sm[-1]))\nprint('smoothed', len(sm), label)\nsm[:3]",
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A store with one variant (demo/v1) recorded by a real shell; yields (store path, working dir)."""
    work = tmp_path_factory.mktemp("interchange")
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(WFNB_FSYNC="0", IPYTHONDIR=str(work / "ipython"))
    os.environ.pop("WFNB_STORE", None)
    os.chdir(work)
    try:
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "wfnb")
        for cell in CELLS:
            assert shell.run_cell(cell).success, cell
        InteractiveShell.clear_instance()
        close_shell(shell)
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return work / ".wfnb", work


@pytest.fixture
def v1(recorded):
    return wfnb.variant("demo/v1", store=recorded[0])


def executions(store: Path) -> list[tuple[str, bool]]:
    """(step, cached) for every run-log entry so far."""
    return [(entry["step"], entry["cached"]) for entry in wfnb.runs(store).to_dict("records")]


def quiet(report) -> None:
    pass


def test_frame_has_one_row_per_step_and_json_columns(v1):
    frame = v1.to_frame()
    assert list(frame["step"]) == ["load", "smooth"]
    assert list(frame.columns[:7]) == ["workflow", "variant", "step", "label", "window", "last", "code"]
    smooth = frame.iloc[1]
    assert json.loads(smooth["params"]) == {"window": 3, "label": "x"}
    assert set(json.loads(smooth["inputs"])) >= {"data", "np", "window"}
    assert set(json.loads(smooth["outputs"])) == {"sm", "wfnb"}
    assert smooth["key"] == v1.steps[1].key and smooth["code"] == v1.steps[1].code
    assert json.loads(smooth["workflow_params"]) == {"window": 3, "label": "x"}
    assert set(frame["workflow"]) == {"demo"} and set(frame["variant"]) == {"v1"}


def test_a_csv_shows_parameters_and_metrics_before_code_and_hashes(v1, tmp_path):
    v1.to_csv(tmp_path / "v1.csv")
    import csv

    with open(tmp_path / "v1.csv", newline="") as file:
        header, load, smooth = list(csv.reader(file))[:3]
    assert header[:7] == ["workflow", "variant", "step", "label", "window", "last", "code"]
    assert load[:6] == ["demo", "v1", "load", "x", "3", ""] and smooth[:5] == ["demo", "v1", "smooth", "x", "3"]
    assert float(smooth[5]) == v1.metrics["last"]


def test_from_frame_run_restores_every_step_and_gives_equal_outputs(v1, recorded):
    store = recorded[0]
    workflow = wfnb.Workflow.from_frame(v1.to_frame())
    assert workflow.name == "demo" and dict(workflow.params) == {"window": 3, "label": "x"}
    assert [s.name for s in workflow.steps] == ["load", "smooth"]
    assert set(workflow.outside_inputs) == {"helper", "np", "scale"}  # scale: read by helper
    before = len(executions(store))
    again = workflow.run(store, progress=quiet)
    assert executions(store)[before:] == [("load", True), ("smooth", True)]  # no body ran
    assert again.identity == v1.identity and again.number == 1
    for name in ("data", "sm"):
        np.testing.assert_array_equal(again.outputs[name], v1.outputs[name])


def test_a_parameter_override_reruns_only_the_steps_that_read_it(v1, recorded, capsys):
    store = recorded[0]
    before = len(executions(store))
    made = wfnb.Workflow.from_frame(v1.to_frame()).run(store, window=5)
    assert executions(store)[before:] == [("load", True), ("smooth", False)]
    assert made.params == {"window": 5, "label": "x"} and made.parent == 1 and made.changed_steps == ("smooth",)
    np.testing.assert_allclose(made.outputs["sm"], np.convolve(np.arange(20.0) * 2, np.ones(5) / 5, "valid"))
    progress = capsys.readouterr().out.splitlines()
    assert progress[0].startswith("workflow demo · step load · cached") and "step smooth · ran" in progress[1]
    with pytest.raises(BadArgument, match="no parameter windw; its parameters: label, window"):
        wfnb.Workflow.from_frame(v1.to_frame()).run(store, windw=5)


def test_csv_round_trip_runs_again(v1, recorded, tmp_path):
    store = recorded[0]
    v1.to_csv(tmp_path / "v1.csv")
    workflow = wfnb.Workflow.from_csv(tmp_path / "v1.csv")
    assert workflow == wfnb.Workflow.from_frame(v1.to_frame())
    before = len(executions(store))
    again = workflow.run(store, progress=quiet)
    assert executions(store)[before:] == [("load", True), ("smooth", True)]
    assert again.identity == v1.identity
    np.testing.assert_array_equal(again.outputs["sm"], v1.outputs["sm"])


def test_csv_in_another_store_needs_the_outside_inputs(v1, tmp_path):
    v1.to_csv(tmp_path / "v1.csv")
    workflow = wfnb.Workflow.from_csv(tmp_path / "v1.csv")
    other = tmp_path / "other-store"
    with pytest.raises(BadArgument) as caught:
        workflow.run(other, progress=quiet)
    message = str(caught.value)
    assert "input 'helper' of step load is not in the store" in message and "namespace={'helper': ...}" in message
    made = workflow.run(other, namespace={"helper": lambda a: a * 2.0, "np": np}, progress=quiet)
    np.testing.assert_array_equal(made.outputs["sm"], v1.outputs["sm"])
    assert made.metrics == v1.metrics and made.parent is None


def test_bad_tables_are_one_clear_error(tmp_path):
    import pandas as pd

    with pytest.raises(BadArgument, match="no column code"):
        wfnb.Workflow.from_frame(pd.DataFrame({"step": ["a"]}))
    with pytest.raises(BadArgument, match="The inputs of step a is not JSON text"):
        wfnb.Workflow.from_frame(pd.DataFrame({"step": ["a"], "code": ["x = 1"], "inputs": ["{oops"]}))
    with pytest.raises(BadArgument, match="two steps named 'a'"):
        wfnb.Workflow.from_frame(pd.DataFrame({"step": ["a", "a"], "code": ["x = 1", "y = 2"]}))
    with pytest.raises(BadArgument, match="There is no file"):
        wfnb.Workflow.from_csv(tmp_path / "missing.csv")


def test_notebook_runs_in_a_fresh_kernel_with_every_step_a_hit(v1, recorded, tmp_path):
    store, work = recorded
    v1.to_notebook(tmp_path / "v1.ipynb")
    written = nbformat.read(tmp_path / "v1.ipynb", as_version=4)
    nbformat.validate(written)
    sources = [cell.source for cell in written.cells]
    assert sources[0].endswith("%load_ext wfnb\n%wfnb workflow demo")
    assert "import numpy as np" in sources[1] and "def helper(a):" in sources[1] and "scale = 2.0" in sources[1]
    assert sources[2].startswith("%%params\n") and {"window = 3", "label = 'x'"} == set(sources[2].splitlines()[1:])
    assert sources[3].startswith("%%step load\n") and sources[4].startswith("%%step smooth\n")
    stored = [_visible(cell.outputs) for cell in written.cells]
    assert stored[3] == [{"output_type": "stream", "name": "stdout", "text": "loaded 20\n"}]
    assert stored[4][-1] == {"output_type": "execute_result", "data": {"text/plain": "array([2., 4., 6.])"}, "metadata": {}}

    before = len(executions(store))
    run_notebook(written, work, store)
    assert executions(store)[before:] == [("load", True), ("smooth", True)]
    lines = [o["data"]["text/plain"] for c in written.cells for o in c.outputs if o.get("metadata", {}).get("wfnb") == "status"]
    statuses = [line for line in lines if line.startswith("step ")]
    assert [s.split(" · ")[:2] for s in statuses] == [["step load", "cached"], ["step smooth", "cached"]]
    assert all(s.endswith("variant v1") for s in statuses)
    assert [_visible(cell.outputs) for cell in written.cells][3:] == stored[3:]
    assert list(wfnb.variants("demo", store=store)["variant"]).count("v1") == 1


def test_notebook_of_a_variant_with_an_unstorable_helper_source_restores_it_from_the_store(recorded, tmp_path):
    """Exported from another process, the helper's source is unknown: the notebook loads it from the store."""
    store, work = recorded
    target = tmp_path / "v1.ipynb"
    code = f"import wfnb; wfnb.variant('demo/v1', store={str(store)!r}).to_notebook({str(target)!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "WFNB_FSYNC": "0"})
    assert done.returncode == 0, done.stderr
    setup = nbformat.read(target, as_version=4).cells[1].source
    assert "def helper" not in setup and "import numpy as np" in setup
    assert ".restore_inputs(globals(), ['helper'])" in setup
    notebook = nbformat.read(target, as_version=4)
    before = len(executions(store))
    run_notebook(notebook, work, store)
    assert executions(store)[before:] == [("load", True), ("smooth", True)]


def test_script_runs_without_wfnb_and_computes_the_same(v1, tmp_path):
    script = tmp_path / "v1.py"
    v1.to_script(script)
    text = script.read_text()
    assert text.startswith('"""Workflow demo, variant v1') and "\nwindow = 3\n" in text and "\nlabel = 'x'\n" in text
    assert "sm = np.convolve(data, np.ones(window) / window, 'valid')  # was: %time" in text
    assert "def helper(a):" in text and "get_ipython" not in text
    # wfnb cannot be imported where the script runs: it must not need it
    blocker = "import runpy, sys; sys.modules['wfnb'] = None; runpy.run_path(sys.argv[1], run_name='__main__')"
    done = subprocess.run([sys.executable, "-c", blocker, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["loaded 20", f"metric last = {v1.metrics['last']!r}", "smoothed 18 x"]
    plain = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert plain.returncode == 0 and plain.stdout == done.stdout


def test_workflow_from_a_notebook_file_runs_with_hits(v1, recorded, tmp_path):
    store = recorded[0]
    v1.to_notebook(tmp_path / "v1.ipynb")
    workflow = wfnb.Workflow.from_notebook(tmp_path / "v1.ipynb")
    assert workflow.name == "demo" and dict(workflow.params) == {"window": 3, "label": "x"}
    assert "def helper(a):" in workflow.setup and "import numpy as np" in workflow.setup
    before = len(executions(store))
    again = workflow.run(store, progress=quiet)
    assert executions(store)[before:] == [("load", True), ("smooth", True)]
    assert again.identity == v1.identity


def test_replaying_a_step_with_an_ipython_only_command_fails_clearly(ip):
    ip.run_cell("%wfnb workflow magic")
    ip.run_cell("%%params\nn = 1")
    assert ip.run_cell("%%step s\nx = n * 2\n%who").success
    assert ip.run_cell("%%step t\nnames = %who_ls\ny = x + 1").success
    variant = wfnb.variant("magic/v1")
    assert [s.step for s in variant.steps] == ["s", "t"]
    with pytest.raises(StepFailed, match="step t failed .*IPython command '%who_ls'"):
        variant.replay(n=2)  # %who (it only shows something) is left out; %who_ls cannot run in a replay


@pytest.mark.parametrize(
    ("cell", "plain"),
    [
        ("%time x = f()\ny = 2", "x = f()  # was: %time\ny = 2\n"),
        ("for i in r:\n    %time z = i", "for i in r:\n    z = i  # was: %time\n"),
        ("out = !ls {path} $name", "out = subprocess.run(f'ls {path} {name}', shell=True, capture_output=True, text=True).stdout.splitlines()\n"),
        ("!echo hi", "subprocess.run('echo hi', shell=True)\n"),
        ("%cd data\n%env MODE=fast", "os.chdir('data')\nos.environ['MODE'] = 'fast'\n"),
        ("%matplotlib inline", "pass  # IPython only, not available in a plain script: %matplotlib inline\n"),
        ("r = %timeit -o f()", "r = None  # IPython only, not available in a plain script: %timeit -o f()\n"),
        ('print("%time")\ns = """\n!ls\n"""', 'print("%time")\ns = """\n!ls\n"""'),
    ],
)
def test_ipython_syntax_becomes_plain_python(cell, plain):
    assert to_plain_python(cell).code == plain


def test_running_refuses_ipython_commands_it_cannot_rewrite_and_binds_no_new_name():
    assert to_plain_python("!ls\n%matplotlib inline", strict=True).code.startswith("__import__('subprocess').run('ls'")
    with pytest.raises(BadArgument, match="'%run nothing.py', which cannot run outside"):
        to_plain_python("%run nothing.py", strict=True)


def _visible(outputs) -> list[dict]:
    """A cell's outputs without wfnb's status lines and counters, consecutive streams merged."""
    shown: list[dict] = []
    for output in outputs:
        if output.get("metadata", {}).get("wfnb") == "status":
            continue
        output = {k: v for k, v in output.items() if k != "execution_count"}
        if shown and output["output_type"] == "stream" and shown[-1]["output_type"] == "stream" and shown[-1]["name"] == output["name"]:
            shown[-1] = {**shown[-1], "text": shown[-1]["text"] + output["text"]}
            continue
        shown.append(output)
    return shown
