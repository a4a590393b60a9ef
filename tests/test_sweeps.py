"""Sweeps: a variant replayed over a grid, on a real Dask LocalCluster (127.0.0.1) and on joblib threads."""

from __future__ import annotations

import pytest

import wfnb
from wfnb.errors import BadArgument
from wfnb.history.sweeps import grid_points

NOTEBOOK = [
    "%%params\nwindow = 2\nscale = 1",
    "%%step load\nimport numpy as np\ndata = np.arange(1000.0)",
    "%%step smooth\nsmoothed = data[::window] * scale\nwfnb.log(mean=float(smoothed.mean()))",
]


def _expected_mean(window: int, scale: int) -> float:
    import numpy as np

    return float((np.arange(1000.0)[::window] * scale).mean())


@pytest.fixture
def notebook_variant(ip, tmp_path):
    """The notebook run once in a real shell: its variant, in a store at tmp_path/store."""
    ip.run_line_magic("wfnb", f"store {tmp_path / 'store'}")
    ip.run_cell("import wfnb")
    for cell in NOTEBOOK:
        assert ip.run_cell(cell).success
    return wfnb.variant("v1")


def _executions(step: str, store) -> int:
    table = wfnb.runs(store)
    return int((~table[(table["step"] == step)]["cached"]).sum())


def test_a_sweep_on_a_local_dask_cluster_runs_the_shared_step_once(notebook_variant, tmp_path):
    pytest.importorskip("dask.distributed", reason="backend='dask' needs pip install -e '.[test]'")
    grid = {"window": [1, 2, 3, 4], "scale": [1, 2]}
    table = wfnb.sweep(notebook_variant, grid=grid, backend="dask", n_jobs=2, progress=False)
    assert len(table) == 8 and list(table.columns[:3]) == ["variant", "window", "scale"]
    for row in table.itertuples():
        assert row.mean == pytest.approx(_expected_mean(row.window, row.scale))
    store = tmp_path / "store"
    assert _executions("load", store) == 1  # the notebook's own run; every point restored it
    assert _executions("smooth", store) == 8  # once per point (the notebook's point is one of them)
    listed = wfnb.variants(notebook_variant.workflow, store=str(store))
    assert set(table["variant"]) <= set(listed["variant"])  # every point is a variant in the store
    assert wfnb.verify(str(store)).ok


def test_a_sweep_on_threads_and_grid_errors(notebook_variant, tmp_path):
    table = wfnb.sweep(notebook_variant.name, grid={"scale": [3, 4]}, backend="threading", n_jobs=2)
    assert list(table["scale"]) == [3, 4] and list(table["window"]) == [2, 2]
    with pytest.raises(BadArgument, match="does not have; its parameters: scale, window"):
        grid_points({"nope": [1]}, notebook_variant.params)
    with pytest.raises(BadArgument, match="not a non-empty list"):
        grid_points({"scale": 3}, notebook_variant.params)
    with pytest.raises(BadArgument, match="not plain JSON"):
        grid_points({"scale": [object()]}, notebook_variant.params)
    assert grid_points({"scale": [1, 1, 2]}, notebook_variant.params) == [{"scale": 1}, {"scale": 2}]
    with pytest.raises(BadArgument, match="backend='dask'"):
        wfnb.sweep(notebook_variant, grid={"scale": [1]}, client=object())


def test_a_shared_step_missing_from_the_cache_runs_once_for_all_points(notebook_variant, tmp_path):
    from wfnb.store.layout import record_path

    store = tmp_path / "store"
    load = next(step for step in notebook_variant.steps if step.step == "load")
    (store / record_path(load.key)).unlink()  # as if `wfnb gc` had removed it
    table = wfnb.sweep(notebook_variant, grid={"scale": [5, 6, 7]}, n_jobs=2, progress=False)
    assert list(table["scale"]) == [5, 6, 7]
    assert _executions("load", store) == 2  # the notebook's run, then the first point alone; the others restored it
    assert _executions("smooth", store) == 4  # the notebook's, then once per point


def test_a_failing_point_does_not_stop_the_others_and_is_noted_in_the_store(notebook_variant, tmp_path, capsys):
    from wfnb.history.attempts import failed_attempts
    from wfnb.store import open_store

    table = wfnb.sweep(notebook_variant, grid={"window": [3, 0, 4]}, backend="threading", n_jobs=2, progress=False)
    assert "wfnb: 1 of 3 points failed" in capsys.readouterr().err
    assert list(table["window"]) == [3, 0, 4]
    assert table["variant"].isna().tolist() == [False, True, False]  # the other points finished
    assert "step smooth failed" in table["error"][1] and "slice step cannot be zero" in table["error"][1]
    assert table["mean"][2] == pytest.approx(_expected_mean(4, 1))
    [noted] = failed_attempts(open_store(tmp_path / "store", create=False), notebook_variant.workflow)
    assert noted.params == {"window": 0, "scale": 1} and noted.step == "smooth" and noted.replayed == 1
    assert noted.error == "ValueError: slice step cannot be zero"
