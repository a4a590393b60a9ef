"""Which notebook a kernel runs: a variant only ever holds steps of one notebook, however it was run.

Real kernels: nbclient (as nbconvert --execute runs a notebook: no file name given to the
kernel), papermill's command line, and Jupyter's JPY_SESSION_NAME.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import wfnb

from kernels import run_notebook, run_retrying_port_races, status_outputs  # tests/kernels.py

PRICES = "%%step load\nimport numpy as np\nclose = np.linspace(100.0, 120.0, 50)"
A = ["%load_ext wfnb", PRICES, "%%step clean\nclean = close[close > 105]"]
B = ["%load_ext wfnb", PRICES, "%%step trend\ntrend = np.convolve(close, np.ones(5) / 5, 'valid')"]


def notebook(cells: list[str]):
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return new_notebook(cells=[new_code_cell(c) for c in cells], metadata=kernel)


def stderr_of(executed) -> str:
    return "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []) if o.get("name") == "stderr")


def steps_of_every_variant(store: Path) -> dict[str, list[list[str]]]:
    table = wfnb.variants(store=store)
    found: dict[str, list[list[str]]] = {}
    for workflow, name in zip(table["workflow"], table["variant"]):
        found.setdefault(workflow, []).append(wfnb.variant(name, workflow, store=store).steps.names())
    return found


@pytest.fixture(autouse=True)
def _no_inherited_session(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)


def test_two_unnamed_notebooks_never_share_a_variant_and_each_says_how_to_name_it(tmp_path):
    store = tmp_path / "store"
    first = run_notebook(notebook(A), tmp_path, store)
    second = run_notebook(notebook(B), tmp_path, store)
    found = steps_of_every_variant(store)
    assert sorted(found.values()) == [[["load", "clean"]], [["load", "trend"]]]  # two workflows, one variant each
    assert all(name.startswith("notebook-") for name in found)
    for executed in (first, second):
        said = stderr_of(executed)
        assert said.count("was not told which notebook it runs") == 1 and "%wfnb workflow NAME" in said
    trend = next(w for w, steps in found.items() if steps == [["load", "trend"]])
    script = tmp_path / "trend.py"
    wfnb.variant("v1", trend, store=store).to_script(script)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # every step it needs is its own


def test_a_notebook_file_run_headless_is_found_in_the_working_directory(tmp_path):
    store = tmp_path / "store"
    beta = [B[0], PRICES.replace("50)", "60)"), B[2]]  # with the very same first step, the directory could not tell
    for name, cells in (("alpha.ipynb", A), ("beta.ipynb", beta)):
        nbformat.write(notebook(cells), tmp_path / name)
    for _ in range(2):  # as `jupyter nbconvert --execute alpha.ipynb`, twice: one workflow, one variant
        executed = run_notebook(nbformat.read(tmp_path / "alpha.ipynb", as_version=4), tmp_path, store)
        assert "was not told" not in stderr_of(executed)
    run_notebook(nbformat.read(tmp_path / "beta.ipynb", as_version=4), tmp_path, store)
    assert steps_of_every_variant(store) == {"alpha": [["load", "clean"]], "beta": [["load", "trend"]]}
    assert all(" · cached · " in line for line in status_outputs(executed))


def test_papermill_names_the_workflow_with_inject_paths(tmp_path):
    pytest.importorskip("papermill")
    store = tmp_path / "store"
    source = tmp_path / "report.ipynb"
    nbformat.write(notebook(B), source)
    (tmp_path / "copy.ipynb").write_bytes(source.read_bytes())  # the same cells twice: the directory cannot tell
    command = [sys.executable, "-m", "papermill", str(source), str(tmp_path / "out.ipynb"), "--inject-paths",
               "-k", "python3", "--cwd", str(tmp_path)]
    done = run_retrying_port_races(command, env=_env(store))  # papermill's kernel listens on TCP
    assert done.returncode == 0, done.stderr
    assert steps_of_every_variant(store) == {"report": [["load", "trend"]]}
    assert "was not told" not in stderr_of(nbformat.read(tmp_path / "out.ipynb", as_version=4))


def test_jupyter_session_name_names_the_workflow(tmp_path):
    store = tmp_path / "store"
    run_notebook(notebook(A), tmp_path, store, name="analysis.ipynb")
    assert steps_of_every_variant(store) == {"analysis": [["load", "clean"]]}


def _env(store: Path) -> dict[str, str]:
    import os

    return {**{k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}, "WFNB_STORE": str(store), "WFNB_FSYNC": "0"}


def test_a_copy_beside_the_notebook_never_moves_its_headless_runs_into_a_made_up_workflow(tmp_path):
    store = tmp_path / "store"
    nbformat.write(notebook(A), tmp_path / "alpha.ipynb")
    (tmp_path / "alpha-Copy1.ipynb").write_bytes((tmp_path / "alpha.ipynb").read_bytes())  # Jupyter's "Duplicate"
    for _ in range(2):  # a fresh store (the copy's name says which is the copy), then one that knows alpha
        executed = run_notebook(nbformat.read(tmp_path / "alpha.ipynb", as_version=4), tmp_path, store)
        assert "was not told" not in stderr_of(executed)
    assert steps_of_every_variant(store) == {"alpha": [["load", "clean"]]}
    (tmp_path / "alpha-Copy1.ipynb").rename(tmp_path / "beta.ipynb")  # a copy by any name: the store knows alpha
    executed = run_notebook(nbformat.read(tmp_path / "alpha.ipynb", as_version=4), tmp_path, store)
    assert "was not told" not in stderr_of(executed)
    assert all(" · cached · " in line for line in status_outputs(executed))
    assert list(steps_of_every_variant(store)) == ["alpha"]


def test_notebooks_of_one_name_in_two_folders_sharing_a_store_keep_two_workflows(tmp_path):
    store = tmp_path / "store"
    for folder, cells in (("exp1", A), ("exp2", B)):
        (tmp_path / folder).mkdir()
        nbformat.write(notebook(cells), tmp_path / folder / "analysis.ipynb")
    said = {}
    for folder in ("exp1", "exp2", "exp1", "exp2"):
        executed = run_notebook(nbformat.read(tmp_path / folder / "analysis.ipynb", as_version=4), tmp_path / folder,
                                store, name="analysis.ipynb")
        said[folder] = stderr_of(executed)
    assert steps_of_every_variant(store) == {"analysis": [["load", "clean"]], "exp2.analysis": [["load", "trend"]]}
    assert said["exp1"] == ""
    assert said["exp2"].count("recorded from another notebook of that name (exp1/analysis.ipynb)") == 1
    assert "recorded as workflow exp2.analysis" in said["exp2"]
