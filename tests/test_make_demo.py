"""`make demo` (notebooks/run_demo.py) runs on a scratch store: the variants in notebooks/.wfnb stay."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from kernels import run_retrying_port_races  # tests/kernels.py

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_keeps_the_users_store(tmp_path):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns(".wfnb", "*.run*.ipynb"))
    mine = notebooks / ".wfnb" / "my-variants.txt"  # stands for the variants a user made with the demo notebooks
    mine.parent.mkdir()
    mine.write_text("keep me")
    done = run_retrying_port_races([sys.executable, str(notebooks / "run_demo.py")], cwd=tmp_path)  # its kernels use TCP
    assert done.returncode == 0, done.stdout + done.stderr
    assert "second run executed 0 step(s)" in done.stdout and "a scratch store, removed now" in done.stdout
    assert mine.read_text() == "keep me" and sorted(p.name for p in mine.parent.iterdir()) == ["my-variants.txt"]
