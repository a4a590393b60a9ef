"""A notebook worked on in a real JupyterLab: what JupyterLab and the notebook put beside it re-runs no step.

JupyterLab (as in ``test_e2e_jupyterlab``: 127.0.0.1, a random token, its files
in the test's temporary directory) serves a notebook whose steps fit a
scikit-learn model and score it, and whose plain cells make a figure folder and
write a CSV beside it. Headless Chromium runs it, saves it (JupyterLab writes the
notebook and its checkpoint in ``.ipynb_checkpoints/``), an exported copy appears
beside it, and the kernel is restarted and every cell run again: each step is a
hit, and the fit's body (which counts its runs in a file) did not run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from .servers import CHROMIUM, CHROMIUM_ARGS, JUPYTER_LAB, isolated_env, jupyterlab
from .test_e2e_browser import need, sync_api

CELLS = [
    "%load_ext wfnb",
    "%%step fit\nfrom sklearn.linear_model import LogisticRegression\nimport numpy as np\n"
    "import os, time\nos.makedirs(f'runs/fit-{os.getpid()}-{time.perf_counter_ns()}')  # a folder made is not traced\n"
    "X = np.arange(40.0).reshape(20, 2)\ny = np.array([0, 1] * 10)\nmodel = LogisticRegression().fit(X, y)",
    "%%step score\npredictions = model.predict(X)\naccuracy = float((predictions == y).mean())\nprint('accuracy', accuracy)",
    "import os\nos.makedirs('figs', exist_ok=True)\nnp.savetxt('predictions.csv', predictions)",
]


@pytest.fixture
def served(tmp_path: Path):
    """JupyterLab serving ``fit.ipynb`` (its folder, the URL of the notebook); stopped at the end."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    need(sync_api is not None and JUPYTER_LAB.exists(), "jupyterlab or playwright is missing: pip install -e '.[test]'")
    env = isolated_env(tmp_path / "home", WFNB_STORE=str(tmp_path / "store"))
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, notebooks / "fit.ipynb")
    with jupyterlab(tmp_path, notebooks, env) as url:
        yield notebooks, url.format(name="fit.ipynb")


def test_files_jupyterlab_and_the_notebook_put_beside_it_rerun_no_step(served, tmp_path: Path) -> None:
    folder, url = served
    expect = sync_api.expect
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env={**os.environ, **home})
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url, timeout=60_000)
            cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
            expect(cells.first).to_be_visible(timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)

            _menu(page, "Run", re.compile(r"^Run All Cells$"))
            outputs = page.locator(".jp-NotebookPanel .jp-OutputArea-output")
            expect(outputs.filter(has_text="step score ·")).to_contain_text("ran", timeout=120_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)
            assert (folder / "predictions.csv").exists() and (folder / "figs").is_dir()

            page.keyboard.press("Control+s")  # JupyterLab saves the notebook and makes its checkpoint
            _wait_for(lambda: any((folder / ".ipynb_checkpoints").glob("fit-checkpoint.ipynb")))
            (folder / "fit-exported.ipynb").write_text((folder / "fit.ipynb").read_text())
            (folder / "figs" / "accuracy.png").write_bytes(b"\x89PNG\r\n")

            _menu(page, "Kernel", re.compile(r"^Restart Kernel and Clear Outputs of All Cells"))
            page.locator(".jp-Dialog .jp-mod-accept").click()
            expect(outputs).to_have_count(0, timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)
            _menu(page, "Run", re.compile(r"^Run All Cells$"))
            expect(outputs.filter(has_text="step score ·")).to_contain_text("cached", timeout=120_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)
            statuses = [text for text in outputs.all_inner_texts() if text.startswith("step ")]
            assert [s.split(" · ")[:2] for s in statuses] == [["step fit", "cached"], ["step score", "cached"]], statuses
            assert len(list((folder / "runs").iterdir())) == 1  # the fit's body ran once

            page.keyboard.press("Control+s")
            _wait_for(lambda: "step fit · cached" in (folder / "fit.ipynb").read_text())
            saved = nbformat.read(folder / "fit.ipynb", as_version=4)
            lines = [o["data"]["text/plain"] for c in saved.cells for o in c.get("outputs", []) if o.get("metadata", {}).get("wfnb") == "status"]
            assert len(lines) == 2 and all(" · cached · " in line for line in lines), lines
        finally:
            browser.close()


def _menu(page, menu: str, item: re.Pattern) -> None:
    page.get_by_role("menuitem", name=menu, exact=True).click()
    page.get_by_role("menuitem", name=item).first.click()


def _wait_for(condition, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "JupyterLab did not write the file in time"
        time.sleep(0.2)
