"""wfnb loaded first thing in a fresh Python, before anything else has read the interpreter's settings.

A kernel or a test session has always read ``sysconfig``'s settings before wfnb's import
hook exists; a plain script has not (the crash tests' forked notebooks, a terminal IPython
started with ``-c``): there, on Python 3.13, the first step once failed inside ``%load_ext``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCRIPT = """
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "wfnb")
shell.run_line_magic("wfnb", "store store")
assert shell.run_cell("%%step double\\nx = 21 * 2").success
print("x =", shell.user_ns["x"])
"""


def test_load_ext_and_a_step_in_a_fresh_python(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WFNB_FSYNC": "0"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "x = 42" in done.stdout
