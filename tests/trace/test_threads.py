"""Files read by library calls the step hands to a thread pool (``pool.map(pd.read_csv, files)``):
no frame of the notebook is on those threads' stacks, but the step asked for them."""

from __future__ import annotations

from tests.trace.test_more_habits import outside

STEP = """%%step load
import pandas as pd
from concurrent.futures import ThreadPoolExecutor
files = [f'{name}.csv' for name in 'ab']
with ThreadPoolExecutor(2) as pool:
    total = int(sum(frame['v'].sum() for frame in pool.map(pd.read_csv, files)))
del pool"""


def test_a_file_read_by_a_library_call_in_a_thread_pool_is_followed(lab):
    lab.write("a.csv", "v\n1\n")
    lab.write("b.csv", "v\n2\n")
    session = lab.run([STEP])
    assert session.value("total") == "3"
    session.run(STEP)
    assert session.last.cached, session.last.status
    outside(lab, "open('b.csv', 'w').write('v\\n5\\n')")
    session.run(STEP)
    assert session.last.ran and session.value("total") == "6", session.last.status
    assert "b.csv changed" in session.last.status
