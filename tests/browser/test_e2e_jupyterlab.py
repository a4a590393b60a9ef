"""The browser inside a real JupyterLab, in its light and dark themes.

JupyterLab (on 127.0.0.1, a free port, a random token; its settings,
workspaces, config and runtime files in the test's temporary directory) serves
a notebook calling ``wfnb.browse('demo')`` over a copy of the demo store.
Headless Chromium opens it, waits for the kernel to be ``Idle`` in the status
bar, runs the cell, selects a variant and checks its detail shows its metric,
then switches to JupyterLab Dark. Screenshots of both themes go to
``test-artifacts/jupyterlab-light.png`` and ``test-artifacts/jupyterlab-dark.png``.
The server, the Chromium and the skip-or-fail rule are the Voila test's.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .test_e2e_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    _free_port,
    _need,
    _stop,
    _wait_for_port,
    sync_api,
)

JUPYTER_LAB = Path(sys.executable).with_name("jupyter-lab")


@pytest.fixture(scope="module")
def lab_url(demo_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab serving ``browse.ipynb`` over a copy of the demo store, at the notebook's URL; stopped at the end."""
    _need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    _need(sync_api is not None and JUPYTER_LAB.exists(), "jupyterlab or playwright is missing: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("jupyterlab")
    shutil.copytree(demo_template, root / "store")
    home = root / "home"  # everything JupyterLab and the kernel would write under $HOME
    env = {
        **os.environ,
        "WFNB_STORE": str(root / "store"),
        "WFNB_FSYNC": "0",
        "IPYTHONDIR": str(home / "ipython"),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),  # no user configuration or extension leaks in
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "MPLCONFIGDIR": str(home / "matplotlib"),
    }
    notebooks = root / "notebooks"
    notebooks.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('import wfnb\nwfnb.browse("demo")')])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, notebooks / "browse.ipynb")
    settings = home / "lab-settings"  # no "get notified about Jupyter news?" toast over the page
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port, token = _free_port(), secrets.token_hex(16)
    log = (root / "jupyterlab.log").open("w")
    server = subprocess.Popen(
        [str(JUPYTER_LAB), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'lab-workspaces'}",
         # nothing fetched from the internet: no news, no update check, no PyPI extension manager
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly", "--LanguageServerManager.autodetect=False",  # no `npm prefix -g` either
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=notebooks, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_for_port(port, server, root / "jupyterlab.log", name="jupyter lab")
        yield f"http://127.0.0.1:{port}/lab/tree/browse.ipynb?token={token}"
    finally:
        _stop(server)
        log.close()


def test_the_browser_in_jupyterlab_light_and_dark(lab_url: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    home = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env={**os.environ, **home})
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(lab_url, timeout=60_000)
            cell = page.locator(".jp-NotebookPanel .jp-CodeCell").first
            expect(cell).to_be_visible(timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=60_000)

            cell.locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            widget = page.locator(".jp-OutputArea-output .wfnb-browser")
            table = widget.locator(".wfnb-grid")
            expect(table).to_contain_text("baseline", timeout=30_000)
            for name in ("v1", "v2", "v3"):
                expect(table.get_by_role("button", name=name, exact=True)).to_be_visible()

            table.get_by_role("button", name="v1", exact=True).click()
            detail = widget.locator(".wfnb-detail")
            expect(detail.locator(".wfnb-title")).to_contain_text("demo / v1")
            metrics = detail.locator("table.wfnb-kv", has=page.locator("caption", has_text="metrics"))
            expect(metrics.locator("tr", has_text="score")).to_contain_text("30.5")  # v1's metric: window=3 → 3 * 10 + 0.5
            _hide_left_sidebar(page)
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-light.png"))

            page.get_by_role("menuitem", name="Settings", exact=True).click()
            page.locator(".lm-Menu-item[data-type=submenu]", has_text="Theme").first.hover()
            page.locator(".lm-Menu-item[data-command='apputils:change-theme']", has_text=re.compile(r"^\s*JupyterLab Dark\s*$")).click()
            expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=15_000)
            expect(detail.locator(".wfnb-title")).to_contain_text("demo / v1")
            page.wait_for_timeout(300)  # the theme's stylesheet swap settles
            page.screenshot(path=str(ARTIFACTS / "jupyterlab-dark.png"))
        finally:
            browser.close()


def _hide_left_sidebar(page) -> None:
    """Collapse the file browser so the notebook gets the page's width."""
    current = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
    if current.count():
        current.click()  # clicking the open panel's tab closes it
        sync_api.expect(page.locator("#jp-left-stack")).to_be_hidden()
