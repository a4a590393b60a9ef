"""What a step shows comes back on a hit, also when it is written through a stream taken before the
step ran (a logging handler set up in a plain cell), and a progress bar does not make a step re-run."""

from __future__ import annotations

from trace.conftest import plain_cell


def test_text_a_logging_handler_from_a_plain_cell_writes_is_shown_again_on_a_hit(lab):
    setup = "import logging, sys\nlog = logging.getLogger('study')\nlog.addHandler(logging.StreamHandler(sys.stdout))\nlog.setLevel('INFO')"
    step = "%%step fit\nlog.info('fitted %d rows', 20)\ny = 1"
    first = lab.run([setup, step])
    assert "fitted 20 rows" in first.last.stdout
    again = lab.run([setup, step])
    assert again.last.cached, again.last.status
    assert again.last.stdout == first.last.stdout


def test_a_progress_bar_keeps_a_step_cacheable(lab):
    step = "%%step loop\nfrom tqdm.auto import tqdm\ntotal = 0\nfor i in tqdm(range(3)):\n    total += i"
    lab.run([step])
    again = lab.run([step])
    assert again.last.cached, again.last.status


def test_an_error_shown_while_a_value_is_formatted_is_shown_again_on_a_hit(lab):
    # IPython shows the traceback of a _repr_html_ that raises and goes on: the cell does not fail
    step = "%%step show\nimport json\nclass Broken:\n    def _repr_html_(self):\n        return json.no_such_name\nBroken()"
    plain = lab.plain([]).run(plain_cell(step), check=False)  # ipykernel counts it as the cell's failure
    assert "AttributeError" in plain.traceback and not plain.ok
    first = lab.run([]).run(step, check=False)
    assert "AttributeError" in first.traceback and not first.ok and first.ran, first
    again = lab.run([]).run(step, check=False)
    assert again.cached, again.status
    assert "AttributeError" in again.traceback and not again.ok
