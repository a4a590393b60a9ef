"""Failed attempts in the browser: dimmed rows with the parameters tried, the step, the error and the time."""

from __future__ import annotations

from wfnb.frontends.browser.state import BrowserState
from wfnb.frontends.browser.view import BrowserView
from wfnb.history.attempts import failed_attempts, note_failure


def test_a_failure_noted_while_the_browser_is_open_appears_as_a_dimmed_row(demo_store):
    view = BrowserView(BrowserState(demo_store, "demo"))
    assert "failed" not in view.heading.value
    note_failure(demo_store, "demo", {"window": -1, "column": "close"}, "smooth", "ValueError: window must be positive", 1, "replay of demo/v1")
    state = view.state
    assert state.total == 3 and state.failed_count == 1  # followed live: no refresh
    assert "3 variants · 1 failed" in view.heading.value
    html = view.table.value
    assert html.count("wfnb-failed-row") == 1 and "✖ failed" in html
    assert "step smooth: ValueError: window must be positive" in html
    row = next(r for r in state.visible_rows() if r.failed)
    assert row.params == {"window": -1, "column": "close"} and row.created is not None
    state.query = "status:failed"
    assert [r.ref for r in state.visible_rows()] == [row.ref]
    state.query = ""
    assert all(not r.failed for r in state.plot_rows()[0])  # nothing to plot: it has no metric
    view.bridge.send("select", row.ref)  # a click on it selects nothing
    assert state.selected == "demo/v3"
    view.close()


def test_a_failure_is_noted_once_and_read_back_as_it_was(demo_store):
    noted = note_failure(demo_store, "demo", {"window": 0}, "smooth", "ZeroDivisionError: division by zero\nmore", None, "run of demo")
    assert noted is not None
    [read] = failed_attempts(demo_store, "demo")
    assert read == noted and read.error == "ZeroDivisionError: division by zero" and read.replayed is None
    assert BrowserState(demo_store, "demo").failed_count == 1  # a browser opened later lists it too


def test_a_running_sweeps_points_are_listed_as_they_finish(demo_store):

    state = BrowserState(demo_store, "demo")
    seen: list[tuple[int, bool]] = []
    state.observe(lambda _: seen.append((state.total, state.busy)), "revision")
    state.select("v1")
    job = state.sweep({"window": [6, 9, 12]}, wait=True, backend="threading")
    assert job is not None and job.state == "done", job.stderr
    assert (4, True) in seen and (5, True) in seen  # listed one by one while the sweep still ran
    assert state.total == 6


def test_a_sweep_with_a_failing_point_lists_the_others_and_the_failure(demo_store):
    state = BrowserState(demo_store, "demo")
    state.select("v1")
    job = state.sweep({"window": [6, -1]}, wait=True, backend="threading")
    assert job is not None and job.state == "done", job.stderr
    run = state.notice("run")
    assert run["kind"] == "error" and "1 point failed, listed as failed rows (status:failed)" in run["text"]
    assert state.total == 4 and state.row("demo/v4").params["window"] == 6
    [failed] = [row for row in state.visible_rows() if row.failed]
    assert failed.params["window"] == -1 and failed.changed == ("smooth",) and failed.error.startswith("ValueError")
