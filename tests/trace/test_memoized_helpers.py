"""A loader cached with ``functools.lru_cache`` and used by two steps: the second step's call is
answered from the cache without opening the file, so the file is not in its trace."""

from __future__ import annotations

from tests.trace.test_more_habits import outside

LOADER = "import functools\nimport pandas as pd\n@functools.lru_cache\ndef load(name):\n    return pd.read_csv(f'data/{name}.csv')"
FIRST = "%%step first\nn = len(load('prices'))"
SECOND = "%%step second\ntotal = int(load('prices')['v'].sum())"


def test_a_step_answered_by_a_cached_loader_never_restores_a_stale_result(lab):
    lab.write("data/prices.csv", "v\n1\n2\n")
    session = lab.run([LOADER, FIRST, SECOND])
    assert session.value("total") == "3"
    assert "functools cache" in session.step("second").status
    outside(lab, "open('data/prices.csv', 'w').write('v\\n1\\n2\\n7\\n')")
    again = lab.run([LOADER, FIRST, SECOND])
    assert again.step("first").ran
    assert again.value("total") == "10", again.step("second").status


def test_a_cached_loader_called_once_keeps_the_step_cacheable(lab):
    lab.write("data/prices.csv", "v\n1\n2\n")
    lab.run([LOADER, SECOND])
    again = lab.run([LOADER, SECOND])
    assert again.last.cached, again.last.status
