"""The browser's actions: replay and sweep in a worker process (cancellable), restore, export, tag; each
with its own result, which can be dismissed and goes when another variant is selected."""

from __future__ import annotations

from pathlib import Path

import pytest

from wfnb.frontends.browser import actions
from wfnb.frontends.browser.state import BrowserState
from wfnb.history.session import current_session
from wfnb.history.snapshots import current_number
from wfnb.store import open_store

from kernels import wfnb_frames  # tests/kernels.py

WAIT = 180  # seconds: a guard against a hung worker, not a speed claim


@pytest.fixture
def state(demo_store) -> BrowserState:
    return BrowserState(demo_store, "demo")


@pytest.fixture(autouse=True)
def _notices_stay(monkeypatch):
    monkeypatch.setattr(actions, "NOTICE_SECONDS", 0)  # no timer clears them under the asserts


def test_replay_with_an_edited_parameter_runs_in_a_worker_and_selects_the_new_variant(state):
    state.select("v1")
    job = state.replay_form({"window": "7", "column": '"close"'})
    assert job is not None and state.busy  # it returned while the worker runs
    state.wait(WAIT)
    assert job.state == "done" and not state.busy
    assert state.selected == "demo/v4" and state.row("demo/v4").metrics["score"] == 70.5
    run = state.notice("run")
    assert run["kind"] == "success" and "window=7" in run["text"] and "→ v4, a new variant" in run["text"] and "score = 70.5" in run["text"]
    assert [(p["step"], p["state"]) for p in state.progress] == [("load", "cached"), ("smooth", "ran"), ("plot", "ran")]
    assert state.detail().steps[2].events  # the replayed figure was recorded, as in the notebook
    state.replay(wait=True)  # v4 with its own parameters: the same variant
    assert "an existing variant" in state.notice("run")["text"] and state.total == 4


def test_a_failing_replay_shows_the_users_traceback_and_changes_nothing_else(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    state.select("v1")
    refs_before = sorted(session.store.refs.names("workflows/demo"))
    namespace_before = set(notebook.user_ns)
    state.replay_form({"window": "-1"}, wait=True)  # an integer, as window is, that rolling() refuses
    run = state.notice("run")
    assert run["kind"] == "error" and "replay of demo/v1: step smooth failed" in run["text"]
    trace = run["detail"]
    assert trace.startswith("Traceback (most recent call last):")
    assert "step smooth, line 2, in <module>\n    smooth = prices[column].rolling(window).mean()" in trace
    assert "ValueError" in trace and wfnb_frames(trace) == []  # the user's frames, not wfnb's
    assert [(p["step"], p["state"]) for p in state.progress] == [("load", "cached"), ("smooth", "failed"), ("plot", "pending")]
    assert "its traceback is below" in run["text"]  # the notice shows it under the message
    assert state.selected == "demo/v1" and state.total == 3
    refs_after = sorted(session.store.refs.names("workflows/demo"))
    noted = [ref for ref in refs_after if ref.startswith("workflows/demo/failed/")]
    assert len(noted) == 1 and [ref for ref in refs_after if ref not in noted] == refs_before  # no variant, no tag, same HEAD
    failed = [row for row in state.visible_rows() if row.failed]  # the failure is a dimmed row: what was tried, where, why
    assert len(failed) == 1 and failed[0].params["window"] == -1 and failed[0].changed == ("smooth",)
    assert failed[0].error.startswith("ValueError") and failed[0].parent == 1 and state.failed_count == 1
    state.query = "status:failed"
    assert state.visible_rows() == failed
    assert set(notebook.user_ns) == namespace_before and session.state.current == 3


def test_bad_input_is_refused_before_anything_runs(state):
    assert state.replay({"windw": 4}) is None
    assert state.notice("run")["kind"] == "error" and "has no parameter windw" in state.notice("run")["text"]
    assert state.replay_form({"window": "3, 5"}) is None and "click Sweep" in state.notice("run")["text"]
    assert state.sweep_form({"window": "3"}) is None and "several values" in state.notice("run")["text"]
    assert state.progress == [] and not state.busy and state.job is None


def test_a_long_replay_can_be_cancelled_and_the_store_stays_consistent(notebook, tmp_path):
    cells = [
        "%wfnb workflow slow",
        "%%params\npause = 0.0",
        "%%step first\nvalues = list(range(5))",
        "%%step wait\nimport time\ntime.sleep(pause)\ntotal = sum(values)",
    ]
    for cell in cells:
        assert notebook.run_cell(cell).success
    session = current_session()
    state = BrowserState(session.store, "slow", session=session)
    job = state.replay({"pause": 600})
    assert job.running and state.busy  # the notebook is free meanwhile:
    assert notebook.run_cell("free = 1 + 1").success and notebook.user_ns["free"] == 2
    for _ in range(600):  # the worker reports its first step (restored) before it sleeps
        if any(p["state"] == "cached" for p in state.progress):
            break
        job.wait(0.1)
    state.cancel()
    state.wait(WAIT)
    assert job.state == "cancelled" and not state.busy
    run = state.notice("run")
    assert run["kind"] == "info" and "Cancelled the replay of slow/v1 with pause=600" in run["text"]
    assert "no variant was recorded" in run["text"] and "steps first had finished and stay in the cache" in run["text"]
    assert "The store is consistent" in run["text"]
    assert [(p["step"], p["state"]) for p in state.progress] == [("first", "cached"), ("wait", "running")]
    assert state.progress[1]["detail"] == "cancelled"
    assert state.total == 1 and current_number(session.store, "slow") == 1
    assert open_store(session.store.root, create=False).verify().ok


def test_a_sweep_from_the_form_runs_every_point_and_ticks_them_for_compare(state):
    state.select("v1")
    texts = {"window": "3, 6, 9", "column": '"close"'}
    assert state.grid_from_form(texts) == {"window": [3, 6, 9]}
    job = state.sweep_form(texts)
    state.wait(WAIT)
    assert job.state == "done", job.stderr
    run = state.notice("run")
    assert run["kind"] == "success" and "over window ∈ {3, 6, 9} (3 points)" in run["text"] and "(2 new)" in run["text"]
    assert state.total == 5 and sorted(state.row(ref).params["window"] for ref in state.ticked) == [3, 6, 9]
    assert state.progress == [{"step": "points", "state": "ran", "detail": "3 of 3", "fraction": 1.0}]


def test_restore_checks_out_into_the_notebook(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    state.select("v2")
    restored = state.checkout()
    assert restored.name == "v2" and state.notice("restore")["kind"] == "success"
    assert notebook.user_ns["window"] == 5 and notebook.user_ns["smooth"].notna().sum() == 56
    assert current_number(session.store, "demo") == 2
    assert state.row("demo/v2").status == "current"


def test_restore_says_why_it_cannot(notebook, demo_store):
    alone = BrowserState(demo_store, "demo")
    assert alone.checkout() is None
    said = alone.notice("restore")["text"]
    assert "needs the notebook's kernel with wfnb loaded" in said and "%wfnb checkout demo/v3" in said
    notebook.run_line_magic("wfnb", "workflow other")
    session = current_session()
    state = BrowserState(session.store, "demo", session=session)
    assert state.checkout() is None
    assert "this notebook's workflow is other" in state.notice("restore")["text"]


def test_export_as_csv_and_clear_errors_for_a_bad_path(state, tmp_path):
    target = tmp_path / "v3.csv"
    assert state.export(str(target)) == target
    assert state.notice("export")["kind"] == "success" and target.read_text().count("\n") >= 4
    assert state.export(str(target)) is None and "already exists" in state.notice("export")["text"]
    assert state.export(str(target), overwrite=True) == target
    assert state.export(str(tmp_path / "v3.txt")) is None and "use .ipynb" in state.notice("export")["text"]
    assert state.export(str(tmp_path / "missing" / "v3.py")) is None and "does not exist" in state.notice("export")["text"]
    assert state.export("  ") is None and "Give a path" in state.notice("export")["text"]


@pytest.mark.parametrize("suffix", [".ipynb", ".py"])
def test_export_as_notebook_or_script(state, tmp_path, suffix):
    target = tmp_path / f"v3{suffix}"
    assert state.export(str(target)) == target, state.notice("export")
    assert "ewm(span=window)" in target.read_text()


def test_store_paths_are_shown_absolute(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert state.export("relative.csv") == Path(tmp_path / "relative.csv")
    assert str(tmp_path) in state.notice("export")["text"]


def test_tag_the_selected_variant(state):
    state.select("v2")
    tagged = state.tag("wide", "five days")
    assert tagged.tags == ("wide",) and state.row("demo/v2").tags == ("wide",)
    assert state.notice("tag")["text"] == "Tagged demo/v2 as wide (five days)."
    assert state.tag("baseline") is None and "already names v1" in state.notice("tag")["text"]
    assert state.tag("   ") is None and "Give the tag a name" in state.notice("tag")["text"]
    assert state.tag("v7") is None and "looks like a variant number" in state.notice("tag")["text"]


def test_each_result_stays_by_its_action_until_dismissed_or_another_variant_is_selected(state, tmp_path):
    state.tag("wide")
    state.export(str(tmp_path / "v3.txt"))
    assert set(state.notices) == {"tag", "export"}  # one slot each: the export did not replace the tag's result
    state.dismiss("tag")
    assert set(state.notices) == {"export"}
    state.select("v1")
    assert state.notices == {}


def test_a_success_goes_by_itself_an_error_stays(state):
    state.tag("wide")
    state.tag("wide")  # an error stays
    stamp = state.notice("tag")["stamp"]
    state._expire("tag", stamp - 1)  # the first one's timer: it no longer owns the slot
    assert state.notice("tag")["kind"] == "error"
    state.dismiss("tag")
    state.tag("narrow")
    state._expire("tag", state.notice("tag")["stamp"])  # what its timer does when it fires
    assert state.notice("tag") == {}


def test_actions_without_a_selection_say_so(tmp_path):
    empty = BrowserState(open_store(tmp_path / "empty"))
    assert empty.selected == "" and empty.detail() is None and empty.dag() is None
    assert empty.replay() is None and "No variant is selected" in empty.notice("run")["text"]
    assert "no variants yet" in empty.describe()


def test_form_values_parse_as_json_else_text():
    assert actions.parse_value("7") == 7 and actions.parse_value('"rbf"') == "rbf" and actions.parse_value("rbf") == "rbf"
    assert actions.parse_values("3, 5, 7") == [3, 5, 7] and actions.parse_values("[1, 2]") == [1, 2]
    assert actions.parse_values("[1, 2]", list_valued=True) == [[1, 2]] and actions.parse_values("linear, rbf") == ["linear", "rbf"]


def test_a_worker_that_cannot_start_is_reported_and_leaves_nothing_busy(state, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.executable", str(tmp_path / "no-python"))
    assert state.replay() is None
    run = state.notice("run")
    assert run["kind"] == "error" and "Replay failed: FileNotFoundError" in run["text"]
    assert not state.busy and not state.job.running


def test_restore_names_the_cells_that_differ_and_writes_the_variants_cells_beside(notebook, tmp_path, monkeypatch):
    import nbformat

    from .conftest import demo_cell

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # no Jupyter server serves this folder
    for cell in ("%%params\nwindow = 3\ncolumn = 'close'", demo_cell("load"), demo_cell("smooth", rewritten=True), demo_cell("plot")):
        assert notebook.run_cell(cell).success  # the notebook's cells: v3's
    session = current_session()
    state = BrowserState(session.store, session=session)
    state.select("v2")
    state.checkout()
    said = state.notice("restore")["text"]
    assert "the code of step smooth" in said and "window=3 (v2: 5)" in said and "'Write its cells'" in said
    written = state.write_cells()
    assert written == Path.cwd() / "demo-v2.ipynb" and written.exists()
    cells = [cell.source for cell in nbformat.read(written, as_version=4).cells if cell.cell_type == "code"]
    assert any(source.startswith("%%step smooth") and "rolling(window)" in source for source in cells)  # v2's code, not v3's
    assert any("window = 5" in source for source in cells)
    notice = state.notice("restore")
    assert "Wrote the cells of demo/v2 to demo-v2.ipynb" in notice["text"] and "link" not in notice
    assert state.write_cells() == Path.cwd() / "demo-v2-2.ipynb"  # never over an earlier one


def test_after_a_restart_restore_reads_the_saved_notebook_to_say_which_cells_differ(notebook, tmp_path):
    import nbformat

    from wfnb.history.notebookpath import NotebookOrigin

    from .conftest import demo_cell

    saved = tmp_path / "analysis.ipynb"
    cells = ["%load_ext wfnb", "%%params\nwindow = 3\ncolumn = 'close'", demo_cell("load"), demo_cell("smooth", rewritten=True)]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), saved)
    session = current_session()
    session._origin = NotebookOrigin("demo", saved, "Jupyter")  # the kernel's notebook file, as Jupyter names it
    state = BrowserState(session.store, session=session)
    state.select("v2")
    state.checkout()
    said = state.notice("restore")["text"]
    assert "The saved analysis.ipynb shows other cells than v2: the code of step smooth; no cell for step plot" in said
    state.select("v3")
    state.checkout()  # v3's own smooth, with a comment the file does not have: same code
    assert "the code of step" not in state.notice("restore")["text"] and "no cell for step plot" in state.notice("restore")["text"]
