"""A browser that only looks (``wfnb.browse(read_only=True)``, what ``wfnb ui`` serves by default): every
action that runs code or writes is refused with one paragraph, and nothing in the store changes."""

from __future__ import annotations

import hashlib
import os

import pytest

import wfnb
from wfnb.frontends.browser import actions
from wfnb.frontends.browser.state import BrowserState


@pytest.fixture(autouse=True)
def _notices_stay(monkeypatch):
    monkeypatch.setattr(actions, "NOTICE_SECONDS", 0)


def _contents(root) -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return found


def test_a_read_only_browser_refuses_every_action_that_runs_or_writes_and_changes_nothing(demo_store, tmp_path):
    before = _contents(demo_store.root)
    state = BrowserState(demo_store, "demo", read_only=True)
    state.select("v1")
    attempts = {
        "run": [lambda: state.replay({"window": 7}), lambda: state.sweep({"window": [3, 5]}), state.check],
        "restore": [state.checkout],
        "export": [lambda: state.export(str(tmp_path / "v1.ipynb"))],
        "tag": [lambda: state.tag("best"), state.pin],
    }
    for action, calls in attempts.items():
        for call in calls:
            assert call() is None and state.job is None
            notice = state.notice(action)
            assert notice["kind"] == "error" and "only looks" in notice["text"] and "--allow-runs" in notice["text"], notice
            assert "Traceback" not in notice["text"] and not notice.get("detail")
    assert not (tmp_path / "v1.ipynb").exists()
    assert _contents(demo_store.root) == before


def test_browse_read_only_opens_a_store_given_by_its_location_read_only(demo_store):
    view = wfnb.browse("demo", str(demo_store.root), read_only=True)
    assert view.state.read_only and view.state.store.read_only
    assert view.state.total == 3
