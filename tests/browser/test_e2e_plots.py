"""The Plots tab in a real JupyterLab Dark, in headless Chromium: drag a range, follow curves, unfold a step.

JupyterLab (the end-to-end tests' server, its theme set to JupyterLab Dark)
serves a notebook calling ``wfnb.browse('sweep')`` over a store holding the
sweep of ``sweep_data`` (24 variants, lr from 0.001 to 0.3, a loss curve
each). Chromium drags a rectangle over the scatter, then along the
parallel-coordinates lr axis, and sees the
filter box and the table follow; switches that axis to linear; reads the
parameter ranking; overlays curves of ticked variants; unfolds a step of the
detail with the kernel not asked; and finds no horizontal scrollbar that
has nothing to scroll to. Screenshots go to ``test-artifacts/plots-dark-*.png``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from wfnb.store import open_store

from .servers import CHROMIUM, CHROMIUM_ARGS, JUPYTER_LAB, lab_notebook
from .sweep_data import record_sweep
from .test_e2e_browser import ARTIFACTS, need, sync_api
from .test_e2e_jupyterlab import run_cell

# Elements of the browser (and its output area) that show a horizontal scrollbar with little or nothing to scroll.
_STRAY_SCROLLBARS = """root => {
  const area = root.closest('.jp-OutputArea-output') || root;
  return [area, ...area.querySelectorAll('*')].filter(el => {
    const style = getComputedStyle(el);
    const scrolls = ['auto', 'scroll'].includes(style.overflowX) || (el === area && style.overflowX !== 'hidden' && style.overflowX !== 'visible');
    return scrolls && el.clientWidth > 0 && el.scrollWidth > el.clientWidth && el.scrollWidth - el.clientWidth < 40;
  }).map(el => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} ${el.scrollWidth}>${el.clientWidth}`);
}"""


@pytest.fixture(scope="module")
def sweep_lab(tmp_path_factory: pytest.TempPathFactory):
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    need(sync_api is not None and JUPYTER_LAB.exists(), "jupyterlab or playwright is missing: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("plots-lab")
    record_sweep(open_store(root / "store", create=True))
    theme = root / "home" / "lab-settings" / "@jupyterlab" / "apputils-extension"
    theme.mkdir(parents=True)
    (theme / "themes.jupyterlab-settings").write_text(json.dumps({"theme": "JupyterLab Dark"}))
    with lab_notebook(root, "sweep.ipynb", ['import wfnb\nwfnb.browse("sweep")'], root / "store") as (url, _):
        yield url


def test_drag_a_range_follow_curves_and_unfold_a_step_in_jupyterlab_dark(sweep_lab: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env={**os.environ, **home})
        try:
            page = chromium.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(sweep_lab, timeout=60_000)
            cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
            expect(cells.first).to_be_visible(timeout=60_000)
            expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=30_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)
            run_cell(page, cells.nth(0))
            browser = page.locator(".jp-OutputArea-output .wfnb-browser").first
            table = browser.locator("table.wfnb-table")
            expect(table.locator("tr.wfnb-row")).to_have_count(20, timeout=30_000)

            # a step unfolds in the page: open, with its code, in the same task as the click (no kernel asked)
            unfolded = browser.locator(".wfnb-detail").evaluate(
                "d => { const s = d.querySelector('details.wfnb-step'); s.querySelector('summary').click(); "
                "return s.open && !!s.querySelector('pre.wfnb-code'); }"
            )
            assert unfolded, "a step of the detail did not unfold in the page"

            browser.get_by_role("tab", name="Plots").click()
            search = browser.locator(".wfnb-search input")
            # a rectangle dragged over the scatter: both ranges into the filter box
            plane = browser.locator("rect.wfnb-brush-zone")
            expect(plane).to_have_count(1, timeout=30_000)
            plane.scroll_into_view_if_needed()
            area = plane.bounding_box()
            page.mouse.move(area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.2)
            page.mouse.down()
            page.mouse.move(area["x"] + area["width"] * 0.8, area["y"] + area["height"] * 0.9, steps=5)
            page.mouse.up()
            expect(search).to_have_value(re.compile(r"^(\w+) >= [\d.-]+ and \1 <= [\d.]+ and (\w+) >= [\d.-]+ and \2 <= [\d.]+$"), timeout=30_000)
            expect(browser.locator("rect.wfnb-brushed")).to_have_count(2)
            browser.get_by_role("button", name="Clear selection").click()
            expect(search).to_have_value("", timeout=30_000)

            browser.get_by_role("button", name="parallel coordinates").click()
            lr_zone = browser.locator('rect.wfnb-brush-zone[data-wfnb-brush*="param:lr"]')
            expect(lr_zone).to_have_count(1, timeout=30_000)
            lr_scale = browser.locator('text.wfnb-axis-scale[data-wfnb="axis-log|param:lr"]')
            expect(lr_scale).to_have_text(re.compile(r"^log"))  # 0.001 … 0.3: a log axis by itself
            halo = browser.locator("text.wfnb-tick-label").first.evaluate("t => getComputedStyle(t).paintOrder")
            assert halo.startswith("stroke"), halo
            width = browser.locator("svg.wfnb-chart-svg").evaluate("s => s.getBoundingClientRect().width")
            tab_width = browser.locator(".widget-tab").evaluate("t => t.getBoundingClientRect().width")
            assert width > tab_width - 60, f"parallel coordinates {width} px wide in a {tab_width} px tab"
            expect(browser.locator(".wfnb-importance")).to_contain_text("lr")
            expect(browser).to_contain_text("Spearman")
            browser.locator(".widget-tab").screenshot(path=str(ARTIFACTS / "plots-dark-parallel.png"))

            # drag along the lr axis, from 0.01 to 0.1 on its log scale: the filter box and the table follow
            spec = json.loads(lr_zone.get_attribute("data-wfnb-brush"))[0]
            lr_zone.scroll_into_view_if_needed()
            box = lr_zone.bounding_box()
            svg_box = browser.locator("svg.wfnb-chart-svg").bounding_box()
            ratio = box["height"] / (spec["p0"] - spec["p1"])  # user units to pixels (p0 is the bottom)

            def pixel(value: float) -> float:
                import math

                fraction = (math.log10(value) - math.log10(spec["lo"])) / (math.log10(spec["hi"]) - math.log10(spec["lo"]))
                return box["y"] + box["height"] - fraction * box["height"]

            assert svg_box and ratio > 0
            x = box["x"] + box["width"] / 2
            page.mouse.move(x, pixel(0.0085))
            page.mouse.down()
            page.mouse.move(x, pixel(0.05), steps=4)
            page.mouse.move(x, pixel(0.12), steps=4)
            page.mouse.up()
            expect(search).to_have_value(re.compile(r"^lr >= 0\.008\d* and lr <= 0\.1[12]\d*$"), timeout=30_000)
            expect(browser.locator(".widget-html", has_text="page 1 of 1")).to_contain_text("12 match the filter")
            expect(browser.locator("rect.wfnb-brushed")).to_have_count(1)
            lrs = {float(v) for v in re.findall(r"lr = ([\d.e-]+)", browser.locator(".wfnb-chart").inner_text() or "")}
            assert not lrs or lrs <= {0.01, 0.03, 0.1}
            browser.locator(".widget-tab").screenshot(path=str(ARTIFACTS / "plots-dark-brushed.png"))

            lr_scale.click()  # that axis, linear
            expect(lr_scale).to_have_text(re.compile(r"^linear"), timeout=30_000)
            browser.get_by_role("button", name="Clear selection").click()
            expect(search).to_have_value("", timeout=30_000)
            expect(table.locator("tr.wfnb-row")).to_have_count(20)

            # curves of two ticked variants and the selected one, over the logged epochs
            browser.get_by_role("button", name="curves").click()
            for row in (1, 2):
                table.locator("tr.wfnb-row").nth(row).locator("td.wfnb-tick").click()
            expect(browser.locator("g.wfnb-curve")).to_have_count(3, timeout=30_000)
            expect(browser.locator(".wfnb-chart")).to_contain_text("step")
            browser.locator(".widget-tab").screenshot(path=str(ARTIFACTS / "plots-dark-curves.png"))

            browser.get_by_role("button", name="parallel coordinates").click()
            expect(lr_zone).to_have_count(1, timeout=30_000)
            page.wait_for_timeout(300)  # layout settles
            stray = browser.evaluate(_STRAY_SCROLLBARS)
            assert not stray, f"horizontal scrollbars with next to nothing to scroll: {stray}"
        finally:
            chromium.close()
