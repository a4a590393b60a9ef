"""More habits a plain run and a hit must agree on: readers imported on first use, a file's
existence or size, code sent to worker processes, a server's answers, settings of the interpreter."""

from __future__ import annotations

import subprocess
import sys

import pytest


def hit_like_plain(lab, cells: list[str], expressions: list[str]) -> None:
    """Run ``cells`` twice with wfnb (the second time every step is a hit), once without; compare."""
    lab.run(cells)
    cached = lab.run(cells)
    steps = [cell for cell in cached.cells if cell.statuses]
    assert steps and all(cell.cached for cell in steps), [cell.status for cell in steps]
    plain = lab.plain(cells)
    for expression in expressions:
        assert cached.value(expression) == plain.value(expression), expression


def outside(lab, code: str) -> None:
    """Change the lab's files from another process, as an editor or another program would."""
    subprocess.run([sys.executable, "-c", code], cwd=lab.root, check=True)


# -- files -----------------------------------------------------------------------------------------


def test_a_parquet_file_read_by_the_first_read_parquet_of_the_kernel_is_followed(lab):
    """``pd.read_parquet`` imports ``pyarrow.parquet`` on its first call, inside the step: the
    compiled reader must be watched even though it was loaded after the step started."""
    outside(lab, "import pandas as pd\npd.DataFrame({'v': [1]}).to_parquet('a.parquet')")
    step = "%%step read\nimport pandas as pd\nname = 'a'\ntotal = int(pd.read_parquet(f'{name}.parquet')['v'].sum())"
    session = lab.run([step])
    assert session.value("total") == "1"
    session.run(step)
    assert session.last.cached
    outside(lab, "import pandas as pd\npd.DataFrame({'v': [7]}).to_parquet('a.parquet')")
    session.run(step)
    assert session.last.ran and session.value("total") == "7"
    assert "a.parquet changed" in session.last.status


@pytest.mark.parametrize(
    "step, edit, before, after",
    [
        ("%%step look\nimport os\nname = 'a'\nthere = os.path.exists(f'data/{name}.txt')", "import os\nos.remove('data/a.txt')", "True", "False"),
        ("%%step look\nfrom pathlib import Path\nname = 'a'\nthere = Path('data', name + '.txt').is_file()", "import os\nos.remove('data/a.txt')", "True", "False"),
        ("%%step look\nimport os\nname = 'a'\nthere = os.path.getsize(f'data/{name}.txt')", "open('data/a.txt', 'w').write('three')", "3", "5"),
        ("%%step look\nimport os\nname = 'b'\nthere = os.path.exists(f'data/{name}.txt')", "open('data/b.txt', 'w').write('new')", "False", "True"),
    ],
    ids=["os-path-exists", "path-is-file", "getsize", "appears"],
)  # the same looks in a process whose os.path is frozen into the interpreter: tests/test_frozen_stdlib.py
def test_a_step_that_only_looks_whether_a_file_is_there_or_how_big_it_is(lab, step, edit, before, after):
    lab.write("data/a.txt", "one")
    session = lab.run([step])
    assert session.value("there") == before
    session.run(step)
    assert session.last.cached
    outside(lab, edit)
    session.run(step)
    assert session.last.ran and session.value("there") == after
    assert "data/" in session.last.status


def test_a_folder_the_step_makes_with_makedirs_does_not_make_it_run_every_time(lab):
    step = "%%step out\nimport os\nos.makedirs('out', exist_ok=True)\nready = os.path.isdir('out')"
    session = lab.run([step])
    session.run(step)
    assert session.last.cached, session.last
    again = lab.run([step])
    assert again.step("out").cached


# -- other processes, servers ----------------------------------------------------------------------

WORK = "import glob\ndef work(path):\n    with open(path) as fh:\n        return fh.read()"


@pytest.mark.parametrize(
    "step",
    [
        "%%step pool\nfrom joblib import Parallel, delayed\ntexts = Parallel(n_jobs=2)(delayed(work)(p) for p in sorted(glob.glob('data/*.txt')))",
        "%%step pool\nimport multiprocessing\nwith multiprocessing.Pool(2) as pool:\n    texts = pool.map(work, sorted(glob.glob('data/*.txt')))\ndel pool",
        "%%step pool\nfrom concurrent.futures import ProcessPoolExecutor\nwith ProcessPoolExecutor(2) as ex:\n    texts = list(ex.map(work, sorted(glob.glob('data/*.txt'))))\ndel ex",
    ],
    ids=["joblib", "multiprocessing-pool", "process-pool-executor"],
)
def test_a_step_whose_own_code_reads_files_in_worker_processes_runs_every_time(lab, step):
    lab.write("data/a.txt", "one")
    session = lab.run([WORK, step])
    assert session.value("texts") == "['one']"
    lab.write("data/a.txt", "two")
    session.run(step)
    assert session.last.ran and session.value("texts") == "['two']", session.last
    assert "other processes" in session.last.status and len(session.last.statuses) == 1


def test_library_code_in_worker_processes_still_caches(lab):
    """A pool that runs only a library's functions (here ``math.sqrt``) reads nothing of the notebook's."""
    step = "%%step pool\nimport math\nfrom joblib import Parallel, delayed\nroots = Parallel(n_jobs=2)(delayed(math.sqrt)(v) for v in [4, 9])"
    session = lab.run([step])
    session.run(step)
    assert session.last.cached, session.last


def test_a_thread_that_reads_a_file_is_followed(lab):
    step = (
        "%%step thread\nimport threading\nname = 'a'\nout = []\n"
        "t = threading.Thread(target=lambda: out.append(open(f'data/{name}.txt').read()))\nt.start()\nt.join()\ndel t"
    )
    lab.write("data/a.txt", "one")
    session = lab.run([step])
    session.run(step)
    assert session.last.cached, session.last
    lab.write("data/a.txt", "two")
    session.run(step)
    assert session.last.ran and session.value("out") == "['two']"


SERVER = """
import functools, http.server, threading
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory='site')
server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
port = server.server_address[1]
threading.Thread(target=server.serve_forever, daemon=True).start()
"""


def test_a_step_that_reads_from_a_server_runs_every_time_and_says_why(lab):
    lab.write("site/a.txt", "one")
    step = "%%step fetch\nimport urllib.request\ntext = urllib.request.urlopen(f'http://127.0.0.1:{port}/a.txt').read().decode()"
    session = lab.run([SERVER, step])
    try:
        assert session.value("text") == "'one'"
        lab.write("site/a.txt", "two")
        session.run(step)
        assert session.last.ran and session.value("text") == "'two'"
        assert "reads from a server (127.0.0.1:" in session.last.status
    finally:
        session.run("server.shutdown()", check=False)


# -- settings of the interpreter, changed by a step ------------------------------------------------


@pytest.mark.parametrize(
    "step, check",
    [
        ("import warnings\nwarnings.filterwarnings('ignore', category=UserWarning)", "import warnings\nwarnings.warn('loud')"),
        ("import sys\nsys.setrecursionlimit(4321)", "import sys\nlimit = sys.getrecursionlimit()"),
        ("import decimal\ndecimal.getcontext().prec = 5", "import decimal\nseventh = str(decimal.Decimal(1) / 7)"),
        ("import os, time\nos.environ['TZ'] = 'Asia/Tokyo'\ntime.tzset()", "import time\nzone = time.tzname[0]"),
        ("import logging\nlogging.getLogger().setLevel(logging.ERROR)", "import logging\nlevel = logging.getLogger().level"),
    ],
    ids=["warnings-filter", "recursion-limit", "decimal-precision", "time-zone", "logging-level"],
)
def test_a_setting_of_the_interpreter_changed_by_a_step_is_changed_after_a_hit(lab, step, check):
    cells = [f"%%step setting\n{step}", check]
    lab.run(cells)
    cached = lab.run(cells)
    assert cached.step("setting").cached, cached.step("setting")
    plain = lab.plain(cells)
    assert cached.cells[-1].stderr == plain.cells[-1].stderr  # the warning shown, or not
    name = check.rsplit("\n", 1)[-1].split(" = ")[0]
    if " = " in check:
        assert cached.value(name) == plain.value(name)


def test_logging_basic_config_in_a_step_runs_every_time_and_says_why(lab):
    cells = ["%%step log\nimport logging\nlogging.basicConfig(level=logging.INFO)", "import logging\nlogging.info('shown')"]
    lab.run(cells)
    again = lab.run(cells)
    assert again.step("log").ran and "logging's handlers" in again.step("log").status
    assert "shown" in again.cells[-1].stderr
