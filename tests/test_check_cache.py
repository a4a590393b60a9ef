"""The cache check (``wfnb check-cache``): real kernels run each notebook with and without the cache.

Each check starts a dozen kernels; the edits a test does not need are left out to keep it short.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from IPython.utils.capture import capture_output

from wfnb.frontends.check import check_cache
from wfnb.frontends.check.prepare import read_checked
from wfnb.frontends.check.unsteady import downstream
from wfnb.frontends.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "benchmarks" / "corpus"


def notebook(folder: Path, *cells: str, name: str = "nb.ipynb", **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(book, str(folder / name))
    for file_name, text in files.items():
        (folder / file_name.replace("_dot_", ".")).write_text(text)
    return folder / name


def kernels_left() -> list[str]:
    """Kernels this process started that are still running (each check must shut its own down)."""
    import psutil

    children = psutil.Process().children(recursive=True)
    return [" ".join(p.cmdline()) for p in children if p.is_running() and "ipykernel" in " ".join(p.cmdline())]


def test_a_notebook_the_cache_gets_right_checks_clean_with_every_edit_and_exits_0(tmp_path, capsys):
    path = notebook(
        tmp_path / "prices",
        "%load_ext wfnb\nimport pandas as pd",
        "%%step load\nprices = pd.read_csv('prices.csv')\nscale = 2",
        "%%step total\nimport helper\ntotal = prices['close'].sum() * scale * helper.K\nprint('total', total)",
        "%%step bump\nitems = [1, 2]\nitems.append(3)\nn = len(items)",
        prices_dot_csv="day,close\n1,10.5\n2,11.0\n3,12.25\n",
        helper_dot_py="K = 3\n",
    )
    before = sorted(p.name for p in path.parent.iterdir())

    code = main(["check-cache", str(path), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"], report
    assert report["divergences"] == [] and report["needless_reruns"] == [] and report["hits"] == 3
    applied = {edit["kind"]: edit for edit in report["edits"] if edit["applied"]}
    assert set(applied) == {"cell literal", "module literal", "data file", "new file", "cell twice"}
    assert applied["cell literal"]["reran"] == ["load", "total"] and applied["module literal"]["reran"] == ["total"]
    assert applied["new file"]["reran"] == []
    assert sorted(p.name for p in path.parent.iterdir()) == before  # the user's folder is untouched: no store, no edit
    assert kernels_left() == []


def test_a_value_read_through_builtins_is_a_stale_result_the_literal_edit_exposes(tmp_path):
    # docs/hashing.md, "cannot see": names put in builtins are no step's input (nor replayed on a hit)
    path = notebook(
        tmp_path,
        "%load_ext wfnb",
        "%%step setk\nimport builtins\nbuiltins.k = 5",
        "%%step use\nv = k * 2\nprint('v is', v)",
    )

    report = check_cache(path, edits=["cell literal"])

    assert report.exit_code == 1 and report.needless_reruns == []
    assert report.edits[0].applied and report.edits[0].reran == ("setk",)  # `use` was restored: stale
    stale = [(d.run, d.cell, d.step, d.what, d.cached, d.plain) for d in report.divergences]
    assert ("after edit cell literal", 2, "use", "stdout", "v is 10", "v is 12") in stale
    assert any(d.what == "value v" and d.step == "use" for d in report.divergences)
    assert "divergence" in str(report) and "cached 'v is 10' ≠ plain 'v is 12'" in str(report)


def test_a_step_listing_the_folder_re_runs_needlessly_when_a_file_is_added(tmp_path):
    path = notebook(
        tmp_path,
        "%load_ext wfnb\nimport os",
        "%%step listing\ncsvs = sorted(f for f in os.listdir('.') if f.endswith('.csv'))\nprint(csvs)",
        a_dot_csv="x\n1\n",
    )

    report = check_cache(path, edits=["new file"])

    assert report.divergences == [] and report.exit_code == 1
    [rerun] = report.needless_reruns
    assert rerun.run == "after edit new file" and rerun.step == "listing" and "(folder . changed: new wfnb-check-new-file.txt)" in rerun.reason
    assert rerun.why.startswith("step listing · ran") and "folder" in rerun.why


def test_a_notebook_without_steps_is_checked_with_a_step_per_code_cell(tmp_path):
    path = notebook(
        tmp_path,
        "%matplotlib inline\nimport numpy as np",
        "x = np.arange(5)\nprint(x.sum())",
        "y = x * 2\ny",
    )

    report = check_cache(path, edits=[])

    assert report.made_steps and report.steps == ["cell1", "cell2"]  # the %matplotlib cell stays plain
    assert report.ok and report.hits == 2 and report.exit_code == 0


def test_cells_using_wfnb_itself_are_not_compared_and_wfnb_log_runs_without_wfnb(tmp_path):
    path = notebook(
        tmp_path,
        "%load_ext wfnb\n%wfnb workflow w\nimport wfnb",
        "%%step a\nx = 1\nprint(x)\nwfnb.log(x=x)",
        "table = wfnb.variants()\ntable[['variant']]",
    )

    report = check_cache(path, edits=["cell literal"])

    assert report.ok and report.divergences == [] and report.edits[0].reran == ("a",), str(report)


def test_a_warning_names_its_cell_file_alike_in_every_kernel(tmp_path):
    # ipykernel names a cell's file after the process (/tmp/ipykernel_8584/612182823.py): not a difference
    path = notebook(tmp_path, "%load_ext wfnb", "%%step warn\nimport warnings\nwarnings.warn('careful')\nx = 1")

    report = check_cache(path, edits=[])

    assert report.ok and report.nondeterministic == [] and report.divergences == []


def test_a_syntax_error_names_its_cell_file_alike_in_every_kernel(tmp_path):
    path = notebook(tmp_path, "x = [1, 2]", "x[(:, 1)]")  # "invalid syntax (3311942670.py, line 1)": a lesson's error

    report = check_cache(path, edits=[])

    assert report.failing_cells is not None and report.ok and report.divergences == [] and report.nondeterministic == []


def test_random_output_is_marked_nondeterministic_not_a_divergence(tmp_path):
    path = notebook(tmp_path, "%load_ext wfnb", "%%step draw\nimport random\nr = random.random()\nprint(r)")

    report = check_cache(path, edits=[])

    assert report.divergences == [] and report.ok
    assert {d.what for d in report.nondeterministic} >= {"stdout", "value r"}
    assert "nondeterministic" in str(report)


def test_a_value_holding_memory_nobody_wrote_is_marked_nondeterministic_not_a_divergence(tmp_path):
    # statsmodels' GLM keeps an np.empty_like scratch array: two fresh kernels found the same left-over
    # bytes in it, the cached run (other allocations) other ones, and the check called that a divergence
    path = notebook(tmp_path, "import numpy as np", "a = np.full(5000, 7.0)\ndel a\nscratch = np.empty(5000)")

    report = check_cache(path, edits=[])

    assert report.divergences == [] and report.ok, str(report)
    assert "value scratch" in {d.what for d in report.nondeterministic}, str(report)


def test_a_literal_edit_that_breaks_the_notebook_gives_way_to_the_next_literal(tmp_path):
    path = notebook(tmp_path, "%load_ext wfnb", "%%step make\nyear = 2010\nscale = 3",
                    "%%step look\nvalue = {2010: 'a'}[year] * scale\nprint(value)")

    report = check_cache(path, edits=["cell literal"])

    literal = report.edits[0]
    assert literal.applied and literal.detail == "cell 1 (step make): line 2: 3 → 4" and literal.reran == ("make", "look")
    assert report.ok, str(report)


def test_a_value_computed_from_a_random_draw_may_differ_though_two_plain_runs_agreed_on_it(tmp_path):
    # a mixture fitted from a random start: probs permuted, probs.max(1) the same twice by chance
    path = notebook(tmp_path, "import numpy as np", "probs = np.random.rand(3)", "size = probs.max() ** 2\nprint(size > 2)",
                    "steady = 3", "%timeit steady + 1", "twice = steady * 2")
    model, _ = read_checked(path)

    cells, names = downstream(model.cells, {1, 4}, {"probs"})

    assert cells == {1, 2, 4} and names == {"probs", "size"}  # a timing passes nothing on


def test_a_cell_that_fails_without_wfnb_too_is_no_divergence_and_the_check_goes_on_past_it(tmp_path):
    path = notebook(tmp_path, "%load_ext wfnb", "%%step load\nx = 1", "%%step broken\nys = []\nys.append(1 / 0)",
                    "%%step after\nz = x + 1\nprint(z)")

    report = check_cache(path, edits=["cell literal", "cell twice"])

    assert report.failing_cells.startswith("cell 2 raises without wfnb too: every run went on past it")
    assert report.plain_failure is None and report.divergences == [] and report.needless_reruns == []
    literal, twice = report.edits
    assert report.hits == 2 and literal.applied and literal.reran == ("load", "after")  # broken fails again: "failed", not "ran"
    assert report.failing_steps == 1 and "2 of 3 steps restored in the run with nothing changed (and 1 that fails without wfnb too)" in str(report)
    assert twice.detail == "cell 1 (step load) run twice in a row"  # not the failing cell, though it changes a list in place
    assert report.exit_code == 0


def test_a_cell_over_the_timeout_counts_as_failed(tmp_path):
    path = notebook(tmp_path, "import time\ntime.sleep(60)")

    report = check_cache(path, timeout=3)

    assert report.plain_failure == "the notebook fails without wfnb too: cell 0 timed out after 3 s"
    assert kernels_left() == []


def test_a_bad_path_is_one_paragraph_and_exit_2(tmp_path, capsys):
    assert main(["check-cache", str(tmp_path / "missing.ipynb")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("wfnb check-cache: cannot check ") and "there is no such file" in error
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error
    (tmp_path / "notes.txt").write_text("x")
    assert main(["check-cache", str(tmp_path / "notes.txt")]) == 2
    assert "not a notebook file" in capsys.readouterr().err
    assert main(["check-cache", str(tmp_path / "notes.txt"), "--timeout", "0"]) == 2


def test_the_magic_prints_the_report(ip, tmp_path):
    path = notebook(tmp_path / "other", "import time\ntime.sleep(60)")

    with capture_output() as io:
        result = ip.run_cell(f"%wfnb check-cache {path} --timeout 3")

    assert result.success
    assert "plain run 1" in io.stdout and "not checked: the notebook fails without wfnb too: cell 0 timed out after 3 s" in io.stdout


@pytest.mark.skipif(not (CORPUS / "handbook-02.02-numpy-arrays").is_dir(), reason="the corpus is not in this clone")
def test_a_corpus_notebook_checks_clean(tmp_path):
    report = check_cache(CORPUS / "handbook-02.02-numpy-arrays" / "02.02-The-Basics-Of-NumPy-Arrays.ipynb", edits=["cell literal"])
    assert report.ok, str(report)
