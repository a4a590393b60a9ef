"""A figure made in one step and drawn on by later steps (``fig, ax = plt.subplots()``, then
``ax.plot(...)``): the restored pair hashes as the pair its step made, so the drawing steps are hits
after a restart, ``ax`` still belongs to ``fig``, and what is shown is what a plain run shows."""

from __future__ import annotations

# plt.show() draws the figure (it is no longer stale); a restored figure is stale until drawn.
MAKE = "%%step make\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('empty')\nplt.show()"
DRAW = "%%step draw\nax.plot([1, 3, 2])\nlines = len(ax.lines)\nfig"
LABEL = "%%step label\nax.set_xlabel('time')\nfig"


def test_a_step_drawing_on_a_figure_from_an_earlier_step_is_a_hit_after_a_restart(lab):
    cells = [MAKE, DRAW, LABEL]
    lab.run(cells)
    for _ in range(2):  # and after the next restart too
        again = lab.run(cells)
        assert all(again.step(name).cached for name in ("make", "draw", "label")), [c.statuses for c in again.cells]
    assert again.value("ax.figure is fig and fig.axes[0] is ax") == "True"
    assert again.value("lines") == "1" and again.value("len(ax.lines)") == "1" and again.value("ax.get_xlabel()") == "'time'"
    plain = lab.plain(cells)
    for name, cell in (("make", 0), ("draw", 1), ("label", 2)):
        shown, expected = again.step(name).displays, plain.cells[cell].displays
        assert [sorted(d) for d in shown] == [sorted(d) for d in expected], name
        assert [d["text/plain"] for d in shown] == [d["text/plain"] for d in expected], name
