"""Names a step reads through a string: ``df.query(FILTER)`` with ``'@min_price'`` in ``FILTER``, and
``get_ipython().user_ns['k']``."""

from __future__ import annotations

SETUP = "import pandas as pd\ndf = pd.DataFrame({'p': [1, 5, 9]})\nmin_price = 4\nFILTER = 'p > @min_price'"


def test_a_name_in_a_query_string_held_by_a_variable_is_an_input(lab):
    step = "%%step pick\nsel = df.query(FILTER)['p'].tolist()"
    session = lab.run([SETUP, step])
    assert session.value("sel") == "[5, 9]"
    session.run("min_price = 6")
    session.run(step)
    assert session.last.ran and session.value("sel") == "[9]", session.last.status


def test_a_name_read_from_the_namespace_by_its_key_is_an_input(lab):
    step = "%%step read\nk2 = get_ipython().user_ns['k'] * 2"
    session = lab.run(["k = 1", step])
    session.run("k = 5")
    session.run(step)
    assert session.last.ran and session.value("k2") == "10", session.last.status


def test_a_key_computed_at_run_time_makes_the_step_run_every_time(lab):
    step = "%%step read\nname = 'k'\nk2 = get_ipython().user_ns[name] * 2"
    session = lab.run(["k = 1", step])
    session.run(step)
    assert session.last.ran and "user_ns" in session.last.status, session.last.status
