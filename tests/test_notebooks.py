"""Notebooks executed end to end in real kernels (nbclient): a restart gives hits, with equal outputs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from kernels import run_notebook, status_outputs  # tests/kernels.py
from readme_blocks import python_blocks  # tests/readme_blocks.py

ROOT = Path(__file__).resolve().parent.parent


def execute(notebook, directory: Path, store: Path):
    return run_notebook(notebook, directory, store, name="nb.ipynb")


statuses = status_outputs


def visible_outputs(notebook) -> list[list[dict]]:
    """What each cell shows, minus wfnb's status line and the execution counters."""
    shown = []
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("wfnb") == "status":
                continue
            outputs.append({k: v for k, v in output.items() if k != "execution_count"})
        shown.append(outputs)
    return shown


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(ROOT / "notebooks" / "data", tmp_path / "data")
    return tmp_path


def test_demo_notebook_second_kernel_runs_no_step_and_shows_the_same(workdir):
    source = nbformat.read(ROOT / "notebooks" / "prices.ipynb", as_version=4)
    first = execute(nbformat.from_dict(source), workdir, workdir / "store")
    second = execute(nbformat.from_dict(source), workdir, workdir / "store")
    assert len(statuses(first)) == 3 and all(" · ran " in s or "· ran" in s for s in statuses(first))
    assert len(statuses(second)) == 3 and all(" · cached · " in s for s in statuses(second))
    assert visible_outputs(second) == visible_outputs(first)
    kinds = {mime for cell in visible_outputs(second) for o in cell for mime in o.get("data", {})}
    assert {"text/plain", "text/html", "image/png"} <= kinds
    texts = [o.get("text", "") for cell in visible_outputs(second) for o in cell if o["output_type"] == "stream"]
    assert any(re.search(r"\d+ rows", t) for t in texts)


def test_a_failing_step_stops_the_notebook(workdir):
    notebook = new_notebook(cells=[new_code_cell("%load_ext wfnb"), new_code_cell("%%step bad\n1 / 0"), new_code_cell("after = 1")])
    with pytest.raises(CellExecutionError) as caught:
        execute(notebook, workdir, workdir / "store")
    assert "ZeroDivisionError" in str(caught.value)


def test_top_level_await_in_a_kernel(workdir):
    cell = "%%step waits\nimport asyncio\nawait asyncio.sleep(0.01)\nanswer = 42\nprint(answer)"
    for expected in ("ran", "cached"):
        notebook = new_notebook(cells=[new_code_cell("%load_ext wfnb"), new_code_cell(cell)])
        execute(notebook, workdir, workdir / "store")
        outputs = notebook.cells[1].outputs
        assert any(o.get("text") == "42\n" for o in outputs)
        assert expected in statuses(notebook)[0]


def test_readme_example_runs_as_written(workdir):
    cells = python_blocks("Example")
    assert len(cells) >= 3
    notebook = new_notebook(cells=[new_code_cell(c) for c in cells])
    execute(notebook, workdir, workdir / "store")
    again = execute(new_notebook(cells=[new_code_cell(c) for c in cells]), workdir, workdir / "store")
    assert statuses(again) and all(" · cached · " in s for s in statuses(again))
