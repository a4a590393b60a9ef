"""The browser's model without any widget: listing, selection, filters, sorting, compare, plots, actions, live."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from traitlets import TraitError

from wfnb.browser import table
from wfnb.browser.state import BrowserState
from wfnb.errors import BadArgument
from wfnb.session import current_session
from wfnb.snapshots import current_number
from wfnb.store import open_store

from .conftest import add_variants


def names(rows: list[table.Row]) -> list[str]:
    return [row.name for row in rows]


@pytest.fixture
def state(demo_store) -> BrowserState:
    return BrowserState(demo_store, "demo")


# -- listing, filtering, sorting, paging --------------------------------------


def test_variants_are_listed_newest_first_with_a_column_per_parameter_and_metric(state):
    assert names(state.page_rows()) == ["v3", "v2", "v1"]
    keys = [column.key for column in state.columns()]
    assert keys == ["variant", "tag", "age", "changed", "status", "param:column", "param:window", "metric:score", "metric:last"]
    v1 = state.row("demo/v1")
    assert v1.tags == ("baseline",) and v1.params["window"] == 3 and v1.metrics["score"] == 30.5
    assert [row.status for row in state.page_rows()] == ["current", "complete", "complete"]
    assert state.row("demo/v3").changed == ("smooth", "plot")
    assert state.selected == "demo/v3"  # the current variant is selected at first


def test_every_workflow_lists_them_all_with_a_workflow_column(state):
    state.workflow = ""
    assert [column.key for column in state.columns()][:2] == ["variant", "workflow"]
    assert len(state.visible_rows()) == 3
    assert state.workflows == ["demo"]


def test_filter_by_text_matches_every_word_anywhere(state):
    state.query = "window=5"
    assert names(state.visible_rows()) == ["v2"]
    state.query = "FIRST try"  # a tag's note, case-insensitive
    assert names(state.visible_rows()) == ["v1"]
    state.query = "plot current"
    assert names(state.visible_rows()) == ["v3"]
    state.query = "nothing-like-this"
    assert state.visible_rows() == [] and state.page_count() == 1


def test_filter_by_tag(state):
    state.tag_filter = "baseline"
    assert names(state.visible_rows()) == ["v1"]
    state.tag_filter = table.TAGGED
    assert names(state.visible_rows()) == ["v1"]
    state.tag_filter = table.ANY_TAG
    assert len(state.visible_rows()) == 3
    assert ("baseline", "baseline") in state.tag_options()


@pytest.mark.parametrize(
    ("key", "first", "then"),
    [
        ("param:window", ["v2", "v3", "v1"], ["v3", "v1", "v2"]),  # ties stay newest first
        ("metric:score", ["v2", "v3", "v1"], ["v3", "v1", "v2"]),
        ("variant", ["v3", "v2", "v1"], ["v1", "v2", "v3"]),
        ("status", ["v2", "v1", "v3"], ["v3", "v2", "v1"]),  # text sorts A→Z first
    ],
)
def test_sort_by_any_column_and_again_to_reverse(state, key, first, then):
    state.sort(key)
    assert names(state.visible_rows()) == first
    state.sort(key)
    assert names(state.visible_rows()) == then


def test_sorting_puts_rows_without_a_value_last_either_way(state):
    state.sort("tag")
    assert names(state.visible_rows())[0] == "v1"
    state.sort("tag")
    assert names(state.visible_rows())[0] == "v1"  # the untagged ones stay after it
    with pytest.raises(BadArgument, match="no column 'nope'"):
        state.sort("nope")


def test_pages_and_a_filter_goes_back_to_the_first_page(demo_store):
    add_variants(demo_store, 45)
    state = BrowserState(demo_store, "demo")
    assert state.total == 48 and state.page_count() == 3
    state.page = 2
    assert len(state.page_rows()) == 8
    state.page = 7  # clamped to the last page
    assert state.page == 2
    state.query = "window=10"  # window=10x
    assert state.page == 0 and len(state.visible_rows()) == 10


# -- selection, detail, compare, plots ----------------------------------------


def test_select_by_number_tag_or_hash_and_unknown_ones_are_refused(state):
    state.select("v1")
    assert state.selected == "demo/v1"
    state.select("demo/v2")
    assert state.selected == "demo/v2"
    state.select("baseline")
    assert state.selected == "demo/v1"
    state.select(state.row("demo/v3").identity[:8])
    assert state.selected == "demo/v3"
    with pytest.raises(BadArgument, match="No variant 'v9'"):
        state.select("v9")
    with pytest.raises(TraitError):
        state.selected = "demo/v9"
    assert state.selected == "demo/v3"


def test_detail_has_lineage_parameters_metrics_and_each_step_as_it_ran(state):
    detail = state.detail()
    assert (detail.name, detail.parent, detail.changed) == ("v3", "v1", ("smooth", "plot"))
    assert detail.params == {"window": 3, "column": "close"} and detail.metrics["score"] == 30.5
    load, smooth, plot = detail.steps
    assert (load.reuse, smooth.reuse, plot.reuse) == ("reused", "ran", "ran")  # load is v1's result
    assert "ewm(span=window)" in smooth.code and smooth.changed and not load.changed
    assert any("text/html" in event.get("data", {}) for event in load.events)  # the DataFrame's table
    assert [e["text"] for e in smooth.events if e["kind"] == "stream"] == ["window 3: 60 points\n"]
    assert any("image/png" in event.get("data", {}) for event in plot.events)


def test_compare_defaults_to_the_parent_and_shows_what_differs(state):
    assert state.baseline == "demo/v1"
    comparison = state.comparison()
    steps = {step.step: step for step in comparison.steps}
    assert (comparison.old, comparison.new) == ("v1", "v3")
    assert steps["smooth"].changed and "rolling" in steps["smooth"].old_code and "ewm" in steps["smooth"].new_code
    assert not steps["plot"].changed and steps["plot"].rerun  # same code, other input
    assert not steps["load"].changed and not steps["load"].rerun
    assert len(steps["plot"].old_images) == 1 and len(steps["plot"].new_images) == 1
    assert steps["plot"].old_images != steps["plot"].new_images
    changed_metrics = [m.name for m in comparison.metrics if m.changed]
    assert changed_metrics == ["last"] and not any(p.changed for p in comparison.params)
    state.compare_with("v2")
    assert [p.name for p in state.comparison().params if p.changed] == ["window"]
    state.select("v1")  # no parent: compared with the nearest variant
    assert state.baseline == "demo/v2" and (state.comparison().old, state.comparison().new) == ("v2", "v1")
    assert [ref for _, ref in state.compare_options()] == ["demo/v3", "demo/v2", "demo/v1"]
    state.compare_with("")
    assert state.comparison() is None


def test_metric_points_follow_the_filter_and_the_steps_graph_follows_data_flow(state):
    assert state.metric_names() == ["score", "last"] and state.metric == "score"
    assert [(label, value) for _, label, value in state.metric_points()[0]] == [("v1", 30.5), ("v2", 50.5), ("v3", 30.5)]
    state.query = "window=3"
    assert [label for _, label, _ in state.metric_points()[0]] == ["v1", "v3"]
    dag = state.dag()
    assert [node.step for node in dag.nodes] == ["load", "smooth", "plot"]
    assert set(dag.edges) == {("load", "smooth", ("prices",)), ("smooth", "plot", ("smooth",)), ("load", "plot", ("prices",))}
    assert [node.status for node in dag.nodes] == ["unknown"] * 3 and not dag.live  # no notebook: no staleness
    assert dag.nodes[1].params == ("column", "window") and dag.nodes[1].changed


# -- actions ------------------------------------------------------------------


def test_replay_with_an_edited_parameter_selects_the_new_variant(state):
    state.select("v1")
    made = state.replay_form({"window": "7", "column": '"close"'})
    assert made is not None and made.name == "v4" and made.params["window"] == 7
    assert state.selected == "demo/v4" and state.row("demo/v4").metrics["score"] == 70.5
    assert state.message_kind == "success" and "window=7" in state.message and "score = 70.5" in state.message
    assert [(p["step"], p["state"]) for p in state.progress] == [("load", "cached"), ("smooth", "ran"), ("plot", "ran")]
    again = state.replay()  # v4 with its own parameters: the same variant
    assert again.name == "v4" and "an existing variant" in state.message


def test_a_failing_replay_shows_the_users_traceback_and_changes_nothing_else(notebook, state):
    session = current_session()
    state.attach(session)
    state.select("v1")
    refs_before = sorted(session.store.refs.names("workflows/demo"))
    namespace_before = set(notebook.user_ns)
    assert state.replay_form({"window": '"wide"'}) is None
    assert state.message_kind == "error"
    assert "replay of demo/v1: step smooth failed" in state.message
    trace = state.message_detail
    assert trace.startswith("Traceback (most recent call last):")
    assert "step smooth, line 2, in <module>\n    smooth = prices[column].rolling(window).mean()" in trace
    assert "ValueError" in trace and "wfnb/" not in trace  # the user's frames, not wfnb's
    assert [(p["step"], p["state"]) for p in state.progress] == [("load", "cached"), ("smooth", "failed"), ("plot", "pending")]
    assert state.selected == "demo/v1" and state.total == 3
    assert sorted(session.store.refs.names("workflows/demo")) == refs_before  # no variant, no tag, same HEAD
    assert set(notebook.user_ns) == namespace_before and session.state.current == 3


def test_replay_refuses_an_unknown_parameter_before_running_anything(state):
    assert state.replay({"windw": 4}) is None
    assert state.message_kind == "error" and "has no parameter windw" in state.message
    assert state.progress == [] and not state.busy


def test_restore_checks_out_into_the_notebook(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    state.select("v2")
    restored = state.checkout()
    assert restored.name == "v2" and state.message_kind == "success"
    assert notebook.user_ns["window"] == 5 and notebook.user_ns["smooth"].notna().sum() == 56
    assert current_number(session.store, "demo") == 2
    assert state.row("demo/v2").status == "current"


def test_restore_says_why_it_cannot(notebook, demo_store):
    alone = BrowserState(demo_store, "demo")
    assert alone.checkout() is None
    assert "needs the notebook's kernel with wfnb loaded" in alone.message and "%wfnb checkout demo/v3" in alone.message
    notebook.run_line_magic("wfnb", "workflow other")
    session = current_session()
    state = BrowserState(session.store, "demo", session=session)
    assert state.checkout() is None
    assert "this notebook's workflow is other" in state.message and "%wfnb workflow demo" in state.message


def test_export_as_csv_and_clear_errors_for_a_bad_path(state, tmp_path):
    target = tmp_path / "v3.csv"
    assert state.export(str(target)) == target
    assert state.message_kind == "success" and target.read_text().count("\n") >= 4  # header and one row per step
    assert state.export(str(target)) is None and "already exists" in state.message
    assert state.export(str(target), overwrite=True) == target
    assert state.export(str(tmp_path / "v3.txt")) is None and "use .ipynb" in state.message
    assert state.export(str(tmp_path / "missing" / "v3.py")) is None and "does not exist" in state.message
    assert state.export("  ") is None and "Give a path" in state.message


@pytest.mark.parametrize(("suffix", "writer"), [(".ipynb", "write_notebook"), (".py", "write_script")])
def test_export_as_notebook_or_script(state, tmp_path, suffix, writer):
    interchange = pytest.importorskip("wfnb.interchange")
    if not hasattr(interchange, writer):
        pytest.skip(f"wfnb.interchange.{writer} is not written yet")
    target = tmp_path / f"v3{suffix}"
    assert state.export(str(target)) == target, state.message
    assert "ewm(span=window)" in target.read_text()


def test_tag_the_selected_variant(state):
    state.select("v2")
    tagged = state.tag("wide", "five days")
    assert tagged.tags == ("wide",) and state.row("demo/v2").tags == ("wide",)
    assert state.message == "Tagged demo/v2 as wide (five days)."
    assert state.tag("baseline") is None and "already names v1" in state.message
    assert state.tag("   ") is None and "Give the tag a name" in state.message
    assert state.tag("v7") is None and "looks like a variant number" in state.message


def test_actions_without_a_selection_say_so(tmp_path):
    empty = BrowserState(open_store(tmp_path / "empty"))
    assert empty.selected == "" and empty.detail() is None and empty.dag() is None
    assert empty.replay() is None and "No variant is selected" in empty.message
    assert "no variants yet" in empty.describe()


# -- live -----------------------------------------------------------------------


def test_live_refreshes_when_a_step_runs_and_marks_the_notebooks_stale_steps(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    notebook.run_line_magic("wfnb", "checkout v3")
    notebook.run_cell("%%params\nwindow = 4\ncolumn = 'close'")
    notebook.run_cell(demo_cell("smooth", rewritten=True))  # smooth ran; plot is now stale
    assert state.row("demo/v3").status == "stale"
    assert [n.status for n in state.dag().nodes] == ["fresh", "fresh", "stale"] and state.dag().live
    notebook.run_cell(demo_cell("plot"))
    assert state.total == 4 and state.row("demo/v4").params["window"] == 4
    assert state.row("demo/v4").status == "current" and state.row("demo/v3").status == "complete"
    state.live = False
    notebook.run_cell("%%params\nwindow = 6\ncolumn = 'close'")
    notebook.run_cell(demo_cell("smooth", rewritten=True))
    notebook.run_cell(demo_cell("plot"))
    assert state.total == 4  # not refreshed while Live is off
    state.refresh()
    assert state.total == 5


def test_a_dropped_browser_stops_listening(notebook):
    session = current_session()
    before = len(session.listeners)
    BrowserState(session.store, session=session)
    gc.collect()
    notebook.run_line_magic("wfnb", "checkout v2")
    assert len(session.listeners) == before


def test_text_form_is_the_table(state):
    text = state.describe()
    assert text.splitlines()[0] == "wfnb browser · workflow demo · 3 variants, newest first"
    assert text.splitlines()[1].split()[:3] == ["variant", "tag", "age"]
    assert text.splitlines()[4].startswith("v1") and "baseline" in text


def demo_cell(step: str, rewritten: bool = False) -> str:
    from . import demo_workflow

    cells = [demo_workflow.REWRITE] if rewritten else [*demo_workflow.CELLS, *demo_workflow.AFTER_REWRITE]
    return next(cell for cell in reversed(cells) if cell.startswith(f"%%step {step}\n"))


def test_store_paths_are_shown_absolute(state, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert state.export("relative.csv") == Path(tmp_path / "relative.csv")
    assert str(tmp_path) in state.message
