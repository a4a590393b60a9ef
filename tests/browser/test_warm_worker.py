"""The browser's jobs share one warm worker process, which never runs a user module older than the file."""

from __future__ import annotations

from wfnb.frontends.browser.state import BrowserState
from wfnb.history.session import current_session

WAIT = 180  # seconds: a guard against a hung worker, not a speed claim


def _value(state: BrowserState, overrides: dict) -> tuple[float, int]:
    job = state.replay(overrides, wait=True)
    assert job is not None and job.state == "done", (job.result, job.stderr[-2000:])
    return state.row(state.selected).metrics["value"], job._process.pid


def test_replays_reuse_the_warm_worker_until_a_module_it_imported_is_edited(ip, tmp_path, monkeypatch):
    (tmp_path / "helper_mod.py").write_text("FACTOR = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # as a kernel started in this folder has it
    for cell in [
        f"%wfnb store {tmp_path / 'store'}",
        "%wfnb workflow warm",
        "import wfnb",
        "%%params\nn = 1",
        "%%step scaled\nimport helper_mod\nvalue = n * helper_mod.FACTOR\nwfnb.log(value=value)",
    ]:
        assert ip.run_cell(cell).success, cell
    session = current_session()
    state = BrowserState(session.store, "warm", session=session)
    state.select("v1")

    first, worker = _value(state, {"n": 2})
    second, same_worker = _value(state, {"n": 3})
    assert (first, second) == (4, 6) and same_worker == worker  # one process for both jobs

    (tmp_path / "helper_mod.py").write_text("FACTOR = 10\n")
    edited, fresh_worker = _value(state, {"n": 4})
    assert edited == 40  # the file's code, not the copy the warm worker had imported
    assert fresh_worker != worker


def test_sweeps_in_the_warm_worker_each_count_their_own_points(ip, tmp_path):
    for cell in [f"%wfnb store {tmp_path / 'store'}", "%wfnb workflow counted", "import wfnb", "%%params\nn = 1",
                 "%%step double\nvalue = 2 * n\nwfnb.log(value=value)"]:
        assert ip.run_cell(cell).success, cell
    session = current_session()
    state = BrowserState(session.store, "counted", session=session)
    state.select("v1")
    for grid in ({"n": [2, 3]}, {"n": [4, 5]}):
        job = state.sweep(grid, wait=True, backend="threading")
        assert job is not None and job.state == "done", (job.result, job.stderr[-2000:])
        assert [e["done"] for e in job.events if e["event"] == "point"] == [1, 2]
    assert state.progress[0]["detail"] == "2 of 2"
