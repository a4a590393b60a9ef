"""Real notebooks, edited between runs the way users edit them, compared with a plain run.

``tests/notebooks/trace`` holds two small notebooks nobody on the team wrote the
habits of: a scikit-learn gallery-style digit classifier whose features come from a
local module imported inside a step, and a Handbook-style pandas analysis with its
``display`` helper (``eval`` on names), paths built with f-strings and os.path.join,
a helper module imported in a step, a seed read from the environment, a style and an
option set in steps. After each edit, a fresh kernel with wfnb must show exactly
what a plain run (no wfnb, no cache) shows, and a third run must restore every step.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from trace.conftest import plain_cell

import nbformat
import pytest

from kernels import run_notebook, status_outputs  # tests/kernels.py

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks" / "trace"


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


EDITS = {
    "digits-local-module": ("digits.ipynb", lambda work: _replace(work / "features.py", "reshape((len(images), -1))", "reshape((len(images), -1)) / 16.0"), {}),
    "digits-parameter": ("digits.ipynb", lambda work: _replace(work / "digits.ipynb", "gamma = 0.001", "gamma = 0.01"), {}),
    "states-data-file": ("states.ipynb", lambda work: _replace(work / "data" / "state-areas.csv", "Alaska,", "Alaska,1"), {}),
    "states-helper-module": ("states.ipynb", lambda work: _replace(work / "helpers.py", 'frame["area"]', 'frame["area"] / 2.59'), {}),
    "states-environment-seed": ("states.ipynb", lambda work: None, {"SEED": "1"}),
}


@pytest.fixture
def work(tmp_path):
    for item in NOTEBOOKS.iterdir():
        if item.is_dir():
            shutil.copytree(item, tmp_path / item.name)
        else:
            shutil.copy(item, tmp_path / item.name)
    return tmp_path


def shown(notebook) -> list[dict]:
    """What each cell shows, as a user sees it: text, tables, images; not wfnb's status lines.

    Each stream's text is compared whole: how the kernel interleaves stdout and stderr
    depends on when it flushes them, not on what the cell did.
    """
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        seen: dict = {"stdout": "", "stderr": "", "shown": []}
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("wfnb") == "status":
                continue
            if output["output_type"] == "stream":  # a warning names the cell's file, which each kernel names anew
                seen[output["name"]] += re.sub(r"/tmp/ipykernel_\d+/\d+\.py", "<cell>", output["text"])
            elif output["output_type"] in ("display_data", "execute_result"):
                seen["shown"].append({mime: data for mime, data in output["data"].items() if mime != "text/html" or "<table" in data})
            elif output["output_type"] == "error":
                seen["shown"].append(("error", output["ename"]))
        cells.append(seen)
    return cells


def with_wfnb(work: Path, name: str, **env: str):
    notebook = nbformat.read(work / name, as_version=4)
    return run_notebook(notebook, work, work / ".wfnb", name=name, **env)


def plain(work: Path, name: str, **env: str):
    notebook = nbformat.read(work / name, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = "" if cell.source.strip() == "%load_ext wfnb" else plain_cell(cell.source)
    return run_notebook(notebook, work, work / "unused-store", name=name, **env)


@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_after_an_edit_a_fresh_kernel_shows_what_a_plain_run_shows(work, edit):
    name, change, env = EDITS[edit]
    first = with_wfnb(work, name)
    assert shown(first) == shown(plain(work, name)), "the first run already differs from a plain run"
    change(work)
    edited = with_wfnb(work, name, **env)
    reference = plain(work, name, **env)
    assert shown(edited) == shown(reference)
    assert any(" · ran " in line for line in status_outputs(edited)), "the edit re-ran nothing"
    again = with_wfnb(work, name, **env)
    steps = [line for line in status_outputs(again) if line.startswith("step ")]
    assert steps and all(" · cached · " in line for line in steps), steps
    assert shown(again) == shown(reference)
