"""Files appearing beside the notebook re-run only the steps that read, listed or would import them.

Libraries list the notebook's folder on their own behalf (scikit-learn's dataframe
support finds its plugins through ``importlib.metadata``, which lists every folder
of ``sys.path``, the working directory included); the import system lists it to
look for modules. Neither is the step reading the folder. What an import asked
(is there a module named X here?) is followed instead, name by name.
Each step makes a folder under ``runs/`` every time its body runs (a folder made is not traced, and a
hit makes none; an appended line would be appended again by a hit, as a run would).
"""

from __future__ import annotations

import json
from pathlib import Path

FIT = """
%%step fit
import sklearn
from sklearn.linear_model import LogisticRegression
import numpy as np
__import__('os').mkdir(f"runs/fit-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
X = np.arange(40.0).reshape(20, 2)
y = np.array([0, 1] * 10)
model = LogisticRegression().fit(X, y)
predictions = model.predict(X)
"""


def _runs(lab, step: str) -> int:
    return sum(1 for entry in (lab.root / "runs").iterdir() if entry.name.startswith(f"{step}-"))


def _add_files_beside_the_notebook(root: Path) -> None:
    """What a notebook's folder gains while one works: a figure folder, a CSV a later cell wrote, an
    exported notebook, JupyterLab's checkpoints."""
    (root / "figs").mkdir()
    (root / "figs" / "a.png").write_bytes(b"\x89PNG")
    (root / "predictions.csv").write_text("0,1\n")
    notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (root / "exported.ipynb").write_text(json.dumps(notebook))
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text(json.dumps(notebook))


def test_files_appearing_beside_the_notebook_rerun_no_step_that_fits_a_model(lab):
    (lab.root / "runs").mkdir()
    lab.run([FIT])
    assert _runs(lab, "fit") == 1
    _add_files_beside_the_notebook(lab.root)
    session = lab.run([FIT])
    assert session.last.cached, session.last
    assert _runs(lab, "fit") == 1  # the body did not run
    assert session.value("predictions.shape") == "(20,)"


def test_imports_and_plugin_lookups_first_made_in_the_step_do_not_tie_it_to_the_folder(lab):
    (lab.root / "runs").mkdir()
    step = """
    %%step parse
    import json, csv, decimal, fractions, statistics
    import sklearn.utils
    from importlib.metadata import entry_points
    plugins = sorted(e.name for e in entry_points(group='wfnb.test.none'))  # lists every folder of sys.path
    __import__('os').mkdir(f"runs/parse-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    total = statistics.mean([1, 2, 3])
    """
    lab.run([step])
    _add_files_beside_the_notebook(lab.root)
    (lab.root / "notes.py").write_text("x = 1\n")  # a module, but not one the step imports
    session = lab.run([step])
    assert session.last.cached, session.last
    assert _runs(lab, "parse") == 1


def test_a_module_file_that_a_failed_import_would_now_find_reruns_the_step(lab):
    (lab.root / "runs").mkdir()
    step = """
    %%step optional
    try:
        import fasthelpers
        speed = fasthelpers.SPEED
    except ImportError:
        speed = 'slow'
    __import__('os').mkdir(f"runs/optional-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    """
    lab.run([step])
    (lab.root / "fasthelpers_notes.txt").write_text("not a module\n")  # named alike, but not a module
    session = lab.run([step])
    assert session.last.cached, session.last
    (lab.root / "fasthelpers.py").write_text("SPEED = 'fast'\n")
    session = lab.run([step])
    assert session.last.ran, session.last
    assert "fasthelpers" in session.last.status
    assert session.value("speed") == "'fast'" and _runs(lab, "optional") == 2


def test_a_module_file_that_would_shadow_a_local_one_found_further_down_the_path_reruns_the_step(lab):
    (lab.root / "runs").mkdir()
    lab.write("vendor/toolbox.py", "WHERE = 'vendor'\n")
    setup = "import sys, os\nsys.path.append(os.path.abspath('vendor'))"
    step = """
    %%step tools
    import toolbox
    where = toolbox.WHERE
    __import__('os').mkdir(f"runs/tools-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    """
    lab.run([setup, step])
    (lab.root / "figs").mkdir()
    session = lab.run([setup, step])
    assert session.last.cached, session.last
    (lab.root / "toolbox").mkdir()  # a package beside the notebook, which a plain run would import first
    (lab.root / "toolbox" / "__init__.py").write_text("WHERE = 'beside'\n")
    session = lab.run([setup, step])
    assert session.last.ran, session.last
    assert session.value("where") == "'beside'" and _runs(lab, "tools") == 2


def test_a_module_file_that_would_shadow_an_installed_library_reruns_the_step(lab):
    (lab.root / "runs").mkdir()
    step = """
    %%step settings
    import importlib
    parser = importlib.import_module('json' + '5')  # a name no reading of the cell can see
    parsed = parser.loads('{a: 1}')
    del parser
    __import__('os').mkdir(f"runs/settings-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    """
    lab.run([step])
    (lab.root / "json5_notes.md").write_text("named alike, not a module\n")
    session = lab.run([step])
    assert session.last.cached, session.last
    (lab.root / "json5.py").write_text("def loads(text):\n    return 'beside'\n")
    session = lab.run([step])
    assert session.last.ran, session.last
    assert "new json5.py" in session.last.status
    assert session.value("parsed") == "'beside'" and _runs(lab, "settings") == 2
    assert lab.plain([step]).value("parsed") == "'beside'"  # what a plain run imports too


def test_a_step_that_lists_the_folder_reruns_and_why_names_the_new_file(lab):
    (lab.root / "runs").mkdir()
    lab.write("data/a.csv", "1\n")
    step = """
    %%step inventory
    import os
    names = sorted(os.listdir('data'))
    __import__('os').mkdir(f"runs/inventory-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    """
    lab.run([step])
    (lab.root / "figs").mkdir()  # beside the notebook, not in the folder it lists
    session = lab.run([step])
    assert session.last.cached, session.last
    lab.write("data/b.csv", "2\n")
    session = lab.run([step])
    assert session.last.ran, session.last
    assert "folder data changed: new b.csv" in session.last.status
    assert session.value("names") == "['a.csv', 'b.csv']"
    why = session.run("%wfnb why inventory").stdout
    assert "new b.csv" in why, why
    (lab.root / "data" / "a.csv").unlink()
    session.run(step)
    assert "gone a.csv" in session.last.status, session.last


def test_a_helper_that_lists_the_notebooks_folder_still_follows_it(lab):
    (lab.root / "runs").mkdir()
    helper = "from pathlib import Path\ndef notebooks():\n    return sorted(p.name for p in Path('.').iterdir() if p.suffix == '.ipynb')"
    step = """
    %%step found
    found = notebooks()
    __import__('os').mkdir(f"runs/found-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    """
    lab.run([helper, step])
    (lab.root / "exported.ipynb").write_text("{}")
    session = lab.run([helper, step])
    assert session.last.ran, session.last
    assert "new exported.ipynb" in session.last.status
    assert session.value("found") == "['exported.ipynb']"


def test_a_folder_handed_to_a_library_that_lists_it_is_followed(lab):
    (lab.root / "runs").mkdir()
    lab.write("docs/pos/a.txt", "good")
    lab.write("docs/neg/b.txt", "bad")
    step = """
    %%step corpus
    from sklearn.datasets import load_files
    corpus = load_files('docs', encoding='utf-8')
    count = len(corpus.data)
    """
    lab.run([step])
    (lab.root / "figs").mkdir()
    session = lab.run([step])
    assert session.last.cached, session.last
    lab.write("docs/pos/c.txt", "fine")
    session = lab.run([step])
    assert session.last.ran, session.last
    assert session.value("count") == "3"


def test_a_regular_expression_handed_to_a_library_that_looks_up_plugins_does_not_tie_the_step_to_the_folder(lab):
    # TfidfVectorizer holds token_pattern '(?u)\b\w\w+\b'; its fit looks up narwhals' plugins (a listing of sys.path)
    (lab.root / "runs").mkdir()
    step = """
    %%step words
    from sklearn.feature_extraction.text import TfidfVectorizer
    vec = TfidfVectorizer()
    X = vec.fit_transform(['problem of evil', 'evil queen', 'horizon problem'])
    __import__('os').mkdir(f"runs/words-{__import__('os').getpid()}-{__import__('time').perf_counter_ns()}")
    """
    lab.run([step])
    _add_files_beside_the_notebook(lab.root)
    session = lab.run([step])
    assert session.last.cached, session.last
    assert _runs(lab, "words") == 1


def test_a_folder_handed_to_pkgutil_ties_the_step_to_it(lab):
    lab.write("plugins/first.py", "")
    step = "%%step find\nimport pkgutil\nnames = sorted(m.name for m in pkgutil.iter_modules(['plugins']))"
    lab.run([step])
    lab.write("plugins/second.py", "")
    session = lab.run([step])
    assert session.last.ran and session.value("names") == "['first', 'second']", session.last
