"""The demo notebooks (four analyses of the prices; models on Iris) and the README's variants example,
each executed end to end in a real kernel with nbclient."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import wfnb

from kernels import run_notebook  # tests/kernels.py
from readme_blocks import python_blocks  # tests/readme_blocks.py

ROOT = Path(__file__).resolve().parent.parent


def execute(notebook, directory: Path, store: Path, name: str):
    """Run a notebook in a fresh kernel, as Jupyter would for ``directory/name``; return it executed."""
    return run_notebook(notebook, directory, store, name=name)


def status_lines(notebook) -> list[str]:
    return [
        output["data"]["text/plain"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("wfnb") == "status" and output["data"]["text/plain"].startswith("step ")
    ]


def printed(notebook) -> str:
    return "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []) if o["output_type"] == "stream")


@pytest.fixture(scope="module")
def prices(tmp_path_factory):
    """notebooks/variants.ipynb executed once in a fresh kernel; yields (executed notebook, work dir, store)."""
    work = tmp_path_factory.mktemp("demo")
    shutil.copytree(ROOT / "notebooks" / "data", work / "data")
    source = nbformat.read(ROOT / "notebooks" / "variants.ipynb", as_version=4)
    return execute(source, work, work / "store", "variants.ipynb"), work, work / "store"


def test_prices_notebook_makes_four_variants(prices):
    notebook, _, store = prices
    table = wfnb.variants("variants", store=store)
    assert list(table["variant"]) == ["v1", "v2", "v3", "v4"]
    assert list(table["parent"]) == ["", "v1", "v2", "v3"]
    assert [tuple(row) for row in table[["cleaning", "method", "window"]].itertuples(index=False)] == [
        ("raw", "rolling", 20), ("interpolate", "rolling", 20), ("interpolate", "ewm", 20), ("interpolate", "ewm", 50)
    ]
    assert table["total_return"].notna().all() and table["total_return"].nunique() == 4
    assert list(table["missing"]) == [15, 0, 0, 0]
    # the replays restored what they could: `load` never ran again, `clean` only for the new cleaning
    text = printed(notebook)
    assert "replay v1 · step load · cached" in text and "replay v2 · step clean · cached" in text
    assert "replay v3 · step load · cached" in text and "replay v3 · step clean · cached" in text
    # the table cell shows the four, and the last cell plots them from the store
    shown = [o for c in notebook.cells for o in c.get("outputs", []) if o["output_type"] == "execute_result"]
    assert any(re.search(r"^3\s+v4\s+v3", o["data"]["text/plain"], re.M) for o in shown)
    assert "image/png" in notebook.cells[-2].outputs[-1]["data"]


def test_wfnb_list_shows_the_four_prices_variants(prices):
    _, work, store = prices
    done = subprocess.run(
        [sys.executable, "-m", "wfnb", "--store", str(store), "list", "variants", "--json"], capture_output=True, text=True, cwd=work
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["variant"], r["params"]["method"], r["params"]["window"]) for r in rows] == [
        ("v1", "rolling", 20), ("v2", "rolling", 20), ("v3", "ewm", 20), ("v4", "ewm", 50)
    ]


def test_prices_notebook_run_again_computes_nothing_and_makes_no_new_variant(prices):
    _, work, store = prices
    again = execute(nbformat.read(ROOT / "notebooks" / "variants.ipynb", as_version=4), work, store, "variants.ipynb")
    steps = status_lines(again)
    assert len(steps) == 4 and all(" · cached · " in line for line in steps)
    replayed = [line for line in printed(again).splitlines() if line.startswith("replay ")]
    assert len(replayed) == 12 and all(" · cached · " in line for line in replayed)
    assert list(wfnb.variants("variants", store=store)["variant"]) == ["v1", "v2", "v3", "v4"]


def test_iris_notebook_compares_models_as_variants(tmp_path):
    pytest.importorskip("sklearn")
    notebook = execute(nbformat.read(ROOT / "notebooks" / "iris.ipynb", as_version=4), tmp_path, tmp_path / "store", "iris.ipynb")
    table = wfnb.variants("iris", store=tmp_path / "store")
    assert [tuple(row) for row in table[["variant", "model", "features"]].itertuples(index=False)] == [
        ("v1", "logistic", "all"), ("v2", "tree", "all"), ("v3", "logistic", "petal")
    ]
    assert table["accuracy"].between(0.8, 1.0).all()
    assert "replay v1 · step load · cached" in printed(notebook)


def test_readme_variants_example_runs_as_written(tmp_path):
    cells = python_blocks("Variants")
    assert len(cells) >= 4
    shutil.copytree(ROOT / "notebooks" / "data", tmp_path / "data")
    notebook = execute(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path, tmp_path / "store", "readme.ipynb")
    table = wfnb.variants("readme", store=tmp_path / "store")
    assert list(table["variant"]) == ["v1", "v2"] and list(table["window"]) == [20, 50]
    assert "replay v1 · step load · cached" in printed(notebook)
