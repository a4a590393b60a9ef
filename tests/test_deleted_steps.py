"""A step whose cell was deleted never blocks the history: the saved notebook says it is gone, or the
status line says what to type. Real kernels, driven cell by cell as a user would."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import wfnb

from kernels import LiveKernel  # tests/kernels.py

LOAD = "%%step load\nimport numpy as np\ndata = np.arange(10.0)"
CLEAN = "%%step clean\nclean = data[data > 2]"
CLEAN_EDITED = "%%step clean\nclean = data[data > 4]"
EXTRA = "%%step extra\nextra = clean.sum()"


def save(path, cells) -> None:
    """What Jupyter writes when the user saves the notebook."""
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), path)


@pytest.fixture
def kernel(tmp_path):
    save(tmp_path / "nb.ipynb", ["%load_ext wfnb", LOAD, CLEAN, EXTRA])
    with LiveKernel(tmp_path, tmp_path / "store", name="nb.ipynb") as k:
        for cell in ("%load_ext wfnb", LOAD, CLEAN, EXTRA):
            assert k.run(cell).ok
        yield k


def steps(store, ref):
    return wfnb.variant(ref, "nb", store=store).steps.names()


def test_a_step_deleted_from_the_saved_notebook_is_left_out(kernel, tmp_path):
    store = tmp_path / "store"
    assert steps(store, "v1") == ["load", "clean", "extra"]
    save(tmp_path / "nb.ipynb", ["%load_ext wfnb", LOAD, CLEAN_EDITED])  # extra deleted, clean edited, saved
    done = kernel.run(CLEAN_EDITED)
    assert "left out extra: no longer in nb.ipynb" in done.status and done.status.endswith("new variant v2")
    assert steps(store, "v2") == ["load", "clean"]
    status = kernel.run("%wfnb status").stdout
    assert "at variant v2" in status and "extra" not in status


def test_a_new_kernel_leaves_out_the_deleted_step_it_would_start_from(kernel, tmp_path):
    store = tmp_path / "store"
    save(tmp_path / "nb.ipynb", ["%load_ext wfnb", LOAD, CLEAN_EDITED])
    kernel.restart()
    assert kernel.run("%load_ext wfnb").ok
    done = kernel.run(LOAD)  # the new kernel starts from v1 (load, clean, extra), less extra: a state of its own
    assert " · cached · " in done.status and "left out extra: no longer in nb.ipynb" in done.status
    assert done.status.endswith("new variant v2") and steps(store, "v2") == ["load", "clean"]
    done = kernel.run(CLEAN_EDITED)
    assert done.status.endswith("new variant v3") and wfnb.variant("v3", "nb", store=store).parent == 2


def test_where_the_notebook_file_cannot_tell_the_status_line_says_what_to_type(tmp_path):
    store = tmp_path / "store"
    with LiveKernel(tmp_path, store, name="not-saved-yet.ipynb") as kernel:  # no such file
        for cell in ("%load_ext wfnb", LOAD, CLEAN, EXTRA):
            assert kernel.run(cell).ok
        done = kernel.run(CLEAN_EDITED)
        assert "stale: extra" in done.status and "if its cell was deleted: %wfnb forget extra" in done.status
        assert "%wfnb forget extra" in kernel.run("%wfnb status").stdout
        forgot = kernel.run("%wfnb forget extra")
        assert forgot.stdout.strip() == "step extra no longer part of workflow not-saved-yet: new variant v2"
        assert wfnb.variant("v2", "not-saved-yet", store=store).steps.names() == ["load", "clean"]


def test_a_skipped_step_above_is_named_with_what_to_type(ip):
    ip.run_cell("%wfnb workflow skip")
    for cell in (LOAD, CLEAN, EXTRA, "%%step report\nreport = float(data.max())"):
        assert ip.run_cell(cell).success
    from IPython.utils.capture import capture_output

    ip.run_cell(CLEAN_EDITED)
    with capture_output() as io:
        ip.run_cell("%%step report\nreport = float(data.max()) + 1")  # extra, above, was not run again
    line = [o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status"][-1]
    assert "extra was skipped: no variant until it runs" in line and "%wfnb forget extra" in line


def test_two_steps_with_the_same_code_stay_two_steps(tmp_path):
    # the second is a hit on the first's result, as a renamed step would be; the saved notebook has both
    twin = "%%step {}\nimport numpy as np\nsame = np.arange(3.0)"
    cells = ["%load_ext wfnb", twin.format("first"), twin.format("second")]
    save(tmp_path / "nb.ipynb", cells)
    with LiveKernel(tmp_path, tmp_path / "store", name="nb.ipynb") as k:
        for cell in cells:
            done = k.run(cell)
            assert done.ok and "renamed" not in done.status, done.status
        assert steps(tmp_path / "store", "nb") == ["first", "second"]  # its current variant
