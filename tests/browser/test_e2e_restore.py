"""In a real JupyterLab in Chromium: the metrics are on screen at 1400 px with the file panel open, and
Restore writes the selected variant's cells as a new notebook beside this one, opened by one click.

JupyterLab serves ``restore.ipynb`` (wfnb loaded, workflow ``demo``) over a copy of the demo store; the
server, Chromium and the skip-or-fail rule are the other end-to-end tests'.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .servers import CHROMIUM, CHROMIUM_ARGS, JUPYTER_LAB, lab_notebook
from .test_e2e_browser import ARTIFACTS, need, sync_api
from .test_e2e_jupyterlab import run_cell


@pytest.fixture(scope="module")
def lab(demo_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """(notebook URL, notebooks folder) of a JupyterLab serving ``restore.ipynb``; stopped at the end."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    need(sync_api is not None and JUPYTER_LAB.exists(), "jupyterlab or playwright is missing: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("restore-lab")
    shutil.copytree(demo_template, root / "store")
    cells = [
        '%load_ext wfnb\n%wfnb workflow demo\nimport wfnb\nwfnb.browse("demo")',
        'try:\n    wfnb.replay("v1", window=-1)\nexcept Exception as error:\n    print(type(error).__name__)',
    ]
    with lab_notebook(root, "restore.ipynb", cells, root / "store") as served:
        yield served


def test_metrics_on_screen_and_restore_writes_the_variants_cells_opened_in_jupyterlab(lab, tmp_path: Path) -> None:
    url, notebooks = lab
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env={**os.environ, **home})
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(url, timeout=60_000)
            cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
            expect(cells.first).to_be_visible(timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)
            expect(page.locator("#jp-left-stack")).to_be_visible()  # the file panel is open

            run_cell(page, cells.nth(0))
            view = page.locator(".jp-OutputArea-output .wfnb-browser").first
            table = view.locator("table.wfnb-table")
            expect(table.locator('tr[data-ref="demo/v1"]')).to_be_visible(timeout=30_000)
            right = page.evaluate("window.innerWidth")
            for name in ("score", "last"):  # every metric's header and value on screen, no sideways scrolling
                header = table.locator("th.wfnb-col-metric", has_text=name)
                box = header.bounding_box()
                assert box is not None and box["x"] + box["width"] <= right, f"metric {name} is off-screen at 1400 px"
            expect(table.locator('tr[data-ref="demo/v1"] td.wfnb-col-metric').first).to_have_text("30.5")

            page.screenshot(path=str(ARTIFACTS / "jupyterlab-1400-metrics.png"))

            run_cell(page, cells.nth(1))  # a replay that fails in a cell: the open browser lists it, dimmed
            failed = table.locator("tr.wfnb-failed-row")
            expect(failed).to_have_count(1, timeout=60_000)
            expect(failed).to_contain_text("step smooth: ValueError")
            expect(view.locator(".wfnb-heading")).to_contain_text("3 variants · 1 failed")
            assert float(failed.locator("td").nth(2).evaluate("td => getComputedStyle(td).opacity")) < 1  # dimmed

            view.get_by_role("button", name="Group").click()  # one row per setting: window 3 (v1, v3), window 5 (v2)
            grouped = view.locator("table.wfnb-grouped")
            expect(grouped.locator("tr.wfnb-group-row")).to_have_count(2, timeout=30_000)
            expect(grouped.locator("tr.wfnb-group-row", has_text="2 variants")).to_contain_text("30.5 ± 0.0")
            expect(view.locator(".wfnb-group-note")).to_contain_text("2 groups by column, window")
            expect(view.get_by_role("checkbox", name="window")).to_be_checked()  # the grouping, to change
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-grouped.png"))
            grouped.locator("tr.wfnb-group-row", has_text="2 variants").click()  # back to its members
            expect(table.locator("tr.wfnb-row")).to_have_count(2, timeout=30_000)
            expect(view.locator(".wfnb-search input")).to_have_value("window == 3")
            view.locator(".wfnb-search input").fill("")
            expect(table.locator("tr.wfnb-row")).to_have_count(4, timeout=30_000)

            for ref in ("demo/v1", "demo/v2"):  # Compare: a figure opens full size over the page, and closes
                table.locator(f'tr[data-ref="{ref}"] td.wfnb-tick').click()
            view.get_by_role("button", name="Compare ticked").click()
            figure = view.locator(".wfnb-figure-grid .wfnb-zoomable").first
            expect(figure).to_be_visible(timeout=30_000)
            small = figure.locator("img").bounding_box()
            figure.click()
            shown = page.locator("body > .wfnb-lightbox")
            expect(shown).to_have_count(1)
            cover, large = shown.bounding_box(), shown.locator("img").bounding_box()
            assert cover["width"] >= 1398 and cover["height"] >= 998, cover  # the whole window, not the notebook panel
            assert large["width"] > small["width"] * 1.5, (small, large)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-figure-full-size.png"))
            shown.click()
            expect(shown).to_have_count(0)
            view.get_by_role("button", name="Clear ticks").click()
            table.locator('tr[data-ref="demo/v2"]').click()
            view.get_by_role("tab", name="Actions").click()
            view.get_by_role("button", name="Restore into notebook").click()
            notice = view.locator('.wfnb-msg[data-action="restore"]')
            expect(notice).to_contain_text("Restored demo/v2 into the notebook", timeout=30_000)
            expect(notice).to_contain_text("The saved restore.ipynb shows other cells than v2: no cell for steps load, smooth, plot")
            view.get_by_role("button", name="Write its cells").click()
            expect(notice).to_contain_text("Wrote the cells of demo/v2 to restore-v2.ipynb, beside restore.ipynb", timeout=30_000)
            assert (notebooks / "restore-v2.ipynb").exists()
            link = notice.locator("a.wfnb-open-link")
            expect(link).to_have_text("open restore-v2.ipynb")
            with context.expect_page(timeout=30_000) as opened:
                link.click()
            written = opened.value
            written.wait_for_load_state()
            assert "/lab/tree/restore-v2.ipynb" in written.url
            tab = written.locator(".lm-TabBar-tab.jp-mod-current", has_text="restore-v2.ipynb")
            expect(tab).to_be_visible(timeout=60_000)
            editors = written.locator(".jp-NotebookPanel:visible .jp-CodeCell .jp-InputArea-editor")
            expect(editors.filter(has_text="%%step smooth")).to_contain_text("rolling(window)", timeout=30_000)  # v2's code
            expect(editors.filter(has_text="%%params")).to_contain_text("window = 5")
            written.screenshot(path=str(ARTIFACTS / "jupyterlab-restored-cells.png"))
        finally:
            browser.close()
