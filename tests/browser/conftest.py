"""Fixtures for the browser: a store with the demo workflow's variants, recorded once, copied per test.

The demo (``demo_workflow.py``) runs once per session in a fresh Python
process; each test gets its own copy of that store, so actions that write
(replay, tag) never leak between tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wfnb.history.snapshots import load_variant, record_variant
from wfnb.history.state import WorkflowState
from wfnb.store import Store, open_store

DEMO = Path(__file__).with_name("demo_workflow.py")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store, recorded once: v1 (window=3, tagged baseline), v2 (replay, window=5), v3 (ewm; current)."""
    root = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "WFNB_STORE": str(root / "store"), "WFNB_FSYNC": "0", "IPYTHONDIR": str(root / "ipython")}
    made = subprocess.run([sys.executable, str(DEMO)], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    return root / "store"


@pytest.fixture
def demo_store(demo_template: Path, tmp_path: Path) -> Store:
    """This test's own copy of the demo store."""
    target = tmp_path / "store"
    shutil.copytree(demo_template, target)
    return open_store(target, create=False)


@pytest.fixture
def notebook(ip, demo_store: Store):
    """A notebook shell on the demo store and workflow (at v3, its current variant), as after a kernel restart."""
    ip.run_line_magic("wfnb", f"store {demo_store.root}")
    ip.run_line_magic("wfnb", "workflow demo")
    ip.enable_gui = lambda gui=None: None  # `%matplotlib inline` in a plain shell: no GUI event loop needed
    ip.enable_matplotlib("inline")
    return ip


def add_variants(store: Store, count: int) -> None:
    """``count`` more variants of ``demo``: v1's steps with other windows (what many replays would leave)."""
    base = load_variant(store, "demo", 1)
    state = WorkflowState("demo", order=[s.step for s in base.steps], records={s.step: dict(s.record) for s in base.steps})
    for i in range(count):
        state.params = {**base.params, "window": 100 + i}
        record_variant(store, state, parent=1)


def demo_cell(step: str, rewritten: bool = False) -> str:
    """The demo's cell for ``step`` (``rewritten``: smooth with ewm, as in v3)."""
    from . import demo_workflow

    cells = [demo_workflow.REWRITE] if rewritten else [*demo_workflow.CELLS, *demo_workflow.AFTER_REWRITE]
    return next(cell for cell in reversed(cells) if cell.startswith(f"%%step {step}\n"))
