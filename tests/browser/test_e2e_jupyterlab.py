"""The browser inside a real JupyterLab, in its light and dark themes.

JupyterLab (on 127.0.0.1, a free port, a random token; its settings,
workspaces, config and runtime files in the test's temporary directory) serves
a notebook calling ``wfnb.browse('demo')`` over a copy of the demo store.
Headless Chromium opens it at laptop width with the file panel open, waits for
the kernel to be ``Idle`` in the status bar, runs the cell, checks no header
is cut short, selects a variant (its detail folded, with its metric), runs a
``wfnb.replay()`` cell and sees the open table list it, scrolls the table
sideways in a narrower window, opens a second browser and checks the two step
graphs keep their own arrowheads, then switches to JupyterLab Dark. Screenshots of both themes go to
``test-artifacts/jupyterlab-light.png`` and ``test-artifacts/jupyterlab-dark.png``.
The server, the Chromium and the skip-or-fail rule are the Voila test's.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from .servers import CHROMIUM, CHROMIUM_ARGS, JUPYTER_LAB, lab_notebook
from .test_e2e_browser import ARTIFACTS, need, sync_api


@pytest.fixture(scope="module")
def lab_url(demo_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab serving ``browse.ipynb`` over a copy of the demo store, at the notebook's URL; stopped at the end."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    need(sync_api is not None and JUPYTER_LAB.exists(), "jupyterlab or playwright is missing: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("jupyterlab")
    shutil.copytree(demo_template, root / "store")
    cells = [
        'import wfnb\nwfnb.browse("demo")',
        'made = wfnb.replay("v1", window=9)',  # history changing under an open browser
        'wfnb.browse("demo")',  # a second browser on the page
    ]
    with lab_notebook(root, "browse.ipynb", cells, root / "store") as (url, _):
        yield url


def test_the_browser_in_jupyterlab_light_and_dark(lab_url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env={**os.environ, **home})
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})  # a laptop, the file panel open
            page.goto(lab_url, timeout=60_000)
            cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
            expect(cells.first).to_be_visible(timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)
            expect(page.locator("#jp-left-stack")).to_be_visible()

            run_cell(page, cells.nth(0))
            first = page.locator(".jp-OutputArea-output .wfnb-browser").first
            table = first.locator("table.wfnb-table")
            expect(table).to_contain_text("baseline", timeout=30_000)
            for ref in ("demo/v1", "demo/v2", "demo/v3"):
                expect(table.locator(f'tr[data-ref="{ref}"]')).to_be_visible()
            headers_fit = table.evaluate("t => [...t.querySelectorAll('thead th')].every(th => th.scrollWidth <= th.clientWidth + 1)")
            assert headers_fit, "a header is cut short at 1280 px with the file panel open"

            table.locator('tr[data-ref="demo/v1"]').click()
            detail = first.locator(".wfnb-detail")
            expect(detail.locator(".wfnb-title")).to_contain_text("demo / v1")
            metrics = detail.locator("table.wfnb-kv", has=page.locator("caption", has_text="metrics"))
            expect(metrics.locator("tr", has_text="score")).to_contain_text("30.5")  # v1's metric: window=3 → 3 * 10 + 0.5
            assert detail.locator("details.wfnb-step[open]").count() == 0  # folded

            run_cell(page, cells.nth(1))  # wfnb.replay() in a cell: the open browser lists its variant
            expect(table.locator('tr[data-ref="demo/v4"]')).to_contain_text("90.5", timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-light.png"))

            scroller = first.locator(".wfnb-table-scroll")
            page.set_viewport_size({"width": 900, "height": 1000})  # narrower: the table scrolls sideways
            page.wait_for_function("el => el.scrollWidth > el.clientWidth", arg=scroller.element_handle(), timeout=10_000)
            scroller.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
            pinned = table.locator('tr[data-ref="demo/v4"] .wfnb-variant')
            box, frame = pinned.bounding_box(), scroller.bounding_box()
            assert box["x"] >= frame["x"] - 1, "the variant column stays in view while scrolling sideways"
            page.set_viewport_size({"width": 1280, "height": 1000})

            run_cell(page, cells.nth(2))
            browsers = page.locator(".jp-OutputArea-output .wfnb-browser")
            expect(browsers).to_have_count(2, timeout=30_000)
            for index in (0, 1):
                browsers.nth(index).get_by_role("tab", name="Plots").click()
                expect(browsers.nth(index).locator("svg.wfnb-dag")).to_be_visible()
            ids = page.evaluate("[...document.querySelectorAll('svg.wfnb-dag marker')].map(m => m.id)")
            assert len(ids) == 2 and len(set(ids)) == 2, ids  # two graphs, two arrowheads
            pages_markers = page.evaluate(
                "[...document.querySelectorAll('svg.wfnb-dag')].every(svg => [...svg.querySelectorAll('path[marker-end]')]"
                ".every(p => svg.querySelector(p.getAttribute('marker-end').slice(4, -1))))"
            )
            assert pages_markers, "an edge points at an arrowhead outside its own graph"

            page.get_by_role("menuitem", name="Settings", exact=True).click()
            page.locator(".lm-Menu-item[data-type=submenu]", has_text="Theme").first.hover()
            page.locator(".lm-Menu-item[data-command='apputils:change-theme']", has_text=re.compile(r"^\s*JupyterLab Dark\s*$")).click()
            expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=15_000)
            expect(detail.locator(".wfnb-title")).to_contain_text("demo / v1")
            background = table.evaluate("t => getComputedStyle(t.querySelector('tbody td')).backgroundColor")
            assert _dark(background), f"table cells are {background} in the dark theme"
            first.get_by_role("tab", name="Detail").click()
            page.wait_for_timeout(300)  # the theme's stylesheet swap settles
            first.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-dark.png"))
            second = browsers.nth(1)
            second.locator("table.wfnb-table").locator('tr[data-ref="demo/v1"] td.wfnb-tick').click()
            second.locator("table.wfnb-table").locator('tr[data-ref="demo/v4"] td.wfnb-tick').click()
            expect(second.locator("circle.wfnb-point")).to_have_count(4)
            second.locator(".widget-tab").screenshot(path=str(ARTIFACTS / "jupyterlab-dark-plots.png"))
        finally:
            browser.close()


def run_cell(page, cell) -> None:
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def _dark(css_colour: str) -> bool:
    """Whether an rgb()/rgba() colour is dark (or transparent over the dark page)."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_colour)]
    if len(numbers) == 4 and numbers[3] == 0:
        return True
    return sum(numbers[:3]) / 3 < 100
