"""What a step shows comes back on a hit, also when it is written through a stream taken before the
step ran (a logging handler set up in a plain cell), and a progress bar does not make a step re-run."""

from __future__ import annotations


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
