"""The README's "Shared stores and sweeps" example, run as written in real IPython shells.

Its cells are taken from README.md as they are; only the environment they read
differs (``S3_BUCKET``, ``S3_ENDPOINT_URL``): a fresh bucket on the tests' S3
server (moto, 127.0.0.1). Its sweep starts its own Dask ``LocalCluster`` on
127.0.0.1, as the README says.
"""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

import wfnb
from wfnb.store import settings

from readme_blocks import python_blocks  # tests/readme_blocks.py

ROOT = Path(__file__).resolve().parents[2]
SECTION = "Shared stores and sweeps"
GRID = {"window": [5, 10, 20, 40], "method": ["mean", "ewm"]}  # the README's grid: "each of the 8 points"


def _run(shell, cells: list[str]) -> tuple[list, list[str]]:
    """Run the cells one by one, as a notebook would; every one must succeed. Their results and printed text."""
    results, printed = [], []
    for cell in cells:
        with capture_output() as captured:
            result = shell.run_cell(cell)
        error = result.error_before_exec or result.error_in_exec
        assert result.success, f"README cell failed: {error!r}\n{cell}\n{captured.stdout}{captured.stderr}"
        results.append(result)
        printed.append(captured.stdout)
    return results, printed


def _executions(store: str) -> dict[str, int]:
    """How many times each step really ran (not restored) in the store, by anyone."""
    table = wfnb.runs(store)
    return table[~table["cached"]]["step"].value_counts().to_dict()


def _object_puts(server, since: int) -> int:
    return sum(n for line, n in server.requests(since).items() if line.startswith("PUT ") and "/objects/" in line)


def test_the_shared_store_and_sweep_example_runs_as_written(ip, new_kernel, bucket, s3_server, tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed", reason="the example's backend='dask' needs pip install -e '.[test]'")
    cells = python_blocks(SECTION)
    assert any("wfnb.sweep(" in cell and 'backend="dask"' in cell for cell in cells)
    shutil.copytree(ROOT / "notebooks" / "data", tmp_path / "data")  # the kernel's working directory
    monkeypatch.setenv("S3_BUCKET", bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_server.endpoint)
    # Only the example's own wfnb.configure(...) tells wfnb (and the sweep's workers) where the server is.
    monkeypatch.delenv("WFNB_STORAGE_OPTIONS")
    settings.reset()
    url = f"s3://{bucket}/prices-study"

    results, printed = _run(ip, cells)

    # The store is the bucket's: nothing was written locally, and it is sound.
    assert any(f"wfnb store: {url}" in text for text in printed)
    assert not (tmp_path / ".wfnb").exists()
    assert wfnb.verify(url).ok

    # One row per grid point, in grid order: its variant, its parameters, its metric.
    table = ip.user_ns["table"]
    points = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    assert len(table) == 8 and list(table.columns[:3]) == ["variant", "window", "method"]
    assert table[["window", "method"]].to_dict("records") == points
    assert all(math.isfinite(s) for s in table["sharpe"]) and table["sharpe"].nunique() > 1
    shown = results[-1].result  # the cell's last line: the table, sorted by sharpe
    assert list(shown["sharpe"]) == sorted(table["sharpe"]) and len(shown) == 8

    # Each point is a variant of the notebook's workflow; the notebook's own point gives its own metric.
    listed = wfnb.variants()
    assert set(table["variant"]) <= set(listed["variant"])
    own = table[(table["window"] == 20) & (table["method"] == "mean")].iloc[0]
    assert own["variant"] == "v1" and own["sharpe"] == wfnb.variant("v1").metrics["sharpe"]

    # `load` reads no swept parameter: it ran once, in the notebook; every point restored it.
    # `strategy` ran once per point (the notebook's point was already computed).
    ran = _executions(url)
    assert ran == {"load": 1, "strategy": 8}

    # A second kernel, "on another machine" (an empty local cache), runs the example again: all hits.
    monkeypatch.setenv("WFNB_CACHE_DIR", str(tmp_path / "other-machine"))
    settings.reset()
    mark = s3_server.mark()
    second = new_kernel()
    _run(second, cells)
    assert _executions(url) == ran  # no step ran again, in the kernel or in the sweep's workers
    assert _object_puts(s3_server, mark) == 0  # nothing new was stored
    assert second.user_ns["close"].equals(ip.user_ns["close"])
    again = second.user_ns["table"]
    assert again[["variant", "window", "method", "sharpe"]].equals(table[["variant", "window", "method", "sharpe"]])
