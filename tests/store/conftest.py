"""Fixtures for the store tests: a fresh store per test, syncs off for speed.

The sync itself is exercised on purpose in test_durability.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wfnb.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("WFNB_FSYNC", "0")
    return open_store(tmp_path / "store")

