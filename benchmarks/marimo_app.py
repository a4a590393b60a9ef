"""marimo's ``with mo.persistent_cache(...)`` block, timed inside a real marimo app.

marimo's block cache works only in marimo's runtime, so the benchmark writes an app
file and runs it as ``python app.py`` (marimo's script mode) twice: the first run
fills the cache, the second hits it. The app has one timed block per cell (marimo
refuses a cache block inside a loop, and a name may be defined by one cell only);
each block is ``y_i = x + 1``, as in the wfnb step it is compared with. A block
that ran prints ``RAN``: the second run must print none, or its times are not hits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_HEAD = '''import marimo

app = marimo.App()


@app.cell
def _():
    import json
    import time

    import marimo as mo

    x = 1
    times = []
    return json, mo, time, times, x
'''

_CELL = '''

@app.cell
def _(mo, time, times, x):
    _t0 = time.perf_counter()
    with mo.persistent_cache(name="trivial{i}", save_path="cache"):
        y{i} = x + 1
        print("RAN")
    times.append(time.perf_counter() - _t0)
    return (y{i},)
'''

_TAIL = '''

@app.cell
def _(json, times, {names}):
    print("WFNB-BENCH", json.dumps(times))
    return


if __name__ == "__main__":
    app.run()
'''


def write_app(directory: Path, cells: int) -> Path:
    """An app with ``cells`` timed cache blocks, in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    names = ", ".join(f"y{i}" for i in range(cells))
    source = _HEAD + "".join(_CELL.format(i=i) for i in range(cells)) + _TAIL.format(names=names)
    app = directory / "app.py"
    app.write_text(source)
    return app


def block_hit_times(directory: Path, cells: int) -> list[float]:
    """Seconds per block hit (the second run of the app), after checking no block ran."""
    app = write_app(directory, cells)
    for attempt in ("fill", "hit"):
        done = subprocess.run([sys.executable, app.name], cwd=directory, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the marimo app failed ({attempt} run):\n{done.stdout}\n{done.stderr}")
    if "RAN" in done.stdout:
        raise RuntimeError(f"marimo's second run executed a cached block, so it measured no hit:\n{done.stdout}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("WFNB-BENCH "))
    return [float(t) for t in json.loads(line.split(" ", 1)[1])]
