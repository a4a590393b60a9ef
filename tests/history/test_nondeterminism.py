"""``wfnb.replay(ref, check=True)``: each step runs again without the cache; a step whose outputs differ is marked."""

from __future__ import annotations

import json

from wfnb.frontends.browser.state import BrowserState
from wfnb.frontends.cli import main
from wfnb.store import open_store

CELLS = [
    "import wfnb, numpy as np, pandas as pd\nimport matplotlib.pyplot as plt",
    "%%step base\nbase = np.arange(20.0)",
    "%%step noisy\njitter = np.random.default_rng().normal(size=20) * 1e-3\nframe = pd.DataFrame({'a': base, 'b': base + jitter})",
    "%%step steady\ntotal = float(base.sum())\nprint('total', total)",
    # fixed limits: the image keeps its size (other tick labels would change it), so its pixels are compared
    "%%step figure\nplt.plot(np.random.default_rng().normal(size=50))\nplt.ylim(-6, 6)\nplt.show()",
]


def test_a_check_reports_each_step_and_marks_the_ones_that_differ(notebooks, tmp_path, capsys):
    nb = notebooks()
    for cell in CELLS:
        nb.run(cell)
    result = nb.run("report = wfnb.replay('v1', check=True)")
    assert "check v1 · step base: same" in result.stdout and "check v1 · step noisy: DIFFERS" in result.stdout
    assert nb.value("report.nondeterministic") == "['noisy', 'figure']"
    report = json.loads(nb.value("__import__('json').dumps(report.to_json())").strip("'"))
    noisy = next(s for s in report["steps"] if s["step"] == "noisy")
    outputs = {o["name"]: o for o in noisy["outputs"]}
    assert outputs["frame"]["columns"] == ["b"] and outputs["frame"]["max_abs"] > 0 and outputs["frame"]["max_rel"] > 0
    assert "values differ in columns b (max abs diff" in " ".join(outputs["frame"]["lines"])
    assert "20 of 20 elements differ (max abs diff" in outputs["jitter"]["lines"][0]
    figure = next(s for s in report["steps"] if s["step"] == "figure")
    assert figure["verdict"] == "differs" and "pixels differ" in figure["figures"][0]
    assert next(s for s in report["steps"] if s["step"] == "steady")["verdict"] == "same"

    # the variant keeps the mark, and a hit of the marked result says so (also after a restart)
    assert nb.value("sorted(wfnb.variant('v1').nondeterministic)") == "['figure', 'noisy']"
    nb.restart()
    nb.run(CELLS[0])
    assert nb.run(CELLS[1]).cached and "nondeterministic" not in nb.run(CELLS[1]).status
    hit = nb.run(CELLS[2])
    assert hit.cached and "nondeterministic: a fresh run gave other frame, jitter" in hit.status

    # the terminal: exit 1 when a step differs, the report as JSON for scripts
    capsys.readouterr()
    assert main(["--store", str(tmp_path / ".wfnb"), "replay", "nb/v1", "--check", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["nondeterministic"] == ["noisy", "figure"]


def test_the_browser_checks_in_a_worker_and_shows_the_mark(notebooks, tmp_path):
    nb = notebooks()
    for cell in CELLS[:3]:
        nb.run(cell)
    nb.run(
        "from wfnb.frontends.browser.state import BrowserState\nfrom wfnb.history.session import current_session\n"
        "state = BrowserState(current_session().store, 'nb', current_session())\nstate.select('nb/v1')\n"
        "job = state.check(wait=True)"
    )
    assert nb.value("job.state") == "'done'", nb.value("job.stderr")
    notice = json.loads(nb.value("__import__('json').dumps(state.notice('run'))").strip("'"))
    assert notice["kind"] == "error" and "1 of 2 steps differ on a fresh run (noisy)" in notice["text"]
    assert nb.value("[(p['step'], p['state']) for p in state.progress]") == "[('base', 'ran'), ('noisy', 'failed')]"
    state = BrowserState(open_store(tmp_path / ".wfnb", create=False), "nb")
    steps = {s.step: s for s in state.detail().steps}
    assert steps["noisy"].nondeterministic.startswith("frame: frame 20×2") and not steps["base"].nondeterministic
    assert "nondeterministic" in nb.run(CELLS[2]).status  # the notebook's own kernel reads the mark at once


def test_a_check_takes_no_overrides(notebooks):
    nb = notebooks()
    nb.run("%%params\nn = 3")
    nb.run("%%step count\nimport wfnb\nitems = list(range(n))")
    failed = nb.run("wfnb.replay('v1', check=True, n=4)", check=False)
    assert not failed.ok and "takes no parameters (got n)" in failed.error
