"""The browser's widgets in plain pytest: set values, click buttons and HTML elements, check state and HTML.

A click inside the table or a plot is what the page's handler sends through
the hidden field (``view.bridge.send`` does the same from Python); the
end-to-end tests click the real elements in Chromium.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from IPython.utils.capture import capture_output

import wfnb
from wfnb.errors import BadArgument
from wfnb.frontends.browser import actions, bridge
from wfnb.frontends.browser.state import BrowserState
from wfnb.frontends.browser.view import TABS, BrowserView

from .conftest import add_variants, demo_cell

WAIT = 180  # seconds: a guard against a hung worker, not a speed claim


@pytest.fixture(autouse=True)
def _notices_stay(monkeypatch):
    monkeypatch.setattr(actions, "NOTICE_SECONDS", 0)


@pytest.fixture
def view(demo_store) -> BrowserView:
    return BrowserView(BrowserState(demo_store, "demo"))


def shown_rows(view: BrowserView) -> list[str]:
    """The variant names in the table's rows, top to bottom."""
    return re.findall(r'<span class="wfnb-variant">(v\d+)</span>', view.table.value)


def selected_rows(view: BrowserView) -> list[str]:
    return re.findall(r'<tr class="wfnb-row wfnb-selected[^"]*" data-ref="[^"]*/(v\d+)"', view.table.value)


def open_tab(view: BrowserView, name: str) -> None:
    view.tabs.selected_index = TABS.index(name)


def test_the_table_is_one_html_table_with_grouped_headers_and_the_detail_opens_folded(view):
    html = view.table.value
    assert shown_rows(view) == ["v3", "v2", "v1"] and selected_rows(view) == ["v3"]
    assert '<th class="wfnb-group-head wfnb-g-param wfnb-group" colspan="2">parameters</th>' in html
    assert '<th class="wfnb-group-head wfnb-g-metric wfnb-group" colspan="2">metrics</th>' in html
    assert 'aria-sort="descending"' in html and "age ▼" in html
    assert '<td class="wfnb-col-metric wfnb-group-start wfnb-num" title="30.5">30.5</td>' in html
    assert '<td class="wfnb-col-metric wfnb-num" title="105.474">105.47</td>' in html  # 5 digits; as many decimals as the column needs
    assert 'title="smooth: its code changed">✎smooth</span>' in html and 'title="plot: same code and parameters' in html
    assert '<span class="wfnb-tag">baseline</span>' in html
    assert view.heading.value == "demo · 3 variants"
    detail = view.detail.value
    assert "demo / v3" in detail and "parent <b>v1</b>" in detail and " open>" not in detail  # folded
    order = re.findall(r'<span class="wfnb-step-name">(\w+)</span>', detail)
    assert order == ["smooth", "plot", "load"] and "the changed ones first" in detail
    # a folded step already carries its code and figure: the page unfolds it at once, with no kernel round trip
    assert '<span class="tok-n">plt</span>' in detail and 'src="data:image/png;base64,' in detail
    view.bridge.send("step", "plot")  # what a click on its summary tells the kernel, once the page has opened it
    assert view.detail.value == detail  # nothing sent back
    view.state.refresh()  # a redraw (the store changed) keeps it open
    assert re.findall(r'<details class="wfnb-step"( open)?>', view.detail.value) == ["", " open", ""]
    view.bridge.send("step", "plot")
    view.state.refresh()
    assert " open>" not in view.detail.value


def test_clicks_in_the_table_select_tick_and_sort(view):
    view.bridge.send("select", "demo/v1")
    assert view.state.selected == "demo/v1" and selected_rows(view) == ["v1"]
    assert "demo / v1" in view.detail.value and "no parent (first variant)" in view.detail.value
    open_tab(view, "Actions")
    assert [f.description for f in view.actions.form.children[1:]] == ["column", "window"]
    assert view.actions.export_path.value == "demo-v1.ipynb"
    view.bridge.send("tick", "demo/v1")
    view.bridge.send("tick", "demo/v2")
    assert view.state.ticked == ["demo/v1", "demo/v2"] and view.table.value.count("☑") == 2
    assert "ticked: v1, v2" in view.ticked_note.value and not view.compare_ticked.disabled
    view.bridge.send("sort", "param:window")
    assert view.state.sort_by == "param:window" and shown_rows(view) == ["v2", "v3", "v1"] and "window ▼" in view.table.value
    view.bridge.send("select", "demo/v9")  # a row that has gone meanwhile: nothing happens
    assert view.state.selected == "demo/v1"
    view.events.value = "41|select|demo/v2"  # what the page's handler writes into the hidden field
    assert view.state.selected == "demo/v2"


def test_the_page_handler_is_on_the_container_and_each_element_names_its_action(view):
    html = view.table.value
    assert html.startswith(f'<div class="wfnb-table-scroll" {bridge.on_click_attribute()}>')
    assert 'data-wfnb="select|demo/v3" tabindex="0"' in html and 'data-wfnb="tick|demo/v3"' in html and 'data-wfnb="sort|metric:score"' in html
    assert "wfnb-events" in view.events._dom_classes and view.events.layout.display == "none"
    assert bridge.decode("12|select|a/v1") == ("select", "a/v1") and bridge.decode("select|a") is None


def test_the_filter_box_drives_the_table_and_says_what_it_cannot_read(view):
    view.search.value = "window = 5"
    assert view.state.query == "window = 5" and shown_rows(view) == ["v2"]
    assert "1 match the filter" in view.page.value and view.filter_note.value == ""
    view.search.value = "accuracy>0.99"
    assert shown_rows(view) == ["v3", "v2", "v1"]
    assert "no parameter or metric is named &#x27;accuracy&#x27;" in view.filter_note.value and "wfnb-msg-error" in view.filter_note.value
    view.search.value = ""
    view.tag.value = "baseline"
    assert view.state.tag_filter == "baseline" and shown_rows(view) == ["v1"]


def test_columns_can_be_hidden_from_the_columns_panel(view):
    view.columns_button.value = True
    boxes = {box.description: box for row in view.columns_panel.children[:-1] for box in row.children[1:]}
    assert set(boxes) == {"tag", "age", "changed steps", "status", "column", "window", "score", "last"}
    boxes["column"].value = False
    boxes["last"].value = False
    assert "param:column" in view.state.hidden and "sort|param:column" not in view.table.value
    assert view.columns_button.description == "Columns (2 hidden)"
    assert 'colspan="1">parameters</th>' in view.table.value
    view.columns_panel.children[-1].click()  # show all
    assert view.state.hidden == [] and "sort|param:column" in view.table.value


def test_compare_shows_the_ticked_variants_side_by_side_and_the_code_diff(view):
    assert view.compare.side.value == ""  # drawn when its tab opens
    for ref in ("demo/v1", "demo/v2", "demo/v3"):
        view.bridge.send("tick", ref)
    view.compare_ticked.click()
    assert view.tabs.selected_index == TABS.index("Compare")
    side = view.compare.side.value
    assert "Side by side: v1, v2, v3" in view.compare.title.value
    assert '<tr class="wfnb-changed"><th>window</th>' in side and side.count("<img") == 3  # plot's figure, each variant
    assert 'class="wfnb-num wfnb-high" title="the highest of the compared">50.5 <span class="wfnb-delta">+20 (+65.6%)</span>' in side
    code = view.compare.code.value  # the ticked variants' code, each against the first ticked
    assert "Code: v1 → v2" in code and "Code: v1 → v3" in code
    assert '<span class="wfnb-chg">rolling</span>' in code and '<span class="wfnb-chg">ewm</span>' in code
    view.clear_ticks.click()
    view.compare.compare_to.value = "demo/v2"
    assert view.state.baseline == "demo/v2" and "Code: v2 → v3" in view.compare.code.value
    assert view.state.ticked == [] and "Side by side: v2, v3" in view.compare.title.value


def test_plots_scatter_any_column_against_another_and_a_click_selects(view):
    open_tab(view, "Plots")
    chart = view.plots.chart.value
    assert chart.count('class="wfnb-point"') == 3 and 'data-wfnb="select|demo/v2"' in chart
    assert "<title>v2 · window = 5 · score = 50.5</title>" in chart and ">window</text>" in chart
    view.plots.color_by.value = "metric:last"
    assert "<title>v2 · window = 5 · score = 50.5 · last = " in view.plots.chart.value and "linearGradient" in view.plots.chart.value
    view.plots.x_axis.value = "metric:last"
    assert view.state.x_axis == "metric:last"
    view.bridge.send("select", "demo/v2")  # a click on a point
    assert view.state.selected == "demo/v2" and 'stroke-width="3" data-wfnb="select|demo/v2"' in view.plots.chart.value
    view.plots.kind.value = "parallel"
    chart = view.plots.chart.value
    assert chart.count('class="wfnb-line"') == 3 and ">window</text>" in chart and ">score</text>" in chart
    assert "<svg" in view.plots.dag.value and ">smooth</text>" in view.plots.dag.value


def test_two_graphs_never_share_an_arrowhead_id(demo_store):
    first, second = BrowserView(BrowserState(demo_store, "demo")), BrowserView(BrowserState(demo_store, "demo"))
    for one in (first, second):
        open_tab(one, "Plots")
    ids = [re.search(r'<marker id="([^"]+)"', one.plots.dag.value).group(1) for one in (first, second)]
    assert ids[0] != ids[1] and f"url(#{ids[0]})" in first.plots.dag.value


def test_replay_from_the_form_runs_in_the_background_with_a_cancel_button(view):
    view.bridge.send("select", "demo/v1")
    open_tab(view, "Actions")
    window = next(f for f in view.actions.form.children if getattr(f, "description", "") == "window")
    window.value = "7"
    view.actions.replay.click()
    assert view.actions.replay.disabled and view.actions.cancel.layout.display is None  # while it runs
    view.state.wait(WAIT)
    assert view.state.selected == "demo/v4" and shown_rows(view)[0] == "v4"
    run = view.actions.notices["run"].value
    assert "wfnb-msg-success" in run and "score = 70.5" in run and 'data-wfnb="dismiss|run"' in run
    assert view.actions.notices["tag"].value == ""  # each result next to its own action
    bars = [row.children[1] for row in view.actions.progress.children]
    assert [(b.value, b.bar_style) for b in bars] == [(1.0, "info"), (1.0, "success"), (1.0, "success")]
    assert not view.actions.replay.disabled and view.actions.cancel.layout.display == "none"
    view.bridge.send("dismiss", "run")
    assert view.actions.notices["run"].value == ""
    view.bridge.send("select", "demo/v2")
    assert view.actions.progress.children == ()  # the old bars go with the old selection


def test_a_failed_replay_shows_the_traceback_next_to_its_button(view):
    field = next(f for f in view.actions.form.children if getattr(f, "description", "") == "window")
    field.value = "-1"
    view.actions.replay.click()
    view.state.wait(WAIT)
    html = view.actions.notices["run"].value
    assert "wfnb-msg-error" in html and "step smooth failed" in html
    assert '<pre class="wfnb-trace">Traceback (most recent call last):' in html and "ValueError" in html
    assert view.actions.progress.children[1].children[1].bar_style == "danger"
    assert shown_rows(view) == ["v3", "v2", "v1"] and not view.actions.replay.disabled


def test_the_sweep_button_counts_its_points(view):
    field = next(f for f in view.actions.form.children if getattr(f, "description", "") == "window")
    assert view.actions.sweep.disabled and view.actions.points.value == ""
    field.value = "3, 5, 7"
    assert not view.actions.sweep.disabled and "3 = 3 points" in view.actions.points.value


def test_export_follows_the_format_and_tag_clears_its_fields(view, tmp_path):
    view.actions.export_format.value = ".csv"
    assert view.actions.export_path.value == "demo-v3.csv"
    view.actions.export_path.value = str(tmp_path / "out.csv")
    view.actions.export.click()
    assert (tmp_path / "out.csv").exists() and "Exported demo/v3 as a CSV table" in view.actions.notices["export"].value
    view.actions.export_path.value = str(tmp_path / "out.txt")
    view.actions.export.click()
    assert "wfnb-msg-error" in view.actions.notices["export"].value
    view.actions.tag_name.value, view.actions.tag_note.value = "ewm", "exponential"
    view.actions.tag_button.click()
    assert view.actions.tag_name.value == "" and '<span class="wfnb-tag">ewm</span>' in view.table.value
    assert ("ewm", "ewm") in view.tag.options


def test_a_thousand_variants_page(demo_store):
    add_variants(demo_store, 1000)
    view = BrowserView(BrowserState(demo_store, "demo"))
    assert len(shown_rows(view)) == 20 and "page 1 of 51" in view.page.value
    view.next.click()
    assert view.state.page == 1 and "page 2 of 51" in view.page.value and not view.previous.disabled
    view.search.value = "window >= 1000 or window < 110"
    view.bridge.send("sort", "metric:score")
    assert view.state.page == 0 and "(113 match the filter)" in view.page.value  # 1000-1099, 100-109 and v1-v3


def test_browse_returns_the_widget_with_a_text_form(demo_store):
    browser = wfnb.browse("demo", store=demo_store.root)
    assert isinstance(browser, BrowserView) and browser.state.workflow == "demo"
    bundle = browser._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("wfnb browser · workflow demo · 3 variants")
    with pytest.raises(BadArgument, match="no variant of workflow 'nope'; its workflows: demo"):
        wfnb.browse("nope", store=demo_store.root)


def test_the_magic_shows_the_notebooks_browser_and_it_follows_the_notebook(notebook):
    with capture_output() as shown:
        notebook.run_line_magic("wfnb", "browse")
    assert "wfnb browser · workflow demo · 3 variants" in shown.stdout or shown.outputs
    from wfnb.history.session import current_session

    session = current_session()
    listening = list(session.listeners)
    assert listening  # the displayed browser listens to the notebook
    view = wfnb.browse()
    notebook.run_line_magic("wfnb", "checkout v3")
    notebook.run_cell("%%params\nwindow = 4\ncolumn = 'close'")
    assert '<span class="wfnb-status wfnb-status-stale">stale</span>' in view.table.value
    notebook.run_cell(demo_cell("smooth", rewritten=True))
    notebook.run_cell(demo_cell("plot"))  # a new variant, made in the notebook
    assert shown_rows(view)[0] == "v4" and "demo · 4 variants" in view.heading.value
    view.close()
    assert len(session.listeners) == len(listening)


def test_importing_wfnb_loads_no_widget_library():
    code = "import sys, wfnb; wfnb.browse; assert 'ipywidgets' not in sys.modules and 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
