"""After `%wfnb checkout`, the notebook is told that its cells show other code, and how to get the
variant's cells back. A real kernel, driven cell by cell."""

from __future__ import annotations

import nbformat

import wfnb
from wfnb.history.session import current_session

from kernels import LiveKernel  # tests/kernels.py

PARAMS = "%%params\nwindow = {window}"
LOAD = "%%step load\nimport numpy as np\ndata = np.arange(30.0)"
SMOOTH = "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'valid')"
SMOOTH_EDITED = "%%step smooth\nsm = np.convolve(data, np.ones(window) / window, 'same')"


def test_checkout_says_the_cells_differ_and_how_to_bring_them_back(tmp_path):
    store = tmp_path / "store"
    with LiveKernel(tmp_path, store, name="nb.ipynb") as kernel:
        for cell in ("%load_ext wfnb", PARAMS.format(window=3), LOAD, SMOOTH):
            assert kernel.run(cell).ok
        for cell in (PARAMS.format(window=5), SMOOTH_EDITED):  # v2: another window, other code
            assert kernel.run(cell).ok
        assert kernel.value("sm.shape") == "(30,)"

        said = kernel.run("%wfnb checkout v1").stdout
        assert kernel.value("sm.shape") == "(28,)" and kernel.value("window") == "3"  # v1's values are back
        assert said.startswith("restored nb/v1: its values are in the namespace")
        assert "the code of step smooth" in said and "the %%params cell (window=5 (v1: 3))" in said
        assert "`%wfnb show v1` prints them" in said and "`%wfnb export v1 nb-v1.ipynb` writes them" in said

        status = kernel.run("%wfnb status").stdout
        assert "at variant v1" in status and "restored from v1; its cell shows other code" in status
        assert "The notebook's cells still show what ran last, not v1" in status

        shown = kernel.run("%wfnb show v1").stdout
        assert "%%params\nwindow = 3" in shown and SMOOTH in shown
        assert kernel.run("%wfnb export v1 nb-v1.ipynb").ok
        exported = nbformat.read(tmp_path / "nb-v1.ipynb", as_version=4)
        assert [c.source for c in exported.cells][-3:] == [PARAMS.format(window=3), LOAD, SMOOTH]

        again = kernel.run(SMOOTH_EDITED)  # the cell still holds v2's code: running it leaves v1, and says so
        assert "left v1 (restored by %wfnb checkout): step smooth is not v1's" in again.status
        assert "new variant v3" in again.status  # v1's window with v2's code: a state of its own
        assert "restored from v1" not in kernel.run("%wfnb status").stdout  # said once; the notebook moved on
    assert wfnb.variant("v3", "nb", store=store).params == {"window": 3}


def test_checkout_of_a_variant_the_cells_match_says_nothing_more(ip):
    ip.run_cell("%wfnb workflow same")
    for cell in (PARAMS.format(window=3), LOAD, SMOOTH):
        assert ip.run_cell(cell).success
    from IPython.utils.capture import capture_output

    with capture_output() as io:
        ip.run_cell("%wfnb checkout v1")
    assert io.stdout == "restored same/v1: its values are in the namespace, and it is the current variant\n"
    assert current_session().out_of_step() == ""


def test_the_session_tells_a_browser_how_the_cells_differ(ip):
    ip.run_cell("%wfnb workflow differ")
    for cell in (PARAMS.format(window=3), LOAD, SMOOTH, PARAMS.format(window=5), SMOOTH):
        assert ip.run_cell(cell).success
    session = current_session()
    session.checkout("v1")  # what the browser's Restore calls
    said = session.out_of_step()
    assert said.startswith("The notebook's cells still show what ran last, not v1: the %%params cell (window=5 (v1: 3))")
    assert "%wfnb show v1" in said
