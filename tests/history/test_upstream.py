"""Results of another workflow: a step that reads ``wfnb.variant("prepare").outputs[...]`` depends on that variant."""

from __future__ import annotations

import subprocess
import sys

from history.conftest import write
from wfnb.frontends.browser.graph import dag_svg
from wfnb.frontends.browser.state import BrowserState
from wfnb.store import open_store

CLEAN = "%%step clean\nimport pandas as pd\nclean = pd.read_csv('raw.csv')['x'].dropna()"
LATEST = "%%step latest\nimport wfnb\nlatest_total = float(wfnb.variant('prepare').outputs['clean'].sum())"
PINNED = "%%step pinned\nimport wfnb\npinned_total = float(wfnb.variant('prepare/v1').outputs['clean'].sum())"


def test_a_new_upstream_variant_reruns_latest_and_a_pinned_one_stays_cached(notebooks, tmp_path):
    write(tmp_path / "raw.csv", "x\n1\n2\n\n4\n")
    prepare = notebooks("prepare.ipynb")
    assert prepare.run(CLEAN).status.endswith("variant v1")
    analysis = notebooks("analysis.ipynb")
    assert analysis.run(LATEST).ran and analysis.value("latest_total") == "7.0"
    assert analysis.run(PINNED).ran and analysis.value("pinned_total") == "7.0"
    assert analysis.run(LATEST).cached and analysis.run(PINNED).cached

    # upstream makes v2: "latest" runs again and says why; the pinned v1 stays cached
    write(tmp_path / "raw.csv", "x\n1\n2\n\n4\n10\n")
    assert prepare.run(CLEAN).status.endswith("new variant v2")
    rerun = analysis.run(LATEST)
    assert rerun.ran and "(prepare is now prepare/v2)" in rerun.status, rerun.status
    assert analysis.value("latest_total") == "17.0"
    assert analysis.run(PINNED).cached and analysis.value("pinned_total") == "7.0"
    why = analysis.run("%wfnb why latest").stdout
    assert "prepare (its current variant) was prepare/v1, now prepare/v2" in why

    # in a new kernel too: the identity is checked on every hit
    analysis.restart()
    assert analysis.run(LATEST).cached and analysis.run(PINNED).cached
    # going back upstream (prepare's current variant is v1 again): the result made from v1 is found again
    prepare.run("%wfnb checkout v1")
    assert analysis.run(LATEST).cached and analysis.value("latest_total") == "7.0"
    assert "an earlier result of the same key" in analysis.run("%wfnb why latest").stdout

    # the browser shows the link in both workflows
    store = open_store(tmp_path / ".wfnb", create=False)
    downstream = BrowserState(store, "analysis")
    downstream.select("analysis/v2")  # latest read prepare/v2, pinned read prepare/v1
    dag = downstream.dag()
    assert [(n.step, n.external) for n in dag.nodes if n.external] == [("prepare/v2", "upstream"), ("prepare/v1", "upstream")]
    assert ("prepare/v2", "latest", ("clean",)) in dag.edges and ("prepare/v1", "pinned", ("clean",)) in dag.edges
    assert 'class="wfnb-dag-upstream"' in dag_svg(dag)
    upstream = BrowserState(store, "prepare")
    upstream.select("prepare/v1")
    readers = [n.step for n in upstream.dag().nodes if n.external == "downstream"]
    assert "analysis/v1 · latest" in readers and "analysis/v1 · pinned" in readers
    assert ("clean", "analysis/v1 · latest", ("clean",)) in upstream.dag().edges


def test_a_variant_that_no_longer_resolves_makes_the_step_run(notebooks, tmp_path):
    write(tmp_path / "raw.csv", "x\n1\n2\n")
    prepare = notebooks("prepare.ipynb")
    prepare.run(CLEAN)
    prepare.run("%wfnb tag best")
    analysis = notebooks("analysis.ipynb")
    step = "%%step best\nimport wfnb\nbest = wfnb.variant('prepare/best').outputs['clean'].tolist()"
    assert analysis.run(step).ran and analysis.run(step).cached
    (tmp_path / ".wfnb" / "refs" / "workflows" / "prepare" / "tags" / "best.json").unlink()
    again = analysis.run(step, check=False)
    assert not again.ok and not again.cached  # it ran (and its own call now fails): never the stored result
    assert "No variant 'best' in workflow 'prepare'" in again.error
    why = analysis.run("%wfnb why best").stdout
    assert "the variant prepare/best it read cannot be found now" in why


def test_the_variant_probe_kind_is_added_by_a_call_when_the_runners_load_not_by_importing_upstream():
    """Importing ``upstream`` registers nothing; ``register()`` does, and the modules that run steps call it."""
    check = (
        "import importlib, sys\n"
        "from wfnb.cache import probes\n"
        "from wfnb.history import upstream\n"
        "assert 'variant' not in probes._OBSERVERS, 'importing upstream registered its probe kind'\n"
        "upstream.register()\n"
        "assert 'variant' in probes._OBSERVERS and 'variant' in probes._DESCRIBERS\n"
        "for runner in ('wfnb.history.session', 'wfnb.history.replay'):\n"
        "    probes._OBSERVERS.pop('variant'), probes._DESCRIBERS.pop('variant')\n"
        "    sys.modules.pop(runner, None)\n"
        "    importlib.import_module(runner)\n"
        "    assert 'variant' in probes._OBSERVERS, runner\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
