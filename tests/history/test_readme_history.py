"""The README's history examples (why, branches, another notebook, checks) run as written, in real kernels."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

import wfnb

from kernels import run_notebook  # tests/kernels.py
from readme_blocks import README, python_blocks  # tests/readme_blocks.py

SECTION = "Why it ran, branches, other notebooks, checks, pins"
ROOT = Path(__file__).resolve().parent.parent.parent


def _text_block(section: str) -> str:
    body = README.read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```text\n(.*?)```", body, flags=re.S)[0]


def _printed(notebook) -> str:
    return "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []) if o["output_type"] == "stream")


def test_the_history_examples_run_as_written(tmp_path):
    blocks = python_blocks(SECTION)
    analysis = [b for b in blocks if b.startswith("%%step compare")]  # "In analysis.ipynb, another notebook"
    prices = [b for b in blocks if b not in analysis]
    assert len(prices) == 5 and len(analysis) == 1
    shutil.copytree(ROOT / "notebooks" / "data", tmp_path / "data")
    store = tmp_path / "store"
    params, load, trend, branches, check = prices
    why = _text_block(SECTION)
    command = why.splitlines()[0]
    cells = ["%load_ext wfnb", params, load, trend, branches, check, params.replace("window = 20", "window = 50"), trend, command]
    notebook = run_notebook(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path, store, name="prices.ipynb")
    shown = _printed(notebook)
    for line in why.splitlines()[1:]:
        pattern = re.escape(line).replace(r"2025\-01\-05\ 14:12:03", r"[\d\-]+ [\d:]+").replace(r"2025\-01\-05\ 14:03:11", r"[\d\-]+ [\d:]+")
        assert re.search(pattern.replace("1a2b3c4d5e", "[0-9a-f]{10}"), shown), (line, shown)

    table = wfnb.variants("prices", store=store)
    assert sorted(table["branch.trend"]) == ["else", "else", "if method == 'ewm'"]
    assert wfnb.variant("prices/v2", store=store).diff(wfnb.variant("prices/v1", store=store)).branches == {
        "trend": ("else", "if method == 'ewm'")
    }
    assert notebook.cells[5].outputs[-1]["data"]["text/plain"] == "[]"  # the check: every step reproducible

    other = run_notebook(new_notebook(cells=[new_code_cell("%load_ext wfnb"), *map(new_code_cell, analysis)]), tmp_path, store, name="analysis.ipynb")
    assert any("step compare · ran" in o.get("data", {}).get("text/plain", "") for o in other.cells[1].outputs)
    assert wfnb.variant("analysis/v1", store=store).outputs["gap"] > 0  # latest is the window-50 variant, v1 is 20
