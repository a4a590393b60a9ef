"""A check checks: steps that log metrics run as in the notebook, and failed or unchecked steps never pass."""

from __future__ import annotations

import textwrap

from IPython.utils.capture import capture_output

import wfnb


def run(shell, cell):
    with capture_output() as io:
        result = shell.run_cell(textwrap.dedent(cell).strip("\n"))
    assert result.success, io.stderr + io.stdout
    return io


LOAD = """
%%step load
import wfnb
values = list(range(10))
"""

TREND = """
%%step trend
total = sum(values)
wfnb.log(total=total, mean=total / len(values))
"""


def test_a_step_that_logs_metrics_is_checked_and_compared(ip):
    run(ip, LOAD)
    run(ip, TREND)
    with capture_output() as io:
        report = wfnb.replay("v1", check=True)
    assert [(s.step, s.verdict) for s in report.steps] == [("load", "same"), ("trend", "same")], str(report)
    assert report.ok and report.failed == [] and report.unchecked == []
    assert "check v1 · step trend: same (1 output and 2 metrics as recorded)" in io.stdout
    assert report.summary() == "check of notebook/v1: every step (2) gave its recorded outputs again"


def test_a_metric_that_differs_on_a_fresh_run_makes_its_step_differ(ip):
    run(ip, LOAD)
    run(ip, "%%step score\nimport random\nwfnb.log(score=random.random())")
    with capture_output():
        report = wfnb.replay("v1", check=True)
    assert report.nondeterministic == ["score"] and not report.ok
    score = report.steps[1]
    metric = next(o for o in score.outputs if o.name == "metric score")
    assert score.differing == ["metric score"] and "recorded" in metric.lines[0] and metric.max_abs > 0


def test_a_display_that_differs_on_a_fresh_run_makes_its_step_differ(ip):
    run(ip, LOAD)
    run(ip, "%%step show\nimport random\nfrom IPython.display import Markdown\ndisplay(Markdown(f'draw {random.random()}'))")
    with capture_output():
        report = wfnb.replay("v1", check=True)
    assert report.nondeterministic == ["show"], str(report)
    assert "display 1 differs (text/markdown, text/plain)" in str(report)


# A step that makes a file only it may make: it ran once, and fails on any fresh run (the file is its
# output, not an input: nothing the check looks at beforehand says it will fail).
FRAGILE = "%%step fragile\nwith open('made-once', 'x') as out:\n    out.write('mine')\nok = 1"


def test_failed_and_unchecked_steps_are_reported_and_never_counted_as_passes(ip, tmp_path):
    (tmp_path / "data.txt").write_text("1 2 3")
    run(ip, LOAD)
    run(ip, "%%step read\nnumbers = open('data.txt').read().split()")
    run(ip, FRAGILE)
    (tmp_path / "data.txt").write_text("4 5 6")  # the check cannot give `read` what it saw
    with capture_output():
        report = wfnb.replay("v1", check=True)
    verdicts = {s.step: s.verdict for s in report.steps}
    assert verdicts == {"load": "same", "read": "not checked", "fragile": "failed"}, str(report)
    assert not report.ok and report.failed == ["fragile"] and report.unchecked == ["read"]
    summary = report.summary()
    assert "every step" not in summary
    assert summary == (
        "check of notebook/v1: 1 of 3 steps failed (fragile); 1 of 3 steps could not be checked (read); "
        "1 gave its recorded outputs again"
    )
    assert report.to_json()["ok"] is False and report.to_json()["failed"] == ["fragile"]


def test_the_browsers_check_reports_a_failed_step_as_a_failure(ip, tmp_path):
    from wfnb.frontends.browser.state import BrowserState
    from wfnb.history.session import current_session

    run(ip, LOAD)
    run(ip, TREND)
    run(ip, FRAGILE)
    session = current_session()
    state = BrowserState(session.store, "notebook", session)
    state.select("notebook/v1")
    job = state.check(wait=True)
    assert job.state == "done", job.stderr
    notice = state.notice("run")
    assert notice["kind"] == "error" and "every step" not in notice["text"], notice
    assert "1 of 3 steps failed (fragile); 2 gave their recorded outputs again" in notice["text"]
    assert dict((p["step"], p["state"]) for p in state.progress)["fragile"] == "failed"


CHECKED_IN_A_TERMINAL = """
import json, subprocess, sys
done = subprocess.run([sys.executable, "-m", "wfnb", "--store", ".wfnb", "replay", "notebook/v1", "--check", "--json"],
                      capture_output=True, text=True)
report = json.loads(done.stdout)
"""


def test_the_terminals_check_compares_displays_and_figures_as_the_kernel_recorded_them(ip):
    run(ip, LOAD)
    run(ip, TREND)
    run(ip, "%%step show\nfrom IPython.display import Markdown\ndisplay(Markdown(f'total **{total}**'))\nsummary = {'total': total}\nsummary")
    run(ip, CHECKED_IN_A_TERMINAL)
    report = ip.user_ns["report"]
    assert report["ok"] is True and report["failed"] == [] and report["unchecked"] == [], ip.user_ns["done"].stderr
    assert [s["verdict"] for s in report["steps"]] == ["same", "same", "same"]
