"""The browser in a real page: Voila serves a notebook that calls ``wfnb.browse()``; headless Chromium drives it.

Voila (on 127.0.0.1, a free port) runs the notebook in a real kernel and
renders only its widgets; Playwright drives Debian's ``/usr/bin/chromium``
(never a downloaded browser). The test selects a variant, edits a parameter,
clicks Replay and waits for the new variant's metric to appear in the page.
Screenshots go to ``test-artifacts/``; ``WFNB_UPDATE_SCREENSHOT=1`` also
copies the main one to ``docs/browser.png`` for the README.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

try:
    from playwright import sync_api
except ImportError:  # reported by the fixture: skipped locally, a failure in CI
    sync_api = None

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
VOILA = Path(sys.executable).with_name("voila")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REQUIRED = os.environ.get("WFNB_REQUIRE_BROWSER") == "1"  # set by .ci/run: there, a missing browser fails


def _need(ok: bool, why: str) -> None:
    if not ok:
        (pytest.fail if REQUIRED else pytest.skip)(why)


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory):
    """A Voila server for a notebook calling ``wfnb.browse('demo')`` over a demo store; stopped at the end."""
    _need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    _need(sync_api is not None and VOILA.exists(), "voila or playwright is missing: pip install -e '.[test]'")
    root = tmp_path_factory.mktemp("voila")
    env = {
        **os.environ,
        "WFNB_STORE": str(root / "store"),
        "WFNB_FSYNC": "0",
        "IPYTHONDIR": str(root / "ipython"),
        "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"),  # no user configuration or extension leaks in
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
    }
    demo = Path(__file__).with_name("demo_workflow.py")
    made = subprocess.run([sys.executable, str(demo)], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import wfnb\nwfnb.browse('demo')")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "browse.ipynb")
    port = _free_port()
    log = (root / "voila.log").open("w")
    server = subprocess.Popen(
        [str(VOILA), "browse.ipynb", "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--theme=light"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_for_port(port, server, root / "voila.log")
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(server)
        log.close()


def test_select_a_variant_replay_it_and_see_its_metric(voila_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(voila_url, timeout=90_000)
            page.wait_for_selector(".wfnb-browser .wfnb-grid", timeout=90_000)
            table = page.locator(".wfnb-browser .wfnb-grid")
            sync_api.expect(table).to_contain_text("baseline")
            assert "70.5" not in page.inner_text(".wfnb-browser")

            table.get_by_role("button", name="v1", exact=True).click()
            sync_api.expect(page.locator(".wfnb-detail .wfnb-title")).to_contain_text("demo / v1")
            page.get_by_role("tab", name="Actions").click()
            window = page.locator(".wfnb-browser .widget-text", has=page.locator("label", has_text="window")).locator("input")
            window.fill("7")
            window.press("Tab")
            page.get_by_role("button", name="Replay").click()  # its name also holds the icon glyph

            message = page.locator(".wfnb-msg-success")
            sync_api.expect(message).to_contain_text("score = 70.5", timeout=60_000)
            sync_api.expect(message).to_contain_text("→ v4")
            sync_api.expect(table).to_contain_text("70.5")  # the table lists the replayed variant
            sync_api.expect(page.locator(".wfnb-browser .widget-hprogress").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-replay.png"), full_page=True)

            page.get_by_role("tab", name="Detail").click()  # the replayed variant, as it ran
            sync_api.expect(page.locator(".wfnb-detail .wfnb-title")).to_contain_text("demo / v4")
            sync_api.expect(page.locator(".wfnb-detail img").first).to_be_visible()
            page.set_viewport_size({"width": 1280, "height": 1360})  # down to the replayed figure
            page.screenshot(path=str(ARTIFACTS / "browser.png"))
        finally:
            browser.close()
    if os.environ.get("WFNB_UPDATE_SCREENSHOT") == "1" or not (ROOT / "docs" / "browser.png").exists():
        shutil.copyfile(ARTIFACTS / "browser.png", ROOT / "docs" / "browser.png")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, log: Path, timeout: float = 60.0, name: str = "voila") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"{name} exited with {server.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{name} did not listen on 127.0.0.1:{port} within {timeout:.0f} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server (Voila, JupyterLab) and its kernels: the whole process group it leads."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
