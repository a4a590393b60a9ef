"""An override takes its parameter's type: alpha=20 for `alpha = 0.5` is 20.0, so no duplicate variant follows."""

from __future__ import annotations

import textwrap

import pytest
from IPython.utils.capture import capture_output

import wfnb
from wfnb.frontends.cli import main


def run(shell, cell):
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    assert result.success, io.stderr + io.stdout
    return io


def status(io):
    return [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"][-1]


def test_a_replay_from_the_command_line_stores_the_parameters_type(ip, tmp_path, capsys):
    run(ip, "%%params\nalpha = 0.5\nmethod = 'ewm'")
    run(ip, "%%step scale\nscaled = [alpha * i for i in range(3)]\nlabel = method")
    capsys.readouterr()
    assert main(["--store", str(tmp_path / ".wfnb"), "replay", "notebook/v1", "-p", "alpha=20", "-p", "method=1"]) == 0
    made = wfnb.variant("v2")
    assert made.params == {"alpha": 20.0, "method": "1"}
    assert type(made.params["alpha"]) is float  # as the notebook has it
    # the notebook set to the same values finds that variant: no second variant with the same results
    run(ip, "%%params\nalpha = 20.0\nmethod = '1'")
    io = run(ip, "%%step scale\nscaled = [alpha * i for i in range(3)]\nlabel = method")
    assert " · cached · " in status(io) and "variant v2" in status(io) and "new variant" not in status(io)


def test_a_value_that_cannot_take_the_parameters_type_is_one_paragraph(ip, tmp_path, capsys):
    run(ip, "%%params\nalpha = 0.5")
    run(ip, "%%step scale\nscaled = alpha * 2")
    capsys.readouterr()
    assert main(["--store", str(tmp_path / ".wfnb"), "replay", "notebook/v1", "-p", "alpha=abc"]) != 0
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Traceback" not in error
    assert "parameter alpha is a number (alpha=0.5), so 'abc' (a string) cannot be its value" in error
    with pytest.raises(wfnb.WfnbError, match="parameter alpha is a number"):
        wfnb.replay("v1", alpha=[1, 2])


def test_a_sweep_takes_the_parameters_type_too():
    from wfnb.history.sweeps import grid_points

    assert grid_points({"alpha": [1, 2.5]}, {"alpha": 0.5}) == [{"alpha": 1.0}, {"alpha": 2.5}]
    assert [type(p["alpha"]) for p in grid_points({"alpha": [1]}, {"alpha": 0.5})] == [float]


def test_the_browsers_form_gives_a_string_parameter_the_text_typed(ip):
    from wfnb.frontends.browser.state import BrowserState
    from wfnb.history.session import current_session

    run(ip, "%%params\nalpha = 0.5\nmethod = 'ewm'")
    run(ip, "%%step scale\nscaled = [alpha * i for i in range(3)]\nlabel = method")
    session = current_session()
    state = BrowserState(session.store, "notebook", session)
    state.select("notebook/v1")
    job = state.replay_form({"alpha": "2", "method": "1"}, wait=True)
    assert job is not None and job.state == "done", state.notice("run")
    made = wfnb.variant("v2")
    assert made.params == {"alpha": 2.0, "method": "1"} and type(made.params["alpha"]) is float


def test_the_browsers_sweep_form_gives_a_string_parameter_the_texts_typed(ip):
    from wfnb.frontends.browser.state import BrowserState
    from wfnb.history.session import current_session

    run(ip, "%%params\nalpha = 0.5\nmethod = 'ewm'")
    run(ip, "%%step scale\nscaled = [alpha * i for i in range(3)]\nlabel = method")
    session = current_session()
    state = BrowserState(session.store, "notebook", session)
    state.select("notebook/v1")
    assert state.grid_from_form({"alpha": "1, 2", "method": "1, 2"}) == {"alpha": [1, 2], "method": ["1", "2"]}
