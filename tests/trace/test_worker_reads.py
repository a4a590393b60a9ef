"""Work a step sends to other processes. A library function sent there (``pd.read_csv``, ``np.load``)
reads the files named among the work's arguments: they are in the step's trace. The notebook's own
code sent there, also as a pool's ``initializer``, makes the step run every time (what it reads there
raises no event here). A grid search on in-memory data in two processes stays cacheable."""

from __future__ import annotations

import pytest

from tests.trace.test_more_habits import outside

WRITE = {
    "csv": "open('a.csv', 'w').write('v\\n1\\n')\nopen('b.csv', 'w').write('v\\nB\\n')",
    "npy": "import numpy as np\nnp.save('a.npy', np.array([1]))\nnp.save('b.npy', np.array([B]))",
}


@pytest.mark.parametrize(
    "kind, step",
    [
        (
            "csv",
            "%%step load\nimport pandas as pd\nfrom joblib import Parallel, delayed\nfiles = [f'{n}.csv' for n in 'ab']\n"
            "frames = Parallel(n_jobs=2)(delayed(pd.read_csv)(f) for f in files)\ntotal = int(sum(f['v'].sum() for f in frames))",
        ),
        (
            "npy",
            "%%step load\nimport multiprocessing\nimport numpy as np\nnames = 'ab'\n"
            "with multiprocessing.Pool(2) as pool:\n    total = int(sum(a.sum() for a in pool.map(np.load, (f'{n}.npy' for n in names))))\ndel pool",
        ),
        (
            "csv",
            "%%step load\nimport pandas as pd\nfrom concurrent.futures import ProcessPoolExecutor\nfiles = [f'{n}.csv' for n in 'ab']\n"
            "with ProcessPoolExecutor(2) as ex:\n    total = int(sum(f['v'].sum() for f in ex.map(pd.read_csv, files)))\ndel ex",
        ),
    ],
    ids=["joblib-read-csv", "multiprocessing-pool-np-load", "process-pool-executor-read-csv"],
)
def test_files_read_by_a_library_function_in_worker_processes_are_followed(lab, kind, step):
    outside(lab, WRITE[kind].replace("B", "2"))
    session = lab.run([step])
    assert session.value("total") == "3"
    session.run(step)
    assert session.last.cached, session.last.status
    outside(lab, WRITE[kind].replace("B", "5"))
    session.run(step)
    assert session.last.ran and session.value("total") == "6", session.last.status
    assert f"b.{kind} changed" in session.last.status


def test_a_pool_whose_initializer_is_notebook_code_runs_every_time_and_says_why(lab):
    setup = "def setup():\n    global SCALE\n    SCALE = float(open('scale.txt').read())"
    step = "%%step pool\nimport math, multiprocessing\nwith multiprocessing.Pool(2, initializer=setup) as pool:\n    roots = pool.map(math.sqrt, [4.0, 9.0])\ndel pool"
    lab.write("scale.txt", "2")
    session = lab.run([setup, step])
    session.run(step)
    assert session.last.ran and "other processes" in session.last.status, session.last.status


def test_a_grid_search_in_two_processes_on_in_memory_data_is_a_hit(lab):
    step = (
        "%%step search\nimport numpy as np\nfrom sklearn.model_selection import GridSearchCV\nfrom sklearn.linear_model import LogisticRegression\n"
        "X = np.arange(40.).reshape(20, 2)\ny = np.array([0, 1] * 10)\n"
        "best = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=2, n_jobs=2).fit(X, y).best_params_"
    )
    lab.run([step])
    again = lab.run([step])
    assert again.last.cached, again.last.status
