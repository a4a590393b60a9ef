"""The clock: a step that reads the calendar (``datetime.now()`` to name a run folder) runs every
time, so that no later step writes over an earlier run's results; a step that only times itself
(``time.perf_counter()``) stays cacheable."""

from __future__ import annotations

import pytest

RUN_FOLDER = """%%step start
from datetime import datetime
from pathlib import Path
run = Path('runs') / datetime.now().strftime('%Y%m%d-%H%M%S-%f')
run.mkdir(parents=True)"""
SAVE = "%%step save\n(run / 'result.txt').write_text('done')\nsaved = str(run)"


def test_a_run_folder_named_by_the_date_is_new_on_every_run(lab):
    first = lab.run([RUN_FOLDER, SAVE])
    assert "reads the clock" in first.step("start").status
    second = lab.run([RUN_FOLDER, SAVE])
    assert second.step("start").ran and second.step("save").ran, second.step("start").status
    assert second.value("saved") != first.value("saved")
    assert len(list((lab.root / "runs").iterdir())) == 2


@pytest.mark.parametrize(
    "step",
    [
        "%%step stamp\nimport datetime\nstamp = datetime.date.today().isoformat()",
        "%%step stamp\nimport time\nstamp = time.strftime('%H%M%S')",
        "%%step stamp\nimport pandas as pd\nstamp = str(pd.Timestamp('now'))",
        "%%step stamp\nfrom datetime import datetime\ndef tag():\n    return datetime.now().isoformat()\nstamp = tag()",
    ],
    ids=["date-today", "time-strftime", "timestamp-now", "a-helper"],
)
def test_every_way_of_reading_the_calendar_makes_the_step_run(lab, step):
    lab.run([step])
    again = lab.run([step])
    assert again.last.ran and "reads the clock" in again.last.status, again.last.status


def test_timing_a_step_keeps_it_cacheable(lab):
    step = "%%step work\nimport time\nt0 = time.perf_counter()\ntotal = sum(range(1000))\nelapsed = time.perf_counter() - t0\nstarted = time.time()"
    lab.run([step])
    again = lab.run([step])
    assert again.last.cached, again.last.status


def test_formatting_a_given_date_is_not_reading_the_clock(lab):
    step = "%%step fmt\nfrom datetime import datetime\nd = datetime(2024, 1, 2)\nlabel = d.strftime('%Y') + d.ctime()"
    lab.run([step])
    assert lab.run([step]).last.cached
