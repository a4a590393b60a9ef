"""Compare: the code of the ticked variants, no change in % for ids and categories, figures full size, groups."""

from __future__ import annotations

from wfnb.frontends.browser import details, render_compare
from wfnb.frontends.browser.panels import ComparePanel
from wfnb.frontends.browser.state import BrowserState

from .test_table_groups import add_study, study


def test_the_code_of_the_ticked_variants_is_compared_not_the_selected_ones_parent(demo_store):
    state = BrowserState(demo_store, "demo")
    state.select("v3")
    state.tick("v2")
    state.tick("v3")
    comparisons = state.comparisons()
    assert [(c.old, c.new) for c in comparisons] == [("v2", "v3")]  # not v1 → v3, the selected one's parent
    state.tick("v1")
    assert [(c.old, c.new) for c in state.comparisons()] == [("v2", "v3"), ("v2", "v1")]  # each against the first ticked
    panel = ComparePanel(state)
    panel.draw()
    assert panel.code.value.count("wfnb-diff") >= 1 and "Code: v2 → v3" in panel.code.value and "Code: v2 → v1" in panel.code.value
    assert panel.compare_to.layout.display == "none"  # the dropdown is for the selected variant alone
    state.ticked = []
    panel.draw()
    assert "Code: v1 → v3" in panel.code.value and panel.compare_to.layout.display is None


def test_no_change_in_percent_for_a_seed_or_an_id(demo_store):
    add_study(demo_store, [({"seed": seed, "run_id": 10 + seed, "lr": 0.1 * (seed + 1)}, {"score": float(seed)}) for seed in (1, 2)])
    state = BrowserState(demo_store, "demo")
    state.tick("v4")
    state.tick("v5")
    html = render_compare.side_by_side_html(state.side_by_side())
    rows = {row.split("</th>")[0].rsplit(">", 1)[-1]: row for row in html.split("<tr")[1:]}
    assert "wfnb-delta" not in rows["seed"] and "wfnb-delta" not in rows["run_id"]
    assert "(+50.0%)" in rows["lr"]  # a measured setting keeps its change: 0.2 → 0.3


def test_figures_in_compare_open_full_size_on_a_click(demo_store):
    state = BrowserState(demo_store, "demo")
    state.tick("v1")
    state.tick("v2")
    html = render_compare.side_by_side_html(state.side_by_side())
    assert html.count('class="wfnb-zoomable"') == 2 and render_compare.ZOOM in html


def test_grouped_compare_shows_each_groups_mean_std_and_range(demo_store):
    study(demo_store)
    state = BrowserState(demo_store, "demo")
    state.query = "lr > 0"
    state.group()
    panel = ComparePanel(state)
    panel.draw()
    assert "Groups" in panel.side.value and "11 ± 1" in panel.side.value and "10 – 12" in panel.side.value
    assert isinstance(state.comparison(), details.Comparison)
