"""A program a library runs to ask about the machine (joblib asking ``lscpu`` for the CPU count
inside scikit-learn) is not the step's program: the step stays cacheable. The same program run
by the notebook's own code still makes the step run every time."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.skipif(shutil.which("lscpu") is None, reason="lscpu is not installed here")


def test_a_library_asking_the_machine_for_its_cpus_leaves_the_step_cacheable(lab):
    step = "%%step cores\nfrom joblib.externals.loky.backend.context import _count_physical_cores\ncores = _count_physical_cores()[0]"
    session = lab.run([step])
    assert "runs a program" not in session.last.status, session.last.status
    again = lab.run([step])
    assert again.last.cached, again.last.status


def test_the_same_program_run_by_the_notebook_still_runs_every_time(lab):
    step = "%%step cores\nimport subprocess\nout = subprocess.run(['lscpu'], capture_output=True, text=True).stdout"
    lab.run([step])
    again = lab.run([step])
    assert again.last.ran and "lscpu" in again.last.status, again.last.status
