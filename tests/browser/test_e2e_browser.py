"""The browser in a real page: Voila serves a notebook that calls ``wfnb.browse()``; headless Chromium drives it.

Voila (on 127.0.0.1, a free port) runs the notebook in a real kernel and
renders only its widgets; Playwright drives Debian's ``/usr/bin/chromium``
(never a downloaded browser). The test clicks a row, types a filter it cannot
read, replays a variant with an edited parameter, ticks three variants and
compares them, and clicks a point of the scatter. Screenshots go to
``test-artifacts/``; ``WFNB_UPDATE_SCREENSHOT=1`` also copies the main one (the
compare of three above the scatter) to ``docs/browser.png`` for the README.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from .servers import CHROMIUM, CHROMIUM_ARGS, VOILA, isolated_env, voila

try:
    from playwright import sync_api
except ImportError:  # reported by the fixture: skipped locally, a failure in CI
    sync_api = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
REQUIRED = os.environ.get("WFNB_REQUIRE_BROWSER") == "1"  # set by .ci/run: there, a missing browser fails


def need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if REQUIRED else pytest.skip)(why)


@pytest.fixture(scope="module")
def voila_url(demo_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """A Voila server for a notebook calling ``wfnb.browse('demo')`` over a copy of the demo store; stopped at the end."""
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    need(sync_api is not None and VOILA.exists(), "voila or playwright is missing: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("voila")
    shutil.copytree(demo_template, root / "store")  # the session's demo store, recorded once (conftest.py)
    env = isolated_env(root, WFNB_STORE=str(root / "store"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import wfnb\nwfnb.browse('demo')")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "browse.ipynb")
    with voila(root, "browse.ipynb", env) as url:
        yield url


def test_select_replay_compare_three_and_plot_in_a_real_page(voila_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(voila_url, timeout=90_000)
            page.wait_for_selector(".wfnb-browser table.wfnb-table", timeout=90_000)
            table = page.locator(".wfnb-browser table.wfnb-table")
            expect(table).to_contain_text("baseline")
            expect(table.locator("tr.wfnb-groups")).to_contain_text("parameters")
            assert "70.5" not in page.inner_text(".wfnb-browser table.wfnb-table")

            row(page, "demo/v1").click()  # a click in the HTML table, through the bridge
            expect(page.locator(".wfnb-detail .wfnb-title")).to_contain_text("demo / v1")
            expect(row(page, "demo/v1")).to_have_class(re.compile("wfnb-selected"))
            expect(page.locator(".wfnb-detail details.wfnb-step[open]")).to_have_count(0)  # folded
            page.locator(".wfnb-detail summary", has_text="plot").click()  # opened: its code and figure come
            expect(page.locator(".wfnb-detail details.wfnb-step[open] img")).to_be_visible()

            search = page.locator(".wfnb-browser .wfnb-search input")
            search.fill("accuracy > 0.99")
            expect(page.locator(".wfnb-filter-error")).to_contain_text("no parameter or metric is named 'accuracy'")
            search.fill("")
            expect(page.locator(".wfnb-filter-error")).to_have_count(0)

            page.get_by_role("tab", name="Actions").click()
            window = page.locator(".wfnb-browser .widget-text", has=page.locator("label", has_text="window")).locator("input")
            window.fill("7")
            window.press("Tab")
            page.get_by_role("button", name="Replay").click()  # its name also holds the icon glyph
            notice = page.locator(".wfnb-notice .wfnb-msg-success")
            expect(notice).to_contain_text("score = 70.5", timeout=90_000)
            expect(notice).to_contain_text("→ v4")
            expect(table).to_contain_text("70.5")  # the table lists the replayed variant
            expect(page.locator(".wfnb-browser .widget-hprogress").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-replay.png"), full_page=True)
            notice.locator(".wfnb-dismiss").click()
            expect(notice).to_have_count(0)

            for ref in ("demo/v1", "demo/v3", "demo/v4"):
                row(page, ref).locator("td.wfnb-tick").click()
                expect(row(page, ref)).to_have_class(re.compile("wfnb-ticked"))
            page.get_by_role("button", name="Compare ticked").click()
            side = page.locator(".wfnb-browser table.wfnb-side")
            expect(side.locator("tr").first).to_contain_text("v1")
            expect(side.locator("tr").first).to_contain_text("v4")
            expect(page.locator(".wfnb-figure-grid img")).to_have_count(3)
            page.wait_for_timeout(300)  # the figures decode
            page.screenshot(path=str(ARTIFACTS / "browser-compare.png"))

            page.get_by_role("tab", name="Plots").click()
            point = page.locator('.wfnb-chart circle.wfnb-point[data-wfnb="select|demo/v2"]')
            expect(point).to_be_visible()
            point.click()
            expect(row(page, "demo/v2")).to_have_class(re.compile("wfnb-selected"))
            expect(page.locator('.wfnb-chart circle[stroke-width="3"][data-wfnb="select|demo/v2"]')).to_be_visible()  # redrawn, marked
            page.locator(".wfnb-browser .widget-tab").screenshot(path=str(ARTIFACTS / "browser-scatter.png"))
        finally:
            browser.close()
    _stitch(ARTIFACTS / "browser-compare.png", ARTIFACTS / "browser-scatter.png", ARTIFACTS / "browser.png")
    if os.environ.get("WFNB_UPDATE_SCREENSHOT") == "1" or not (ROOT / "docs" / "browser.png").exists():
        shutil.copyfile(ARTIFACTS / "browser.png", ROOT / "docs" / "browser.png")


def row(page, ref: str):
    return page.locator(f'.wfnb-browser tr.wfnb-row[data-ref="{ref}"]')


def _stitch(top: Path, bottom: Path, out: Path) -> None:
    """The README's picture: the table with three variants compared, above the scatter."""
    from PIL import Image

    with Image.open(top) as upper, Image.open(bottom) as lower:
        width = max(upper.width, lower.width)
        canvas = Image.new("RGB", (width, upper.height + lower.height), "white")
        canvas.paste(upper, (0, 0))
        canvas.paste(lower, (0, upper.height))
        canvas.save(out)
