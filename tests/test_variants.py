"""Variants in real shells: when they are made, staleness, params, metrics, tags, refs, replay, checkout."""

from __future__ import annotations

import base64
import textwrap

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import wfnb
from wfnb.errors import BadArgument

LOAD = "%%step load\nprobe.hit('load')\nimport numpy as np\ndata = np.arange(20.0)"
SMOOTH = "%%step smooth\nprobe.hit('smooth')\nsm = np.convolve(data, np.ones(window) / window, 'valid')"
SMOOTH_EDITED = "%%step smooth\nprobe.hit('smooth')\nsm = np.convolve(data, np.ones(window) / window, 'same')"
REPORT = "%%step report\nimport wfnb\nprobe.hit('report')\ntotal = float(sm.sum()) * scale\nwfnb.log(total=total)"


def run(shell, cell):
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    assert result.success or isinstance(result.error_in_exec, UsageError), result.error_in_exec
    return result, io


def status(io):
    return [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"][-1]


def numbers():
    return list(wfnb.variants()["variant"])


@pytest.fixture
def flow(ip, probe):
    """A three-step workflow with two parameters, run once top to bottom."""
    run(ip, "%wfnb workflow demo")
    run(ip, "%%params\nwindow = 3\nscale = 2")
    for cell in (LOAD, SMOOTH, REPORT):
        run(ip, cell)
    return ip


def test_a_first_run_makes_one_variant(flow):
    assert numbers() == ["v1"]
    table = wfnb.variants()
    assert table.loc[0, "changed_steps"] == ["load", "smooth", "report"]
    assert table.loc[0, "window"] == 3 and table.loc[0, "total"] == pytest.approx(342.0)
    assert table.loc[0, "status"] == "current"


def test_editing_a_step_makes_exactly_one_variant_and_undoing_makes_none(flow):
    _, io = run(flow, SMOOTH_EDITED)
    assert "stale: report" in status(io)
    assert numbers() == ["v1"]  # the stale state is no variant
    _, io = run(flow, REPORT)
    assert "new variant v2" in status(io)
    run(flow, SMOOTH)
    _, io = run(flow, REPORT)
    assert status(io).endswith("variant v1")  # back to the earlier state: no duplicate
    assert numbers() == ["v1", "v2"]
    table = wfnb.variants()
    assert list(table["status"]) == ["current", "complete"]
    assert table.loc[1, "parent"] == "v1" and table.loc[1, "changed_steps"] == ["smooth", "report"]


def test_status_lists_steps_with_their_state(flow):
    run(flow, SMOOTH_EDITED)
    _, io = run(flow, "%wfnb status")
    lines = io.stdout.splitlines()
    assert "not at a variant" in lines[0]
    assert lines[1].split()[:2] == ["load", "fresh"]
    assert lines[3].split()[:2] == ["report", "stale"] and "sm changed in step smooth" in lines[3]


def test_a_changed_parameter_makes_its_readers_stale(flow):
    run(flow, "%%params\nwindow = 3\nscale = 5")
    _, io = run(flow, "%wfnb status")
    assert "parameter scale changed" in io.stdout
    _, io = run(flow, REPORT)
    assert "new variant v2" in status(io)
    assert wfnb.variant("v2").params == {"window": 3, "scale": 5}


def test_parameters_must_be_plain_json(ip):
    result, _ = run(ip, "%%params\nimport numpy as np\nwindow = np.int64(3)")
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert "window" in message and "not plain JSON data" in message


def test_metrics_are_recorded_and_restored_on_a_hit(flow, new_kernel, probe):
    assert wfnb.variant("v1").metrics == {"total": 342.0}
    shell = new_kernel()
    run(shell, "%wfnb workflow demo")
    run(shell, "%%params\nwindow = 3\nscale = 2")
    for cell in (LOAD, SMOOTH, REPORT):
        run(shell, cell)
    assert probe.count("report") == 1
    assert numbers() == ["v1"]
    assert wfnb.variant("v1").metrics == {"total": 342.0}


TRAIN = "%%step train\nimport wfnb\nprobe.hit('train')\nfor epoch in range(3):\n    wfnb.log(loss=1.0 / (epoch + 1), step=epoch)\nwfnb.log(acc=0.5)\nwfnb.log(acc=0.75)"


def test_a_metric_logged_per_epoch_keeps_its_series_and_the_variant_its_last_value(flow, new_kernel, probe, capsys):
    from wfnb.frontends.cli import main

    run(flow, TRAIN)
    v1 = wfnb.variant("v1")  # the first run grows v1 step by step
    assert v1.metrics == {"total": 342.0, "loss": pytest.approx(1 / 3), "acc": 0.75}
    assert wfnb.variants()["loss"].iloc[-1] == pytest.approx(1 / 3)
    loss = v1.series("loss")
    assert list(loss.index) == [0, 1, 2] and list(loss) == pytest.approx([1.0, 0.5, 1 / 3]) and loss.name == "loss"
    assert list(v1.series("acc")) == [0.5, 0.75] and list(v1.series("total")) == [342.0]  # without step=: 0, 1, …
    history = v1.metrics_history
    assert list(history.columns) == ["logged_by", "metric", "step", "value"] and len(history) == 6
    shell = new_kernel()  # a hit restores the series with the rest
    run(shell, "%wfnb workflow demo")
    run(shell, "%%params\nwindow = 3\nscale = 2")
    for cell in (LOAD, SMOOTH, REPORT, TRAIN):
        run(shell, cell)
    assert probe.count("train") == 1 and list(wfnb.variant("v1").series("loss")) == pytest.approx([1.0, 0.5, 1 / 3])
    assert main(["show", "v1", "-w", "demo"]) == 0
    assert "series   loss (train): 3 points, steps 0–2: 1.0, 0.5, 0.3333333333333333" in capsys.readouterr().out
    from wfnb.cache.metrics import collecting

    for wrong in ({"loss": 1.0, "step": -1}, {"loss": 1.0, "step": 1.5}, {"step": 3}):  # {"step": 3}: a metric so named
        with pytest.raises(BadArgument, match="whole number from 0 up, given with them"), collecting("x"):
            wfnb.log(**wrong)


def test_a_step_renamed_in_its_step_line_is_recorded_under_its_new_name_from_the_cache(flow, probe):
    runs = probe.count("smooth")
    _, io = run(flow, SMOOTH.replace("%%step smooth", "%%step smoothed"))
    assert probe.count("smooth") == runs  # its cached result was used
    assert "renamed from smooth" in status(io)
    run(flow, REPORT)
    latest = wfnb.variant(numbers()[-1])
    assert latest.steps.names() == ["load", "smoothed", "report"]
    assert latest.steps["smoothed"].step == "smoothed"


def test_logging_outside_a_step_is_a_clear_error():
    with pytest.raises(BadArgument, match="Call it inside a %%step cell"):
        wfnb.log(x=1)


def test_tags_are_unique_and_refs_resolve(flow):
    run(flow, "%wfnb tag baseline --note 'first try'")
    result, _ = run(flow, "%wfnb tag baseline")
    assert "already names v1" in str(result.error_in_exec)
    v1 = wfnb.variant("v1")
    assert v1.tags == ("baseline",) and v1.notes == {"baseline": "first try"}
    assert wfnb.variant("baseline").number == wfnb.variant(1).number == wfnb.variant(v1.identity[:6]).number == 1
    with pytest.raises(BadArgument, match="No variant 'v9'"):
        wfnb.variant("v9")


def test_replay_of_an_old_variant_restores_it_from_the_cache_and_leaves_the_notebook_alone(flow, probe):
    run(flow, SMOOTH_EDITED)
    run(flow, REPORT)
    run(flow, "%%params\nwindow = 3\nscale = 7")
    run(flow, REPORT)
    assert numbers() == ["v1", "v2", "v3"]
    before = {name: flow.user_ns[name] for name in ("sm", "total", "scale")}
    counts = {s: probe.count(s) for s in ("load", "smooth", "report")}
    replayed = wfnb.variant("v1").replay()
    assert replayed.number == 1  # the same state: the same variant
    assert {s: probe.count(s) for s in ("load", "smooth", "report")} == counts  # everything restored
    v1 = wfnb.variant("v1")
    assert np.array_equal(v1.outputs["sm"], np.convolve(np.arange(20.0), np.ones(3) / 3, "valid"))
    assert v1.outputs["total"] == 342.0
    assert flow.user_ns["sm"] is before["sm"] and flow.user_ns["total"] == before["total"]
    assert flow.user_ns["scale"] == 7
    assert wfnb.variants().set_index("variant").loc["v3", "status"] == "current"


def test_replay_with_an_override_reruns_exactly_the_readers_and_downstream(flow, probe):
    counts = {s: probe.count(s) for s in ("load", "smooth", "report")}
    replayed = wfnb.replay("v1", scale=10)
    assert probe.count("load") == counts["load"] and probe.count("smooth") == counts["smooth"]
    assert probe.count("report") == counts["report"] + 1
    assert replayed.number == 2 and replayed.parent == 1
    assert replayed.params == {"window": 3, "scale": 10} and replayed.metrics == {"total": 1710.0}
    replayed = wfnb.replay("v1", window=4)
    assert probe.count("smooth") == counts["smooth"] + 1 and probe.count("report") == counts["report"] + 2


def test_replay_refuses_unknown_parameters(flow):
    with pytest.raises(BadArgument, match="has no parameter colour"):
        wfnb.replay("v1", colour="red")


def test_checkout_restores_values_and_makes_the_variant_current(flow):
    run(flow, SMOOTH_EDITED)
    run(flow, REPORT)
    assert flow.user_ns["sm"].shape == (20,)
    _, io = run(flow, "%wfnb checkout v1")
    assert "restored demo/v1" in io.stdout
    assert flow.user_ns["sm"].shape == (18,) and flow.user_ns["total"] == 342.0
    assert wfnb.variants().set_index("variant").loc["v1", "status"] == "current"


def test_a_new_kernel_starts_from_the_current_variant(flow, new_kernel):
    shell = new_kernel()
    run(shell, "%wfnb workflow demo")
    _, io = run(shell, "%wfnb status")
    assert "at variant v1" in io.stdout
    run(shell, "%%params\nwindow = 3\nscale = 2")
    run(shell, LOAD)
    _, io = run(shell, SMOOTH_EDITED)  # its downstream step is stale, as in the notebook that made v1
    assert "stale: report" in status(io)


def test_diff_shows_code_params_and_metrics(flow):
    run(flow, "%%params\nwindow = 3\nscale = 5")
    run(flow, SMOOTH_EDITED)
    run(flow, REPORT)
    diff = wfnb.variant("v2").diff(wfnb.variant("v1"))
    assert diff.changed_steps == ["smooth"]
    assert diff.params == {"scale": (2, 5)}
    assert "-sm = np.convolve(data, np.ones(window) / window, 'valid')" in diff.code["smooth"]
    assert "metric total" in str(diff)


def test_forget_drops_a_step_that_left_the_notebook(flow):
    run(flow, SMOOTH_EDITED)
    run(flow, "%wfnb forget report")
    _, io = run(flow, "%wfnb status")
    assert "report" not in io.stdout


def test_a_failing_replay_shows_the_users_traceback_with_its_lines(ip, capsys):
    run(ip, "%wfnb workflow demo")
    run(ip, "%%params\nwindow = 3")
    run(ip, "%%step risky\ndef inner(w):\n    return 10 / (w - 4)\nvalue = inner(window)")
    with pytest.raises(wfnb.WfnbError, match="step risky failed"):
        wfnb.replay("v1", window=4)
    shown = capsys.readouterr().err
    assert "return 10 / (w - 4)" in shown and "ZeroDivisionError" in shown
    assert numbers() == ["v1"]


def test_a_step_using_display_replays_in_a_plain_process(ip, tmp_path):
    import subprocess
    import sys

    run(ip, "%wfnb workflow shown")
    run(ip, "%%params\nn = 3")
    run(ip, "%%step show\ntable = list(range(n))\ndisplay(table)")
    command = [sys.executable, "-m", "wfnb", "--store", str(tmp_path / ".wfnb"), "replay", "shown/v1"]
    same = subprocess.run(command, capture_output=True, text=True)
    assert same.returncode == 0 and "step show · cached" in same.stdout, same.stderr
    other = subprocess.run([*command, "-p", "n=4"], capture_output=True, text=True)
    assert other.returncode == 0 and "step show · ran" in other.stdout, other.stderr
    assert wfnb.variant("v2", "shown").outputs["table"] == [0, 1, 2, 3]


def test_replaying_an_old_variant_gives_its_figures_back(ip, probe):
    ip.enable_gui = lambda gui=None: None  # `%matplotlib inline` in a plain shell: no GUI event loop needed
    ip.enable_matplotlib("inline")
    run(ip, "%wfnb workflow figs")
    run(ip, "%%params\nslope = 1")
    plot = "%%step plot\nimport matplotlib.pyplot as plt\nprobe.hit('plot')\nfig, ax = plt.subplots()\nax.plot([0, slope])\nplt.show()"
    _, first = run(ip, plot)
    shown = [_base64(o.data["image/png"]) for o in first.outputs if "image/png" in o.data]
    run(ip, "%%params\nslope = 3")
    run(ip, plot)
    assert numbers() == ["v1", "v2"] and probe.count("plot") == 2
    replayed = wfnb.variant("v2").replay(slope=1)
    assert replayed.number == 1 and probe.count("plot") == 2  # restored, not run
    events = replayed.display_events("plot")
    pictures = [e["data"]["image/png"] for e in events if e["kind"] == "display" and "image/png" in e["data"]]
    assert len(shown) == 1 and pictures == shown


def _base64(png):
    """A PNG as notebooks store it: base64 text (IPython may hand over raw bytes)."""
    return png if isinstance(png, str) else base64.b64encode(png).decode("ascii")


def test_switching_store_or_workflow_starts_from_that_ones_own_variants(ip, tmp_path):
    run(ip, "x = 1")
    run(ip, "%%step s\ny = x + 1")
    assert numbers() == ["v1"]
    run(ip, f"%wfnb store {tmp_path / 'other'}")
    result, io = run(ip, "%%step s\ny = x + 1")
    assert result.success and status(io).endswith("new variant v1")
    run(ip, "%wfnb workflow another")
    result, io = run(ip, "%%step s\ny = x + 1")
    assert result.success and status(io).endswith("new variant v1")
