"""``%load_ext wfnb`` imports nothing heavy: numpy, pandas, the store and the cache load with the first step.

A fresh kernel's ``%load_ext`` took 0.6 s when it imported every layer (numpy through the
store's codecs among them). Checked in a fresh Python, where nothing was imported before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Modules that make %load_ext slow, none of which it needs: the step's machinery loads with the first step.
HEAVY = ["numpy", "pandas", "cloudpickle", "asyncio", "importlib.metadata", "wfnb.store.core", "wfnb.store.codecs",
         "wfnb.cache.runner", "wfnb.cache.tracing", "wfnb.history.session"]

SCRIPT = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
shell.run_line_magic("load_ext", "wfnb")
loaded = sorted(set(sys.modules) - before)
shell.run_line_magic("wfnb", "store store")
shell.run_line_magic("wfnb", "workflow light")
assert shell.run_cell("%%step double\\nx = 21 * 2").success
assert shell.run_cell("%%step double\\nx = 21 * 2").success
import wfnb
after_steps = sorted(name for name in ("numpy", "pandas") if name in sys.modules)
print(json.dumps({"loaded": loaded, "x": shell.user_ns["x"], "after_steps": after_steps,
                  "runs": [bool(c) for c in wfnb.runs()["cached"]]}))
"""


def test_load_ext_imports_nothing_heavy_nor_does_a_step_of_plain_values(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WFNB_FSYNC": "0"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert [name for name in HEAVY if name in report["loaded"]] == []
    assert report["x"] == 42
    assert report["after_steps"] == []  # a step of plain values, run and restored, needs no numpy (wfnb.runs() loads pandas after)
    assert report["runs"] == [False, True]  # the session made on first use records the run, then the hit
