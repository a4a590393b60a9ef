"""Files read however the path was made: the audit hooks see every open, listing and glob."""

from __future__ import annotations

import pytest

CASES = {
    "default-argument": ["def load(path='data/a.txt'):\n    return open(path).read()", "%%step read\ntext = load()"],
    "global-read-by-helper": ["PATH = 'data/a.txt'\ndef load():\n    return open(PATH).read()", "%%step read\ntext = load()"],
    "closure": [
        "def reader(path):\n    def load():\n        return open(path).read()\n    return load\nload = reader('data/a.txt')",
        "%%step read\ntext = load()",
    ],
    "partial": [
        "import functools\ndef read(path):\n    return open(path).read()\nload = functools.partial(read, 'data/a.txt')",
        "%%step read\ntext = load()",
    ],
    "dict-input": ["config = {'path': 'data/a.txt'}", "%%step read\ntext = open(config['path']).read()"],
    "dataclass-input": [
        "from dataclasses import dataclass\n@dataclass\nclass Config:\n    folder: str\n    name: str\nconfig = Config('data', 'a')",
        "%%step read\ntext = open(f'{config.folder}/{config.name}.txt').read()",
    ],
    "f-string": ["name = 'a'", "%%step read\ntext = open(f'data/{name}.txt').read()"],
    "os-path-join": ["import os", "%%step read\ntext = open(os.path.join('data', 'a' + '.txt')).read()"],
    "pathlib-division": ["from pathlib import Path\nfolder = Path('data')", "%%step read\ntext = (folder / 'a.txt').read_text()"],
    "glob": ["import glob", "%%step read\ntext = ''.join(open(p).read() for p in sorted(glob.glob('data/*.txt')))"],
    "pandas-read-csv": ["import pandas as pd\nwhich = 'a'", "%%step read\ntext = str(pd.read_csv(f'data/{which}.txt', header=None).iloc[0, 0])"],
    "home-folder": ["import os", "%%step read\ntext = open(os.path.expanduser('~/data/a.txt')).read()"],
}


@pytest.mark.parametrize("cells", list(CASES.values()), ids=list(CASES))
def test_editing_a_file_the_step_read_runs_it_again(lab, cells):
    lab.write("data/a.txt", "one")
    session = lab.run(cells, HOME=str(lab.root))
    assert "one" in session.value("text")
    session.run(cells[-1])
    assert session.last.cached, session.last
    lab.write("data/a.txt", "two")
    session.run(cells[-1])
    assert session.last.ran, session.last
    assert "two" in session.value("text")
    assert "data/a.txt" in session.last.status


def test_a_folder_of_parquet_parts_is_followed(lab):
    setup = "import pandas as pd\nimport os\nos.makedirs('parts', exist_ok=True)\npd.DataFrame({'v': [1, 2]}).to_parquet('parts/0.parquet')"
    step = "%%step read\nfolder = 'pa' + 'rts'\ntotal = int(pd.read_parquet(folder)['v'].sum())"
    session = lab.run([setup, step])
    assert session.value("total") == "3"
    session.run("pd.DataFrame({'v': [10]}).to_parquet('parts/1.parquet')")  # a new part
    session.run(step)
    assert session.last.ran and session.value("total") == "13"
    session.run("pd.DataFrame({'v': [5, 5]}).to_parquet('parts/0.parquet')")  # a changed part
    session.run(step)
    assert session.last.ran and session.value("total") == "20"


def test_listing_a_folder_makes_the_listing_part_of_the_trace(lab):
    lab.write("inbox/a.txt", "a")
    step = "%%step list\nimport os\nnames = sorted(os.listdir('inbox'))"
    session = lab.run([step])
    lab.write("inbox/b.txt", "b")
    session.run(step)
    assert session.last.ran and session.value("names") == "['a.txt', 'b.txt']"


def test_a_file_read_by_a_script_run_with_percent_run_is_followed(lab):
    lab.write("data/a.txt", "one")
    lab.write("load.py", "text = open('data/a.txt').read()\n")
    step = "%%step read\n%run load.py\nshown = text.upper()"
    session = lab.run([step])
    assert session.value("shown") == "'ONE'"
    lab.write("data/a.txt", "two")
    session.run(step)
    assert session.last.ran and session.value("shown") == "'TWO'"
    lab.write("load.py", "text = open('data/a.txt').read() * 2\n")  # the script itself
    session.run(step)
    assert session.last.ran and session.value("shown") == "'TWOTWO'"


def test_a_file_that_does_not_exist_yet_is_followed(lab):
    step = "%%step check\nimport os\ntry:\n    text = open('later.txt').read()\nexcept FileNotFoundError:\n    text = None"
    session = lab.run([step])
    assert session.value("text") == "None"
    lab.write("later.txt", "here")
    session.run(step)
    assert session.last.ran and session.value("text") == "'here'"
