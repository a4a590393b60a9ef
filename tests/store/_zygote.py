"""A warm process that forks one notebook run per request, for the crash tests.

Usage: python _zygote.py STORE. For each seed read from stdin, it forks a child
that runs a two-step notebook with ``%%params seed = <seed>`` (the first step
writes an 8 MB array) on STORE, and prints the child's pid. Forking from a
process that has already imported IPython, numpy and wfnb makes a
kill-and-check loop cost milliseconds per round instead of seconds.
"""

from __future__ import annotations

import os
import signal
import sys

import numpy  # noqa: F401 - imported before forking, so children start warm
from IPython.core.interactiveshell import InteractiveShell

import wfnb.frontends.magics
import wfnb.store  # noqa: F401 - likewise, with the magics above

CELLS = [
    "%%params\nseed = {seed}",
    "%%step big\nimport numpy as np\nbig = np.full(1_000_000, float(seed))",
    "%%step small\ntotal = float(big.sum())",
]


def _child(store: str, seed: int) -> None:
    code = 1
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # stdout is the pid channel to the test
    sys.stdout = open(1, "w", closefd=False)
    try:
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "wfnb")
        shell.run_line_magic("wfnb", f"store {store}")
        shell.run_line_magic("wfnb", "workflow notebook")
        code = 0 if all(shell.run_cell(cell.format(seed=seed)).success for cell in CELLS) else 1
    finally:
        os._exit(code)


def main(store: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped at once: a killed pid is gone
    for line in sys.stdin:
        pid = os.fork()
        if pid == 0:
            _child(store, int(line))
        print(pid, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
