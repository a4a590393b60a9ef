"""A small workflow with every kind of output, recorded as a few variants: the browser tests' data.

Run as a script (``python demo_workflow.py``) it records them in ``$WFNB_STORE``
from a fresh IPython shell; the tests also call ``record_demo(shell)`` in-process.

v1: window=3 (tagged ``baseline``) · v2: a replay of v1 with window=5 ·
v3: the smooth step rewritten (ewm), window=3. Metric ``score`` is
``window * 10 + 0.5``, so a replay with window=7 gives 70.5.
"""

from __future__ import annotations

CELLS = [
    "%wfnb workflow demo",
    "%%params\nwindow = 3\ncolumn = 'close'",
    "%%step load\nimport numpy as np\nimport pandas as pd\nrng = np.random.default_rng(0)\n"
    "prices = pd.DataFrame({'day': range(60), 'close': 100 + rng.standard_normal(60).cumsum()})\nprices.tail(3)",
    "%%step smooth\nimport wfnb\nsmooth = prices[column].rolling(window).mean()\n"
    "print(f'window {window}: {smooth.notna().sum()} points')\n"
    "wfnb.log(score=window * 10 + 0.5, last=round(float(smooth.iloc[-1]), 3))",
    "%%step plot\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4.5, 2.2))\n"
    "ax.plot(prices['day'], prices[column], lw=0.8, label=column)\nax.plot(prices['day'], smooth, lw=1.5, label='smooth')\n"
    "ax.legend(loc='upper left')\nplt.show()",
]
REPLAY = "import wfnb\nwfnb.replay('v1', window=5)"
REWRITE = (
    "%%step smooth\nimport wfnb\n# exponential weights react faster than a rolling mean\n"
    "smooth = prices[column].ewm(span=window).mean()\n"
    "print(f'window {window}: {smooth.notna().sum()} points')\n"
    "wfnb.log(score=window * 10 + 0.5, last=round(float(smooth.iloc[-1]), 3))"
)
AFTER_REWRITE = ["%%step plot\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4.5, 2.2))\n"
                 "ax.plot(prices['day'], prices[column], lw=0.8, label=column)\nax.plot(prices['day'], smooth, lw=1.5, label='smooth')\n"
                 "ax.legend(loc='upper left')\nplt.show()"]
TAG = "wfnb.tag('v1', 'baseline', note='first try: a 3-day rolling mean')"


def record_demo(shell) -> None:
    """Run the demo in ``shell`` (wfnb loaded): three variants of workflow ``demo``; fails loudly."""
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` in a plain shell: no GUI event loop needed
    shell.enable_matplotlib("inline")
    for cell in [*CELLS, REPLAY, REWRITE, *AFTER_REWRITE, TAG]:
        result = shell.run_cell(cell)
        if not result.success:
            raise RuntimeError(f"demo cell failed: {cell.splitlines()[0]}: {result.error_in_exec or result.error_before_exec}")


if __name__ == "__main__":
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "wfnb")
    record_demo(shell)
