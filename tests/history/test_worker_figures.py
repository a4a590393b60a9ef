"""Figures drawn by a sweep's workers are stored as the notebook's inline backend shows them.

A point of a sweep runs in another process (loky) or thread; the notebook, run
later at that point's parameters, restores the point's result. What it shows
must be the figure, the very PNG a kernel draws, never a text like
``Figure(700x300)``.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

# One figure shown by plt.show(), one left for the inline backend to show after the cell; neither is an
# output of the step (a restored Figure would draw itself again and hide a lost display).
PLOT = """
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(7, 3))
ax.plot([0, 1, 2], [0, scale, 2 * scale])
ax.set_ylim(0, 10)
plt.show()
fig, ax = plt.subplots(figsize=(4, 2))
ax.bar(["a", "b"], [scale, 1])
ax.set_ylim(0, 5)
peak = 2 * scale
del fig, ax
"""


def _pngs(run) -> list[bytes]:
    return [base64.b64decode(shown["image/png"]) for shown in run.displays if "image/png" in shown]


def _plain_run_pngs(nb, scale: int) -> list[bytes]:
    """What the kernel shows for the same drawing in a plain cell (no step, no cache)."""
    shown = _pngs(nb.run(f"scale = {scale}\n{PLOT}"))
    assert len(shown) == 2
    return shown


@pytest.mark.parametrize("backend", ["loky", "threading"])
def test_a_figure_drawn_in_a_sweep_is_restored_as_the_kernel_draws_it(notebooks, backend):
    nb = notebooks("figs.ipynb")
    nb.run("import wfnb")
    nb.run("%%params\nscale = 1")
    first = nb.run(f"%%step plot\n{PLOT}")
    assert first.ran and len(_pngs(first)) == 2
    nb.run(f"table = wfnb.sweep('figs', grid={{'scale': [2, 3]}}, backend={backend!r}, n_jobs=2, progress=False)")
    assert nb.value("list(table['scale'])") == "[2, 3]"

    nb.run("%%params\nscale = 3")
    hit = nb.run(f"%%step plot\n{PLOT}")
    assert hit.cached, hit  # the sweep's point, restored
    assert "Figure(" not in hit.stdout and [d for d in hit.displays if "image/png" not in d] == []
    assert _pngs(hit) == _plain_run_pngs(nb, 3)  # byte for byte what the kernel draws


def test_a_figure_drawn_by_a_replay_in_a_plain_script_is_restored_as_the_kernel_draws_it(notebooks, tmp_path):
    nb = notebooks("figs.ipynb")
    nb.run("%%params\nscale = 1")
    nb.run(f"%%step plot\n{PLOT}")
    env = {name: value for name, value in os.environ.items() if name != "MPLBACKEND"}  # a terminal's: no inline backend
    env.update(WFNB_STORE=str(tmp_path / ".wfnb"), WFNB_FSYNC="0")
    script = "import wfnb; wfnb.replay('v1', 'figs', scale=4)"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    nb.run("%%params\nscale = 4")
    hit = nb.run(f"%%step plot\n{PLOT}")
    assert hit.cached, hit  # the script's replay, restored
    assert _pngs(hit) == _plain_run_pngs(nb, 4)
