"""The browser's model without any widget: listing, filters, columns, selection, compare, plots, live."""

from __future__ import annotations

import gc

import pytest
from traitlets import TraitError

from wfnb.errors import BadArgument
from wfnb.frontends.browser import table
from wfnb.frontends.browser.state import BrowserState
from wfnb.history.session import current_session

from .conftest import add_variants, demo_cell


def names(rows: list[table.Row]) -> list[str]:
    return [row.name for row in rows]


@pytest.fixture
def state(demo_store) -> BrowserState:
    return BrowserState(demo_store, "demo")


# -- listing, sorting, paging, columns -----------------------------------------


def test_variants_are_listed_newest_first_with_a_column_per_parameter_and_metric(state):
    assert names(state.page_rows()) == ["v3", "v2", "v1"]
    keys = [column.key for column in state.columns()]
    assert keys == ["variant", "metric:score", "metric:last", "param:column", "param:window", "status", "tag", "changed", "age"]
    v1 = state.row("demo/v1")
    assert v1.tags == ("baseline",) and v1.params["window"] == 3 and v1.metrics["score"] == 30.5
    assert [row.status for row in state.page_rows()] == ["current", "", ""]
    assert state.row("demo/v3").changed == ("smooth", "plot")
    assert state.selected == "demo/v3"  # the current variant is selected at first


def test_changed_steps_tell_a_code_change_from_a_parameter_or_input_change(state):
    assert state.change_kinds("demo/v3") == {"smooth": "code", "plot": "inputs"}  # smooth rewritten, plot re-ran on it
    assert state.change_kinds("demo/v2") == {"smooth": "params", "plot": "inputs"}  # a replay with window=5
    assert state.change_kinds("demo/v1") == dict.fromkeys(["load", "smooth", "plot"], "new")  # the first variant


def test_every_workflow_lists_them_all_with_a_workflow_column(state):
    state.workflow = ""
    assert [column.key for column in state.columns()][:2] == ["variant", "workflow"]
    assert len(state.visible_rows()) == 3
    assert state.workflows == ["demo"]


@pytest.mark.parametrize(
    ("key", "first", "then"),
    [
        ("param:window", ["v2", "v3", "v1"], ["v3", "v1", "v2"]),  # ties stay newest first
        ("metric:score", ["v2", "v3", "v1"], ["v3", "v1", "v2"]),
        ("variant", ["v3", "v2", "v1"], ["v1", "v2", "v3"]),
        ("status", ["v3", "v2", "v1"], ["v3", "v2", "v1"]),  # text sorts A→Z first; rows without a status last
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
    state.query = "window >= 110 and window < 120"
    assert state.page == 0 and len(state.visible_rows()) == 10


def test_columns_can_be_hidden_and_shown_again_but_never_the_variant(state):
    state.show_column("param:column", False)
    state.show_column("status", False)
    state.show_column("variant", False)
    assert [c.key for c in state.shown_columns()] == ["variant", "metric:score", "metric:last", "param:window", "tag", "changed", "age"]
    assert len(state.columns()) == 9  # hidden, not gone: the filter and the plots still know them
    state.show_column("status", True)
    assert "status" in [c.key for c in state.shown_columns()] and state.hidden == ["param:column"]


def test_a_numeric_column_shows_one_number_of_decimals_so_that_its_points_line_up():
    assert table.column_decimals([0.9912, 0.98, 0.5]) == 4
    assert [table.format_value(v, 4) for v in (0.9912, 0.98, 0.5)] == ["0.9912", "0.9800", "0.5000"]
    assert table.column_decimals([30.5, 50.5, 70.25]) == 2 and table.column_decimals([3, 5]) is None
    assert table.column_decimals([0.123456789]) == 5  # five significant digits at most
    assert table.format_value(0.00001234, 4) == "1.2340e-05"  # would read 0.0000
    assert table.format_value(123456.789, None) == "1.2346e+05" and table.format_value(123456.789, 1) == "123456.8"


# -- the filter -------------------------------------------------------------------


def test_a_filter_compares_numbers_as_numbers_so_10_never_matches_100(demo_store):
    add_variants(demo_store, 1)  # v4: window=100
    state = BrowserState(demo_store, "demo")
    state.query = "window == 100"
    assert names(state.visible_rows()) == ["v4"]
    state.query = "window=10"  # no spaces needed; and 10 is not 100
    assert names(state.visible_rows()) == []
    state.query = "window = 3.0"
    assert names(state.visible_rows()) == ["v3", "v1"]
    state.query = "score > 40"
    assert names(state.visible_rows()) == ["v2"]
    state.query = "metrics.score <= 30.5 and params.window != 5"  # v4 has v1's steps, so v1's metrics
    assert names(state.visible_rows()) == ["v4", "v3", "v1"]
    state.query = "column == close and window < 4"
    assert names(state.visible_rows()) == ["v3", "v1"]
    state.query = "column ~ clo, variant >= 2"
    assert names(state.visible_rows()) == ["v4", "v3", "v2"]


def test_a_filter_knows_tags_steps_status_and_plain_words(state):
    state.query = "tag:baseline"
    assert names(state.visible_rows()) == ["v1"]
    state.query = "tagged or status:current"
    assert names(state.visible_rows()) == ["v3", "v1"]
    state.query = "not tag:baseline and (window = 5 or step:plot)"
    assert names(state.visible_rows()) == ["v3", "v2"]
    state.query = "FIRST try"  # words of a tag's note, case-insensitive
    assert names(state.visible_rows()) == ["v1"]
    state.query = "v2"  # the variant by name, exactly
    assert names(state.visible_rows()) == ["v2"]
    state.query = "nothing-like-this"
    assert state.visible_rows() == [] and state.page_count() == 1 and state.query_error == ""


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("accuracy > 0.99", "no parameter or metric is named 'accuracy' (parameters: column, window; metrics: score, last)"),
        ("Window > 3", "names are case-sensitive: window?"),
        ("score >", "'score >' needs a value after it"),
        ("(score > 3", "a '(' is not closed"),
        ("score > 3 and", "'and' needs a term after it"),
        ("column = 'close", "a quote is not closed"),
        ("> 3", "'>' cannot start a term"),
    ],
)
def test_a_filter_it_cannot_read_says_so_and_filters_nothing(state, query, says):
    state.query = query
    assert says in state.query_error and "Write comparisons such as" in state.query_error
    assert len(state.visible_rows()) == 3  # every variant, rather than a silent "no match"
    state.query = "score > 40"
    assert state.query_error == "" and names(state.visible_rows()) == ["v2"]


def test_filter_by_the_tag_dropdown(state):
    state.tag_filter = "baseline"
    assert names(state.visible_rows()) == ["v1"]
    state.tag_filter = table.TAGGED
    assert names(state.visible_rows()) == ["v1"]
    state.tag_filter = table.ANY_TAG
    assert len(state.visible_rows()) == 3
    assert ("baseline", "baseline") in state.tag_options()


# -- selection, detail, compare, plots ----------------------------------------


def test_select_by_number_tag_or_hash_and_unknown_ones_are_refused(state):
    state.select("v1")
    assert state.selected == "demo/v1"
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


def test_the_code_is_compared_with_the_parent_by_default(state):
    assert state.baseline == "demo/v1"
    comparison = state.comparison()
    steps = {step.step: step for step in comparison.steps}
    assert (comparison.old, comparison.new) == ("v1", "v3")
    assert steps["smooth"].changed and "rolling" in steps["smooth"].old_code and "ewm" in steps["smooth"].new_code
    assert not steps["plot"].changed and steps["plot"].rerun  # same code, other input
    assert not steps["load"].changed and not steps["load"].rerun
    state.compare_with("v2")
    assert (state.comparison().old, state.comparison().new) == ("v2", "v3")
    state.select("v1")  # no parent: compared with the nearest variant
    assert state.baseline == "demo/v2"
    assert [ref for _, ref in state.compare_options()] == ["demo/v3", "demo/v2", "demo/v1"]
    state.compare_with("")
    assert state.comparison() is None


def test_three_variants_side_by_side_parameters_metrics_and_figures(state):
    assert state.compared() == ["demo/v1", "demo/v3"]  # nothing ticked: the baseline and the selected one
    for ref in ("v1", "v2", "v3"):
        state.tick(ref)
    assert state.ticked == ["demo/v1", "demo/v2", "demo/v3"] and state.compared() == state.ticked
    side = state.side_by_side()
    assert [v.name for v in side.variants] == ["v1", "v2", "v3"] and side.variants[0].tags == ("baseline",)
    window = next(row for row in side.params if row.name == "window")
    assert window.values == (3, 5, 3) and window.differs
    assert not next(row for row in side.params if row.name == "column").differs
    assert next(row for row in side.metrics if row.name == "score").values == (30.5, 50.5, 30.5)
    assert side.changed == ((), ("smooth", "plot"), ("smooth", "plot"))  # against the first
    assert [row.step for row in side.figures] == ["plot"] and all(len(images) == 1 for images in side.figures[0].images)
    state.tick("v2")  # untick
    assert state.ticked == ["demo/v1", "demo/v3"]


def test_plots_offer_every_parameter_and_metric_and_start_from_what_varies(state):
    assert state.axis_options()[0] == ("variant (order made)", "variant")
    assert ("window (parameter)", "param:window") in state.axis_options() and ("score (metric)", "metric:score") in state.axis_options()
    assert (state.x_axis, state.y_axis, state.color_by) == ("param:window", "metric:score", "")
    rows, left_out = state.plot_rows()
    assert names(rows) == ["v1", "v2", "v3"] and left_out == 0
    assert [c.key for c in state.varying_columns()] == ["param:window", "metric:score", "metric:last"]
    state.query = "window = 3"
    assert names(state.plot_rows()[0]) == ["v1", "v3"]


def test_the_step_graph_follows_data_flow(state):
    dag = state.dag()
    assert [node.step for node in dag.nodes] == ["load", "smooth", "plot"]
    assert set(dag.edges) == {("load", "smooth", ("prices",)), ("smooth", "plot", ("smooth",)), ("load", "plot", ("prices",))}
    assert [node.status for node in dag.nodes] == ["unknown"] * 3 and not dag.live  # no notebook: no staleness
    assert dag.nodes[1].params == ("column", "window") and dag.nodes[1].changed


def test_the_notebooks_stale_marks_are_shown_on_its_own_variant_only(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    notebook.run_line_magic("wfnb", "checkout v3")  # its values in the namespace, as after running the notebook
    notebook.run_cell("%%params\nwindow = 4\ncolumn = 'close'")
    notebook.run_cell(demo_cell("smooth", rewritten=True))  # smooth ran; plot is now stale
    assert state.row("demo/v3").status == "stale"
    assert [n.status for n in state.dag().nodes] == ["fresh", "fresh", "stale"] and state.dag().live
    state.select("v2")  # another variant: the notebook's marks are not its own
    dag = state.dag()
    assert not dag.live and [n.status for n in dag.nodes] == ["unknown"] * 3
    assert "the notebook is at v3" in dag.title


# -- live ---------------------------------------------------------------------------


def test_rerunning_the_params_cell_shows_the_current_variant_stale_at_once(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    notebook.run_line_magic("wfnb", "checkout v3")
    assert state.row("demo/v3").status == "current"
    notebook.run_cell("%%params\nwindow = 4\ncolumn = 'close'")
    assert state.row("demo/v3").status == "stale"
    notebook.run_cell("%%params\nwindow = 3\ncolumn = 'close'")  # back as it was
    notebook.run_cell(demo_cell("smooth", rewritten=True))
    notebook.run_cell(demo_cell("plot"))
    assert state.row("demo/v3").status == "current"


def test_a_replay_a_sweep_and_a_tag_in_cells_reach_every_open_browser(notebook):
    session = current_session()
    following = BrowserState(session.store, session=session)
    other = BrowserState(session.store, "demo")  # not the notebook's: it still sees the store change
    assert notebook.run_cell("import wfnb\nmade = wfnb.replay('v1', window=7)").success
    assert following.total == other.total == 4 and following.row("demo/v4").params["window"] == 7
    assert notebook.run_cell("wfnb.tag('v4', 'week', note='seven days')").success
    assert following.row("demo/v4").tags == ("week",) and other.row("demo/v4").tags == ("week",)
    try:
        result = notebook.run_cell("table = wfnb.sweep('v1', grid={'window': [8, 9]}, n_jobs=2, progress=False)")
    finally:  # loky keeps its worker processes for the next sweep, with this test's environment: not for other tests
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    assert result.success, result.error_in_exec
    assert following.total == other.total == 6  # the points, recorded by worker processes
    assert sorted(following.row(f"demo/v{n}").params["window"] for n in (5, 6)) == [8, 9]
    notebook.run_line_magic("wfnb", "checkout v2")
    assert following.row("demo/v2").status == "current" and other.row("demo/v2").status == "current"


def test_live_off_reads_nothing_until_a_refresh(notebook):
    session = current_session()
    state = BrowserState(session.store, session=session)
    state.live = False
    notebook.run_cell("import wfnb\nmade = wfnb.replay('v1', window=6)")
    assert state.total == 3
    state.refresh()
    assert state.total == 4


def test_a_dropped_browser_stops_listening(notebook):
    from wfnb.store import changes

    session = current_session()
    gc.collect()  # browsers dropped by earlier tests may sit in reference cycles (on Python 3.13, they do)
    notebook.run_line_magic("wfnb", "checkout v3")  # ... and stop listening here
    before, subscribed = len(session.listeners), len(changes._listeners)
    BrowserState(session.store, session=session)
    gc.collect()
    notebook.run_line_magic("wfnb", "checkout v2")
    assert len(session.listeners) == before and len(changes._listeners) == subscribed


def test_text_form_is_the_table(state):
    text = state.describe()
    assert text.splitlines()[0] == "wfnb browser · workflow demo · 3 variants, newest first"
    assert text.splitlines()[1].split()[:3] == ["variant", "score", "last"]
    assert text.splitlines()[4].startswith("v1") and "baseline" in text
