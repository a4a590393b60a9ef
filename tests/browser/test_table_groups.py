"""The table a data scientist reads first: metrics on the left, a remembered column choice, a branch
column, a status that says something, and variants grouped by their settings with mean ± std."""

from __future__ import annotations

import pytest

from wfnb.frontends.browser import grouping, table
from wfnb.frontends.browser.state import BrowserState
from wfnb.history.snapshots import load_variant, record_variant
from wfnb.history.state import WorkflowState
from wfnb.store import Store


def add_study(store: Store, points: list[tuple[dict, dict]]) -> None:
    """Variants of ``demo`` with extra parameters and their own metrics (what a sweep over seeds leaves)."""
    base = load_variant(store, "demo", 1)
    records = {s.step: dict(s.record) for s in base.steps}
    for params, metrics in points:
        records["smooth"] = {**records["smooth"], "metrics": metrics, "key": f"k{len(params)}-{sorted(params.items())}"}
        state = WorkflowState("demo", order=[s.step for s in base.steps], records={k: dict(v) for k, v in records.items()})
        state.params = {**base.params, **params}
        record_variant(store, state, parent=1)


def study(store: Store) -> None:
    """lr ∈ {0.01, 0.1} × 3 seeds: score = lr * 100 + seed."""
    add_study(store, [({"lr": lr, "seed": seed}, {"score": lr * 100 + seed}) for lr in (0.01, 0.1) for seed in (0, 1, 2)])


def test_the_default_columns_lead_with_the_metrics(demo_store):
    state = BrowserState(demo_store, "demo")
    keys = [column.key for column in state.shown_columns()]
    assert keys[:3] == ["variant", "metric:score", "metric:last"]
    assert keys.index("param:window") < keys.index("status") < keys.index("age")
    state.workflow = ""
    assert [column.key for column in state.shown_columns()][:3] == ["variant", "workflow", "metric:score"]


def test_status_says_current_or_freed_and_nothing_for_a_plain_variant(demo_store):
    from wfnb.history.letgo import mark_let_go

    mark_let_go(demo_store, ["demo/v1"])
    state = BrowserState(demo_store, "demo")
    assert {row.name: row.status for row in state.visible_rows()} == {"v3": "current", "v2": "", "v1": "freed"}
    state.query = "status:freed"
    assert [row.name for row in state.visible_rows()] == ["v1"]


def test_the_column_choice_is_remembered_per_workflow_in_the_store(demo_store):
    state = BrowserState(demo_store, "demo")
    state.show_column("param:window", False)
    state.show_column("age", False)
    again = BrowserState(demo_store, "demo")  # another kernel, another day
    assert again.hidden == ["param:window", "age"]
    assert "param:window" not in [c.key for c in again.shown_columns()]
    assert demo_store.refs.read("workflows/demo/browser")["hidden"] == ["param:window", "age"]
    again.hidden = []
    assert BrowserState(demo_store, "demo").hidden == []


def test_a_branch_column_shows_the_branch_each_variant_took(demo_store):
    base = load_variant(demo_store, "demo", 1)
    records = {s.step: dict(s.record) for s in base.steps}
    records["smooth"] = {**records["smooth"], "branches": [{"line": 2, "paths": ["if method == 'ewm'", "else"], "taken": "else"}], "key": "branched"}
    state = WorkflowState("demo", order=[s.step for s in base.steps], records=records)
    state.params = {**base.params, "window": 11}
    record_variant(demo_store, state, parent=1)
    browser = BrowserState(demo_store, "demo")
    assert "branch" in [c.key for c in browser.columns()]
    assert table.cell_value(browser.row("demo/v4"), "branch") == "else"
    assert table.cell_value(browser.row("demo/v1"), "branch") is None


def test_seed_like_parameters_are_left_out_of_the_default_grouping(demo_store):
    study(demo_store)
    state = BrowserState(demo_store, "demo")
    assert sorted(state.default_group_by()) == ["column", "lr", "window"]
    rows = list(state._rows.values())
    assert grouping.seed_like(rows) == ["seed"]


def test_a_seed_named_parameter_that_never_varies_is_a_setting(demo_store):
    add_study(demo_store, [({"seed": 0, "lr": lr}, {"score": lr}) for lr in (0.1, 0.2)])
    state = BrowserState(demo_store, "demo")
    assert "seed" in state.default_group_by()


def test_grouped_the_table_shows_count_and_mean_std_min_max_of_every_metric(demo_store):
    study(demo_store)
    state = BrowserState(demo_store, "demo")
    state.query = "lr > 0"
    state.group()
    groups = state.groups()
    assert [(g.params["lr"], g.size) for g in groups] in ([(0.1, 3), (0.01, 3)], [(0.01, 3), (0.1, 3)])
    high = next(g for g in groups if g.params["lr"] == 0.1)
    score = high.stats["score"]
    assert (score.count, score.mean, score.std, score.low, score.high) == (3, pytest.approx(11.0), pytest.approx(1.0), 10.0, 12.0)
    state.sort("metric:score")
    assert [g.params["lr"] for g in state.groups()] == [0.1, 0.01]  # by the mean, highest first
    assert state.page_groups() == state.groups()


def test_one_click_on_a_group_lists_its_members(demo_store):
    study(demo_store)
    state = BrowserState(demo_store, "demo")
    state.query = "lr > 0"
    state.group()
    high = next(g for g in state.groups() if g.params["lr"] == 0.1)
    state.expand(high.key)
    assert not state.grouped
    assert sorted(row.params["seed"] for row in state.visible_rows()) == [0, 1, 2]
    assert {row.params["lr"] for row in state.visible_rows()} == {0.1}


def test_grouping_is_remembered_with_the_columns(demo_store):
    study(demo_store)
    state = BrowserState(demo_store, "demo")
    state.group(by=["lr"])
    again = BrowserState(demo_store, "demo")
    assert again.grouped and again.grouping_params() == ["lr"]
    assert sorted(g.size for g in again.groups()) == [3, 3, 3]  # v1-v3 have no lr: one group of their own


def test_the_view_groups_with_one_button_and_a_click_on_a_group_lists_its_members(demo_store):
    from wfnb.frontends.browser.view import BrowserView

    study(demo_store)
    view = BrowserView(BrowserState(demo_store, "demo"))
    view.search.value = "lr > 0"
    view.group_button.value = True
    assert view.state.grouped
    html = view.table.value
    assert "wfnb-grouped" in html and "3 variants" in html
    assert "11 ± 1" in html and "10 – 12" in html  # lr=0.1: scores 10, 11, 12
    assert "seed" in view.group_note.value  # says what was averaged over
    high = next(g for g in view.state.groups() if g.params["lr"] == 0.1)
    view.bridge.send("expand", high.key)
    assert not view.group_button.value and view.search.value == "(lr > 0) and lr == 0.1"
    assert "wfnb-grouped" not in view.table.value and view.table.value.count('class="wfnb-row') == 3
    view.close()


def test_a_group_whose_values_cannot_be_written_as_a_filter_lists_its_members_by_name(demo_store):
    add_study(demo_store, [({"layers": [8, 8], "seed": seed}, {"score": seed}) for seed in (0, 1)])
    state = BrowserState(demo_store, "demo")
    state.group()
    group = next(g for g in state.groups() if g.params.get("layers") == [8, 8])
    state.expand(group.key)
    assert state.query == "(v5 or v4)" and not state.query_error
    assert sorted(row.name for row in state.visible_rows()) == ["v4", "v5"]


def test_the_view_groups_by_the_parameters_ticked(demo_store):
    from wfnb.frontends.browser.view import BrowserView

    study(demo_store)
    view = BrowserView(BrowserState(demo_store, "demo"))
    assert view.group_by.layout.display == "none"
    view.search.value = "lr > 0"
    view.group_button.value = True
    boxes = {box.description: box for box in view.group_by.children[1:]}
    assert {name: box.value for name, box in boxes.items()} == {"column": True, "window": True, "lr": True, "seed": False}
    boxes["lr"].value = False
    boxes["seed"].value = True
    assert view.state.grouping_params() == ["column", "window", "seed"]
    assert sorted(g.size for g in view.state.groups()) == [2, 2, 2]  # each seed over the two learning rates
    view.close()


def test_groups_sort_by_their_size(demo_store):
    study(demo_store)
    state = BrowserState(demo_store, "demo")
    state.group(by=["lr"])
    state.sort("count")
    assert [g.size for g in state.groups()] == [3, 3, 3]
    add_study(demo_store, [({"lr": 0.5, "seed": seed}, {"score": 1.0}) for seed in (0, 1, 2, 3)])
    state.refresh()
    assert [g.size for g in state.groups()][0] == 4 and state.descending  # the largest first


def test_a_browser_that_only_looks_remembers_nothing_in_the_store(demo_store):
    state = BrowserState(demo_store, "demo")
    state.read_only = True  # as wfnb ui sets it (BrowserState(read_only=True) on main)
    state.show_column("age", False)
    assert state.hidden == ["age"] and demo_store.refs.read("workflows/demo/browser") is None
    assert state.write_cells() is None and "only looks" in state.notice("restore")["text"]
