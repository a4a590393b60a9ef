"""A step that shows an ipywidget: a plain run shows a live control, which a stored output cannot
bring back (a hit would show its text). Such a step runs every time, and says why; a progress bar
shown as a widget keeps a step cacheable (tests/trace/test_shown_output.py)."""

from __future__ import annotations

import pytest

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.mark.parametrize(
    "step",
    [
        "%%step control\nimport ipywidgets as widgets\ndisplay(widgets.IntSlider(value=3))\nn = 3",
        "%%step control\nimport ipywidgets as widgets\nn = 3\nwidgets.IntSlider(value=n)",
    ],
    ids=["displayed", "the-cells-value"],
)
def test_a_step_showing_a_widget_shows_a_live_one_after_a_restart(lab, step):
    lab.run([step])
    again = lab.run([step])
    shown = again.step("control")
    assert shown.ran and "live widget (IntSlider)" in shown.status, shown.status
    assert any(WIDGET_VIEW in data for data in shown.displays), shown.displays
    assert again.value("n") == "3"
