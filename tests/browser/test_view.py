"""The browser's widgets in plain pytest: set values, click buttons, check the state and the rendered HTML."""

from __future__ import annotations

import subprocess
import sys
import time

import ipywidgets as w
import pytest
from IPython.utils.capture import capture_output

import wfnb
from wfnb.browser.state import BrowserState
from wfnb.browser.view import TABS, BrowserView
from wfnb.errors import BadArgument

from .conftest import add_variants


@pytest.fixture
def view(demo_store) -> BrowserView:
    return BrowserView(BrowserState(demo_store, "demo"))


def shown_rows(view: BrowserView) -> list[str]:
    """The variant names in the table's visible rows, top to bottom."""
    return [cells[0].description for cells in view._cells if "wfnb-hidden" not in cells[0]._dom_classes]


def selected_rows(view: BrowserView) -> list[str]:
    return [cells[0].description for cells in view._cells if "wfnb-selected" in cells[0]._dom_classes]


def button(view: BrowserView, label: str) -> w.Button:
    return next(b for b in view._header if b.description.split(" ")[0] == label)


def open_tab(view: BrowserView, name: str) -> None:
    view.tabs.selected_index = TABS.index(name)


def test_the_table_lists_the_variants_and_the_detail_shows_the_current_one(view):
    assert shown_rows(view) == ["v3", "v2", "v1"] and selected_rows(view) == ["v3"]
    assert [b.description for b in view._header][:3] == ["variant", "tag", "age ▼"]
    tag_cells = [cells[1].value for cells in view._cells[:3]]
    assert tag_cells[2] == '<span class="wfnb-tag">baseline</span>'
    html = view.detail.value
    assert "demo / v3" in html and "parent <b>v1</b>" in html
    assert '<span class="tok-n">smooth</span>' in html  # highlighted code
    assert 'src="data:image/png;base64,' in html and "<table" in html and "window 3: 60 points" in html
    assert view.heading.value == "demo · 3 variants"


def test_clicking_a_row_selects_it(view):
    view._cells[2][0].click()
    assert view.state.selected == "demo/v1" and selected_rows(view) == ["v1"]
    assert "demo / v1" in view.detail.value and "no parent (first variant)" in view.detail.value
    assert [f.description for f in view.form.children[1:]] == ["column", "window"]
    assert view.export_path.value == "demo-v1.ipynb"


def test_filter_fields_and_header_clicks_drive_the_state(view):
    view.search.value = "window=5"
    assert view.state.query == "window=5" and shown_rows(view) == ["v2"]
    assert "1 match the filter" in view.page.value
    view.search.value = ""
    view.tag.value = "baseline"
    assert view.state.tag_filter == "baseline" and shown_rows(view) == ["v1"]
    view.tag.value = ""
    button(view, "window").click()
    assert view.state.sort_by == "param:window" and shown_rows(view) == ["v2", "v3", "v1"]
    assert button(view, "window").description == "window ▼"
    button(view, "window").click()
    assert button(view, "window").description == "window ▲" and shown_rows(view) == ["v3", "v1", "v2"]


def test_compare_and_plots_are_drawn_when_their_tab_opens(view):
    assert view.comparison.value == "" and bytes(view.plot.value) == b""
    open_tab(view, "Compare")
    html = view.comparison.value
    assert "v1 → v3" in html and 'class="wfnb-diff"' in html
    assert '<span class="wfnb-chg">rolling</span>' in html and '<span class="wfnb-chg">ewm</span>' in html
    assert '<tr class="wfnb-changed"><th>last</th>' in html and html.count("<img") == 2  # plot's figure, both sides
    view.compare_to.value = "demo/v2"
    assert view.state.baseline == "demo/v2" and "v2 → v3" in view.comparison.value
    open_tab(view, "Plots")
    assert bytes(view.plot.value).startswith(b"\x89PNG")
    assert [label for label, _ in view.point.options] == ["v1", "v2", "v3"] and view.point.value == "demo/v3"
    assert "<svg" in view.dag.value and ">smooth</text>" in view.dag.value


def test_picking_a_point_of_the_plot_selects_its_variant(view):
    open_tab(view, "Plots")
    first = view.plot.value
    view.point.value = "demo/v2"
    assert view.state.selected == "demo/v2" and selected_rows(view) == ["v2"]
    assert view.plot.value != first  # the picked point is marked
    view.metric.value = "last"
    assert view.state.metric == "last"


def test_replay_from_the_form_shows_progress_and_the_new_metric(view):
    view._cells[2][0].click()  # v1
    open_tab(view, "Actions")
    window = next(f for f in view.form.children if getattr(f, "description", "") == "window")
    window.value = "7"
    view.replay.click()
    assert view.state.selected == "demo/v4" and shown_rows(view)[0] == "v4"
    assert "wfnb-msg-success" in view.message.value and "score = 70.5" in view.message.value
    bars = [row.children[1] for row in view.progress.children]
    assert [(b.value, b.bar_style) for b in bars] == [(1.0, "info"), (1.0, "success"), (1.0, "success")]
    score = [c.key for c in view.state.columns()].index("metric:score")
    assert "70.5" in [cells[score].value for cells in view._cells if cells[0].description == "v4"][0]


def test_a_failed_replay_shows_the_traceback_in_the_widget(view):
    field = next(f for f in view.form.children if getattr(f, "description", "") == "window")
    field.value = "-1"
    view.replay.click()
    html = view.message.value
    assert "wfnb-msg-error" in html and "step smooth failed" in html
    assert '<pre class="wfnb-trace">Traceback (most recent call last):' in html and "ValueError" in html
    assert view.progress.children[1].children[1].bar_style == "danger"
    assert shown_rows(view) == ["v3", "v2", "v1"] and not view.replay.disabled


def test_export_follows_the_format_and_tag_clears_its_fields(view, tmp_path):
    view.export_format.value = ".csv"
    assert view.export_path.value == "demo-v3.csv"
    view.export_path.value = str(tmp_path / "out.csv")
    view.export.click()
    assert (tmp_path / "out.csv").exists() and "Exported demo/v3 as a CSV table" in view.message.value
    view.export_path.value = str(tmp_path / "out.txt")
    view.export.click()
    assert "wfnb-msg-error" in view.message.value
    view.tag_name.value, view.tag_note.value = "ewm", "exponential"
    view.tag_button.click()
    assert view.tag_name.value == "" and '<span class="wfnb-tag">ewm</span>' == view._cells[0][1].value
    assert ("ewm", "ewm") in view.tag.options


def test_a_thousand_variants_open_in_well_under_a_second_and_page(demo_store):
    add_variants(demo_store, 1000)
    started = time.perf_counter()
    view = BrowserView(BrowserState(demo_store, "demo"))
    took = time.perf_counter() - started
    assert took < 1.0, f"{took:.2f} s"
    assert len(shown_rows(view)) == 20 and "page 1 of 51" in view.page.value
    view.next.click()
    assert view.state.page == 1 and "page 2 of 51" in view.page.value and not view.previous.disabled
    started = time.perf_counter()
    view.search.value = "window=10"  # 100-109 and 1000-1099
    button(view, "score").click()
    assert time.perf_counter() - started < 0.3
    assert view.state.page == 0 and "(110 match the filter)" in view.page.value


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
    from wfnb.session import current_session

    session = current_session()
    browser = [listener for listener in session.listeners]
    assert browser  # the displayed browser listens to the notebook
    view = wfnb.browse()
    notebook.run_line_magic("wfnb", "checkout v2")
    assert selected_rows(view) == ["v3"] and view.state.row("demo/v2").status == "current"
    view.close()
    assert len(session.listeners) == len(browser)


def test_importing_wfnb_loads_no_widget_library():
    code = "import sys, wfnb; wfnb.browse; assert 'ipywidgets' not in sys.modules and 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
