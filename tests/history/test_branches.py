"""Choice steps: the branch a step took is part of its variant, shown, grouped by, compared and drawn."""

from __future__ import annotations

import re

from history.conftest import write
from wfnb.frontends.browser.graph import dag_svg
from wfnb.frontends.browser.render import detail_html
from wfnb.frontends.browser.state import BrowserState
from wfnb.frontends.browser.table import now_utc
from wfnb.store import open_store

PARAMS = "%%params\nmethod = 'mean'\nplot = False"
LOAD = "%%step load\nimport pandas as pd\nclose = pd.read_csv('prices.csv')['close']"
STRATEGY = """
%%step strategy
if method == "ewm":
    trend = close.ewm(span=3).mean()
else:
    trend = close.rolling(3, min_periods=1).mean()
if plot:
    trend.plot()
last = float(trend.iloc[-1])
"""


def test_a_variant_says_which_branch_ran_and_variants_group_and_compare_by_it(notebooks, tmp_path):
    write(tmp_path / "prices.csv", "close\n10\n11\n13\n12\n15\n")
    nb = notebooks()
    nb.run("import wfnb")
    nb.run(PARAMS)
    nb.run(LOAD)
    assert nb.run(STRATEGY).status.endswith("variant v1")
    assert nb.value("wfnb.variant('v1').steps['strategy'].branch") == "'line 1: else; line 5: skipped'"
    nb.run("v2 = wfnb.replay('v1', method='ewm')")
    nb.run("v3 = wfnb.replay('v1', plot=True)")

    # the table groups by it
    nb.run("table = wfnb.variants()")
    assert nb.value("' | '.join(table['branch.strategy'])") == (
        "\"line 1: else; line 5: skipped | line 1: if method == 'ewm'; line 5: skipped | line 1: else; line 5: if plot\""
    )
    assert nb.value("table.groupby('branch.strategy').size().tolist()") == "[1, 1, 1]"

    # two variants that differ only in the branch taken: no code changed, the branch and the parameter did
    nb.run("diff = wfnb.variant('v2').diff(wfnb.variant('v1'))")
    assert nb.value("diff.changed_steps") == "[]"
    assert nb.value("' → '.join(diff.branches['strategy'])") == (
        "\"line 1: else; line 5: skipped → line 1: if method == 'ewm'; line 5: skipped\""
    )
    text = nb.value("str(diff)")
    assert "parameter method: 'mean' → 'ewm'" in text and "branch of step strategy: line 1: else" in text

    # a hit brings the branch back with the result, in a new kernel too
    nb.restart()
    nb.run(PARAMS)
    nb.run(LOAD)
    assert nb.run(STRATEGY).status.startswith("step strategy · cached")

    # the browser draws the branch taken among the paths
    state = BrowserState(open_store(tmp_path / ".wfnb", create=False), "nb")
    state.select("nb/v2")
    node = next(n for n in state.dag().nodes if n.step == "strategy")
    assert [(c.line, c.paths, c.taken) for c in node.choices] == [
        (1, ("if method == 'ewm'", "else"), "if method == 'ewm'"),
        (5, ("if plot", "skipped"), "skipped"),
    ]
    svg = dag_svg(state.dag())
    taken = re.findall(r'class="wfnb-dag-taken"[^>]*>([^<]*)<', svg)
    assert taken == ["if method == &#x27;ewm&#x27;", "skipped"]
    assert "⑂" not in svg and ">branch: line 1: <tspan" in svg  # words, not a glyph a plain Linux font lacks
    badge = re.search(r'<span class="wfnb-badge wfnb-badge-branch"[^>]*>(.*?)</span>', detail_html(state.detail(), now_utc())).group(1)
    assert badge.startswith('<svg class="wfnb-icon-svg wfnb-icon-branch"') and "⑂" not in badge
    state.select("nb/v1")
    assert state.detail().steps[1].branch == "line 1: else; line 5: skipped"


def test_marking_keeps_line_numbers_and_a_skipped_step_says_so(notebooks):
    nb = notebooks()
    nb.run("%%params\nmake_plot = False\ndivisor = 0")
    skipped = nb.run("%%step figure\nif make_plot:\n    import matplotlib.pyplot as plt\n    plt.plot([1, 2])\ndone = True")
    assert skipped.ran
    nb.run("import wfnb")
    assert nb.value("wfnb.variant('v1').steps['figure'].branch") == "'skipped'"
    failing = nb.run("%%step ratio\nif divisor == 0:\n    x = 1\n    y = x / divisor\nelse:\n    y = 1 / divisor", check=False)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", failing.traceback)
    assert not failing.ok and "----> 3     y = x / divisor" in plain and "__wfnb_branch__" not in plain
