"""Cells that plain Python runs, and that wfnb must run (and cache) too."""

from __future__ import annotations


def test_a_function_that_reads_a_name_defined_later_in_the_cell(lab):
    step = "%%step later\ndef area(r):\n    return np.pi * r * r\nimport numpy as np\ny = round(area(1), 2)"
    session = lab.run([step])
    assert session.value("y") == "3.14"
    session.run(step)  # runs: np was not defined before the first run, and the function may read it
    session.run(step)
    assert session.last.cached and session.value("y") == "3.14"


def test_a_step_that_deletes_one_of_its_inputs(lab):
    session = lab.run(["tmp = 1", "%%step use\ny = tmp + 1\ndel tmp"])
    assert session.value("y") == "2" and session.value("'tmp' in globals()") == "False"
    again = lab.run(["tmp = 1", "%%step use\ny = tmp + 1\ndel tmp"])
    assert again.step("use").cached and again.value("'tmp' in globals()") == "False"


def test_an_indented_body_runs_replays_and_exports(lab):
    step = "%%step indented\n    x = 1\n    y = x + 1"
    session = lab.run([step])
    assert session.value("y") == "2"
    session.run("import wfnb\nreplayed = wfnb.replay('v1')")
    session.run("wfnb.variant('v1').to_script('v1.py')\nimport runpy\nns = runpy.run_path('v1.py')")
    assert session.value("ns['y']") == "2"


def test_an_empty_step_does_not_stop_run_all(lab):
    session = lab.run(["%%step empty", "after = 1"])
    assert session.value("after") == "1"
    assert "empty" in session.cells[1].status


def test_a_file_closed_by_with_open_does_not_stop_the_cache(lab):
    lab.write("data.txt", "hello")
    step = "%%step read\nwith open('data.txt') as fh:\n    text = fh.read()"
    session = lab.run([step])
    session.run(step)
    assert session.last.cached, session.last
    assert session.value("(text, fh.closed, fh.name)") == "('hello', True, 'data.txt')"


def test_a_figure_read_by_a_later_step_hits_across_kernels(lab):
    cells = [
        "%%step draw\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3])",
        "%%step count\nlines = len(fig.axes[0].lines)",
    ]
    lab.run(cells)
    again = lab.run(cells)
    assert again.step("draw").cached and again.step("count").cached, [c.status for c in again.cells]
    third = lab.run(cells)
    assert "new variant" not in " ".join(c.status for c in third.cells)
