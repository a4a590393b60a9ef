"""The Plots tab without a page: curves, log axes, ranges dragged into the filter, parameter importance, colours.

A drag on a plot reaches the kernel as the bridge's ``brush`` action with the
ranges as JSON (what the page's handler sends); ``view.bridge.send`` does the
same from Python. The end-to-end test drags in a real JupyterLab.
"""

from __future__ import annotations

import json
import re

import pytest

from wfnb.errors import BadArgument
from wfnb.frontends.browser import charts, importance, scales
from wfnb.frontends.browser.state import BrowserState
from wfnb.frontends.browser.view import TABS, BrowserView

from .sweep_data import EPOCHS, loss_curve, record_sweep


@pytest.fixture
def sweep(demo_store) -> BrowserState:
    record_sweep(demo_store)
    return BrowserState(demo_store, "sweep")


@pytest.fixture
def view(sweep) -> BrowserView:
    view = BrowserView(sweep)
    view.tabs.selected_index = TABS.index("Plots")
    return view


def ref(state: BrowserState, lr: float, depth: int, seed: int) -> str:
    return next(r.ref for r in state.visible_rows() if r.params == {"lr": lr, "depth": depth, "seed": seed})


# -- curves --------------------------------------------------------------------------


def test_curves_overlay_the_ticked_and_the_selected_variant_over_the_logged_steps(view):
    state = view.state
    fast, slow = ref(state, 0.3, 2, 0), ref(state, 0.001, 2, 0)
    state.selected = fast
    state.tick(slow)
    assert state.curve_options() == ["loss"] and state.chosen_curve_metric() == "loss"
    curves = state.curves()
    assert [c.ref for c in curves] == [slow, fast]
    assert [list(p) for p in curves[1].points] == [[float(s), v] for s, v in loss_curve(0.3, 2, 0)]
    view.plots.kind.value = "curves"
    chart = view.plots.chart.value
    assert chart.count('class="wfnb-curve"') == 2 and f'data-wfnb="select|{slow}"' in chart
    assert f"step {EPOCHS - 1} · loss = " in chart and ">step</text>" in chart  # the x axis is the logged step
    assert view.plots.curve_metric.layout.display is None and view.plots.axes.layout.display == "none"
    view.bridge.send("select", slow)  # a click on a curve selects its variant
    assert state.selected == slow


def test_no_curve_says_how_to_log_one(demo_store):
    view = BrowserView(BrowserState(demo_store, "demo"))  # the demo logs each metric once
    view.tabs.selected_index = TABS.index("Plots")
    view.plots.kind.value = "curves"
    assert "wfnb.log(loss=loss, step=epoch)" in view.plots.chart.value


# -- parallel coordinates --------------------------------------------------------------


def test_parallel_axes_go_log_over_a_decade_and_each_can_be_switched(view):
    state = view.state
    assert state.axis_is_log("param:lr") and not state.axis_is_log("param:depth")  # 0.001 … 0.3; 2 … 4
    view.plots.kind.value = "parallel"
    chart = view.plots.chart.value
    assert 'data-wfnb="axis-log|param:lr" tabindex="0">log<' in chart and 'data-wfnb="axis-log|param:depth" tabindex="0">linear<' in chart
    assert ">0.001</text>" in chart and ">0.01</text>" in chart and ">0.1</text>" in chart  # decades as ticks
    view.bridge.send("axis-log", "param:lr")  # a click on "log" under the axis
    assert not state.axis_is_log("param:lr") and ">linear<" in re.search(r'axis-log\|param:lr"[^<]*<', view.plots.chart.value).group(0)
    view.bridge.send("axis-log", "param:lr")
    assert state.axis_is_log("param:lr")


def test_parallel_coordinates_fill_the_width_with_labels_over_the_lines_and_fainter_lines_when_many(view):
    view.plots.kind.value = "parallel"
    chart = view.plots.chart.value
    assert "max-width" not in re.search(r"<svg [^>]*>", chart).group(0)  # as wide as the tab
    assert 'class="wfnb-tick-label"' in chart and "paint-order: stroke" in view.children[0].value  # a halo under each label
    assert chart.rindex('class="wfnb-line"') < chart.index('class="wfnb-tick-label"')  # labels drawn over the lines
    assert charts.line_opacity(3) == 0.7 and charts.line_opacity(1000) < 0.15 < charts.line_opacity(100)


# -- linked selection ----------------------------------------------------------------------


def test_a_range_dragged_on_a_parallel_axis_becomes_the_filter_and_its_text(view):
    state = view.state
    view.plots.kind.value = "parallel"
    chart = view.plots.chart.value
    zone = json.loads(re.search(r'class="wfnb-brush-zone"[^>]*data-wfnb-brush="([^"]+)"', chart).group(1).replace("&quot;", '"'))
    assert zone[0]["key"] == "param:depth" or zone[0]["key"] == "param:lr"
    assert 'onpointerdown="' in chart  # the page's drag handler, on the plot
    view.bridge.send("brush", json.dumps({"param:lr": [0.0095, 0.104]}))  # what the handler sends after a drag
    assert state.query == "lr >= 0.0095 and lr <= 0.104" and view.search.value == state.query
    assert sorted({r.params["lr"] for r in state.visible_rows()}) == [0.01, 0.03, 0.1] and len(state.visible_rows()) == 12
    assert 'class="wfnb-brushed"' in view.plots.chart.value and view.plots.clear.layout.display is None
    view.bridge.send("brush", json.dumps({"param:depth": [3.5, 4.2]}))  # a second axis narrows it
    assert state.query == "lr >= 0.0095 and lr <= 0.104 and depth >= 3.5 and depth <= 4.2" and len(state.visible_rows()) == 6
    view.bridge.send("brush", json.dumps({"param:lr": None}))  # a click on the axis lets its range go
    assert state.query == "depth >= 3.5 and depth <= 4.2"
    view.plots.clear.click()
    assert state.query == "" and state.brushes == {} and len(state.visible_rows()) == 24


def test_a_dragged_range_keeps_what_the_user_typed_and_typing_over_it_lets_it_go(sweep):
    sweep.query = "seed = 0"
    sweep.brush({"metric:accuracy": [0.7, 0.8]})
    assert sweep.query == "seed = 0 and accuracy >= 0.7 and accuracy <= 0.8"
    sweep.brush({"metric:accuracy": [0.61, 0.8]})  # dragged again: the range is replaced, not added
    assert sweep.query == "seed = 0 and accuracy >= 0.61 and accuracy <= 0.8"
    sweep.query = "depth = 2"  # typed over
    assert sweep.brushes == {}
    with pytest.raises(BadArgument, match="no column 'param:nope'"):
        sweep.brush({"param:nope": [1, 2]})


def test_a_rectangle_on_the_scatter_filters_by_both_ranges_and_categories_by_name(demo_store):
    state = BrowserState(demo_store, "demo")
    view = BrowserView(state)
    view.tabs.selected_index = TABS.index("Plots")
    zone = re.search(r'class="wfnb-brush-zone"[^>]*data-wfnb-brush="([^"]+)"', view.plots.chart.value).group(1).replace("&quot;", '"')
    assert [axis["key"] for axis in json.loads(zone)] == ["param:window", "metric:score"]
    view.bridge.send("brush", json.dumps({"param:window": [2.5, 5.5], "metric:score": [0, 40]}))
    assert state.query == "window >= 2.5 and window <= 5.5 and score >= 0 and score <= 40"
    assert sorted(r.name for r in state.visible_rows()) == ["v1", "v3"]
    state.brush({"param:window": None, "metric:score": None, "param:column": {"in": ["close", "a b"]}})
    assert state.query == '(column = close or column = "a b")' and len(state.visible_rows()) == 3


# -- which parameters matter ------------------------------------------------------------------


def test_parameters_are_ranked_by_rank_correlation_and_the_panel_names_the_method(view):
    state = view.state
    state.importance_metric = "metric:accuracy"
    ranked = state.importance()
    assert [r.name for r in ranked] == ["lr", "depth", "seed"] and ranked[0].method == "ρ"
    assert ranked[0].score > 0.9 and ranked[-1].strength < ranked[0].strength
    html = view.plots.importance.value
    assert "Spearman" in html and "ρ = +0.9" in html and html.index(">lr<") < html.index(">depth<")
    state.importance_metric = "metric:loss"
    assert state.importance()[0].name == "lr" and state.importance()[0].score < -0.9


def test_a_category_is_ranked_by_the_correlation_ratio():
    ranked = importance.rank({"kernel": ["a", "b", "a", "b"], "C": [1, 1, 1, 1]}, [1.0, 5.0, 1.1, 5.1])
    assert [(r.name, r.method, round(r.score, 2)) for r in ranked] == [("kernel", "η", 0.89)]


# -- colours on light and dark pages --------------------------------------------------------------


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("page", ["#ffffff", "#212121", "#111111"])  # light; JupyterLab Dark's layout colours 1 and 0
def test_every_shade_of_the_colour_ramp_stands_out_on_light_and_dark_pages(page):
    weakest = min(_contrast(scales.ramp(i / 20), page) for i in range(21))
    assert weakest >= 3.0, f"a shade of the ramp has contrast {weakest:.2f} on {page}"


# -- legible with the fonts a plain Linux has; a step unfolds in the page -------------------------------


def test_no_glyph_that_a_plain_linux_font_lacks_pin_and_branch_are_inline_svg(demo_store):
    state = BrowserState(demo_store, "demo")
    state.pin(True)
    view = BrowserView(state)
    html = view.table.value
    assert '<span class="wfnb-pin" title="pinned: wfnb gc keeps what it needs"><svg class="wfnb-icon-svg wfnb-icon-pin"' in html
    assert "📌" not in html  # the branch badge and the graph's branches: tests/history/test_branches.py


def test_past_its_budget_a_steps_outputs_are_read_when_it_is_opened(demo_store, monkeypatch):
    from wfnb.frontends.browser import view as view_module

    monkeypatch.setattr(view_module, "DETAIL_EAGER_BYTES", 1)  # the first step's outputs use it up
    view = BrowserView(BrowserState(demo_store, "demo"))
    detail = view.detail.value
    assert "data:image" not in detail and '<details class="wfnb-step"><summary data-wfnb="step|plot"' in detail
    view.bridge.send("step", "plot")  # not in the page: read and drawn now
    assert 'src="data:image/png;base64,' in view.detail.value and re.search(r'<details class="wfnb-step" open><summary data-wfnb="step\|plot"', view.detail.value)


def test_ranking_agrees_with_pandas_and_opening_the_plots_tab_imports_no_pandas(demo_store):
    """ρ is Pearson's r of the ranks (ties averaged), as pandas computes it; pandas itself, a second or more to
    import in a fresh kernel, stays out of the Plots tab."""
    import subprocess
    import sys

    import pandas as pd

    lr = [0.1, 0.01, 0.1, 0.3, 0.03, 0.01]
    metric = [0.9, 0.5, 0.8, 0.95, 0.7, 0.55]
    ours = importance.rank({"lr": lr}, metric)[0].score
    assert ours == pytest.approx(pd.Series(lr).rank().corr(pd.Series(metric).rank()))
    code = (
        "import sys\nfrom wfnb.store import open_store\nfrom wfnb.frontends.browser.state import BrowserState\n"
        "from wfnb.frontends.browser.view import BrowserView, TABS\n"
        f"view = BrowserView(BrowserState(open_store({str(demo_store.root)!r}, create=False), 'demo'))\n"
        "view.tabs.selected_index = TABS.index('Plots')\nassert 'Spearman' in view.plots.importance.value\n"
        "print('pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_an_axis_dragged_on_keeps_the_scale_it_was_dragged_on(sweep):
    """lr 0.001 … 0.3 reads as a log axis; the range 0.01 … 0.1 left after the drag would read as linear
    by itself, which would move the drawn range away from where the user dragged it."""
    assert sweep.axis_is_log("param:lr")
    sweep.brush({"param:lr": [0.0085, 0.12]})
    assert {row.params["lr"] for row in sweep.plot_rows()[0]} == {0.01, 0.03, 0.1}
    assert sweep.axis_is_log("param:lr")
    sweep.toggle_axis_log("param:lr")  # a click on its label still switches it
    assert not sweep.axis_is_log("param:lr")
