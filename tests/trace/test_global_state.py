"""State of the process a step depends on without naming it: an attribute the notebook set on a
library module, numpy's global generator seeded in a plain cell (or first seeded inside a step
that imports numpy), and the time zone."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("imports_it", [True, False], ids=["step-imports-json", "json-from-the-notebook"])
def test_an_attribute_the_notebook_set_on_a_library_module_is_an_ingredient(lab, imports_it):
    step = "%%step j\n" + ("import json\n" if imports_it else "") + "t = json.threshold * 3"
    session = lab.run(["import json\njson.threshold = 2", step])
    assert session.value("t") == "6"
    session.run("json.threshold = 3")
    session.run(step)
    assert session.last.ran and session.value("t") == "9", session.last.status


def test_numpy_seeded_in_the_cell_that_imports_it_is_reproducible(lab):
    step = "%%step draw\nx = float(np.random.rand())"
    lab.run(["import numpy as np\nnp.random.seed(2)", step])
    session = lab.run(["import numpy as np\nnp.random.seed(3)", step])
    plain = lab.plain(["import numpy as np\nnp.random.seed(3)", "x = float(np.random.rand())"])
    assert session.value("x") == plain.value("x"), session.last.status


def test_numpy_first_seeded_inside_a_step_that_imports_it(lab):
    seed = "%%step seed\nimport numpy as np\nnp.random.seed(0)\nready = 1"
    shuffle = "%%step shuffle\norder = np.random.permutation(5).tolist()"
    session = lab.run([seed, shuffle])
    session.run(shuffle)  # a second draw: a plain run gives another order
    plain = lab.plain([seed.replace("%%step seed\n", ""), shuffle.replace("%%step shuffle\n", ""), shuffle.replace("%%step shuffle\n", "")])
    assert session.value("order") == plain.value("order"), session.last.status


def test_the_time_zone_is_an_ingredient_of_a_step_that_shows_local_times(lab):
    step = "%%step t\nimport time\nh = time.localtime(0).tm_hour"
    session = lab.run(["import os, time\nos.environ['TZ'] = 'UTC'\ntime.tzset()", step])
    assert session.value("h") == "0"
    session.run("os.environ['TZ'] = 'Asia/Tokyo'\ntime.tzset()")
    session.run(step)
    assert session.last.ran and session.value("h") == "9", session.last.status
