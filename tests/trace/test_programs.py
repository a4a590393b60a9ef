"""Shell commands, subprocesses, cell magics, the environment and library classes changed from the notebook."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "step",
    [
        "%%step shell\n!cat data.txt",
        "%%step shell\nout = !cat data.txt\nprint(out[0])",
        "%%step shell\nimport subprocess\nprint(subprocess.run(['cat', 'data.txt'], capture_output=True, text=True).stdout)",
        "%%step shell\nimport os\nos.system('cat data.txt > copy.txt')\nprint(open('copy.txt').read())",
    ],
    ids=["bang", "bang-assign", "subprocess", "os-system"],
)
def test_a_step_that_runs_a_program_runs_every_time_and_says_why(lab, step):
    lab.write("data.txt", "first\n")
    session = lab.run([step])
    lab.write("data.txt", "second\n")
    session.run(step)
    assert session.last.ran and "second" in session.last.stdout, session.last
    assert "runs a program" in session.last.status


def test_a_program_that_writes_a_file_the_step_reads(lab):
    lab.write("gen.py", "open('out.txt', 'w').write('v1')\n")
    step = "%%step gen\n!python gen.py\ntext = open('out.txt').read()"
    session = lab.run([step])
    lab.write("gen.py", "open('out.txt', 'w').write('v2')\n")
    session.run(step)
    assert session.last.ran and session.value("text") == "'v2'"


@pytest.mark.parametrize(
    "step",
    [
        "%%step timed\n%%time\ny = x * 2",
        "%%step captured\n%%capture out\ny = x * 2\nprint(y)",
        "%%step timed\n%time y = x * 2",
    ],
    ids=["time-cell-magic", "capture-cell-magic", "time-line-magic"],
)
def test_code_inside_a_magic_in_the_body_is_the_steps_code(lab, step):
    session = lab.run(["x = 1", step])
    session.run("x = 5")
    session.run(step)
    assert session.last.ran and session.value("y") == "10", session.last


def test_percent_run_dash_i_reads_the_notebook_names(lab):
    lab.write("script.py", "y = x * 2\n")
    step = "%%step script\n%run -i script.py"
    session = lab.run(["x = 1", step])
    session.run("x = 5")
    session.run(step)
    assert session.last.ran and session.value("y") == "10"


@pytest.mark.parametrize(
    "cells",
    [
        ["import os", "%%step env\nmode = os.environ['MODE']"],
        ["import os", "%%step env\nmode = os.getenv('MODE')"],
        ["import os\ndef current():\n    return os.environ.get('MODE', 'none')", "%%step env\nmode = current()"],
        ["import os", "%%step env\nmode = 'MODE' in os.environ and os.environ['MODE']"],
    ],
    ids=["environ-item", "getenv", "helper", "in-environ"],
)
def test_an_environment_variable_the_step_read_is_followed(lab, cells):
    session = lab.run(["import os\nos.environ['MODE'] = 'a'", *cells])
    assert "a" in session.value("mode")
    session.run(cells[-1])
    assert session.last.cached
    session.run("%env MODE=b")
    session.run(cells[-1])
    assert session.last.ran and session.value("mode") == "'b'"
    assert "MODE" in session.last.status


def test_sys_argv_read_by_a_helper_is_followed(lab):
    cells = ["import sys\ndef first():\n    return sys.argv[-1]", "%%step args\nlast = first()"]
    session = lab.run(["import sys\nsys.argv = ['prog', 'one']", *cells])
    session.run("sys.argv = ['prog', 'two']")
    session.run(cells[-1])
    assert session.last.ran and session.value("last") == "'two'"


def test_a_method_added_to_a_library_class_in_a_cell_is_followed(lab):
    cells = [
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})",
        "pd.DataFrame.double = lambda self: self * 2",
        "%%step use\ntotal = int(df.double()['a'].sum())",
    ]
    session = lab.run(cells)
    assert session.value("total") == "6"
    session.run("pd.DataFrame.double = lambda self: self * 3")
    session.run(cells[-1])
    assert session.last.ran and session.value("total") == "9"


ACCESSOR = '''
import pandas as pd
@pd.api.extensions.register_dataframe_accessor("stats")
class Stats:
    def __init__(self, frame):
        self._frame = frame
    def spread(self):
        return float(self._frame["a"].max() - self._frame["a"].min())
'''


def test_a_pandas_accessor_registered_in_a_cell_is_followed(lab):
    cells = [ACCESSOR, "df = pd.DataFrame({'a': [1, 5]})", "%%step use\nspread = df.stats.spread()"]
    session = lab.run(cells)
    assert session.value("spread") == "4.0"
    session.run(ACCESSOR.replace("max() - self._frame[\"a\"].min()", "max() * 10"))
    session.run(cells[-1])
    import pandas  # the kernel's: pandas 2 (Python 3.10's) keeps on the frame the accessor it made, as a plain run does
    assert session.last.ran and session.value("spread") == ("50.0" if int(pandas.__version__.split(".")[0]) >= 3 else "4.0")
