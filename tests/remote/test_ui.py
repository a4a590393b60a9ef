"""``wfnb ui``: the browser for every workflow of a store on S3 (a real moto server), in a real page.

The command is run as a user runs it, in a process of its own; headless Chromium opens the address it
prints. The page must list both workflows' variants, refuse to run or write anything (read-only by
default), and leave the bucket exactly as it was; Ctrl-C (SIGINT) or a service manager's SIGTERM
stops the command together with the Voila server and kernel it started.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.browser.servers import CHROMIUM, CHROMIUM_ARGS, free_port, isolated_env
from tests.browser.test_e2e_browser import need, sync_api

STUDY = ["%%params\nalpha = {alpha}", "%%step fit\nimport wfnb\nscore = alpha * 2\nwfnb.log(score=score)"]


def _record(shell, url: str) -> None:
    """Two workflows on the S3 store: `study` (three variants) and `prep` (one)."""
    shell.run_line_magic("wfnb", f"store {url}")
    shell.run_line_magic("wfnb", "workflow study")
    for alpha in (1, 2, 3):
        for cell in STUDY:
            assert shell.run_cell(cell.format(alpha=alpha)).success
    shell.run_line_magic("wfnb", "workflow prep")
    assert shell.run_cell("%%step clean\nrows = 10").success


class UI:
    """``wfnb ui`` running in its own process; its printed address."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "wfnb", *args], env=env, cwd=cwd, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self.address = ""
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.lines.append(line.rstrip())
                found = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
                if found and not self.address:
                    self.address = found.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(timeout=180)
        assert self.address, "\n".join(self.lines)

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1].strip("/"))

    def stop(self, how: int) -> int:
        self.process.send_signal(how)
        return self.process.wait(timeout=60)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_wfnb_ui_serves_every_workflow_of_an_s3_store_read_only(ip, s3_url, s3_env, s3_server, tmp_path, stop_with):
    need(CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)")
    need(sync_api is not None, "playwright is missing: pip install -e '.[test]'")
    _record(ip, s3_url)
    env = isolated_env(tmp_path, **s3_env)
    env.pop("WFNB_STORE", None)
    mark = s3_server.mark()
    ui = UI(["ui", "--store", s3_url, "--port", str(free_port())], env, tmp_path)
    try:
        assert "(read-only)" in ui.lines[0] and s3_url in ui.lines[0], ui.lines
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(ui.address, timeout=120_000)
                page.wait_for_selector(".wfnb-browser table.wfnb-table", timeout=120_000)
                table = page.locator(".wfnb-browser table.wfnb-table")
                for ref in ("study/v1", "study/v2", "study/v3", "prep/v1"):  # every workflow, no notebook
                    sync_api.expect(table.locator(f'tr.wfnb-row[data-ref="{ref}"]')).to_have_count(1)
                sync_api.expect(table).to_contain_text("6")  # study/v3's score
                page.get_by_role("tab", name="Actions").click()
                note = page.locator(".wfnb-read-only")
                sync_api.expect(note).to_contain_text("only looks at the store")
                sync_api.expect(note).to_contain_text("wfnb ui --allow-runs")
                assert page.get_by_role("button", name="Replay").count() == 0
                assert page.get_by_role("button", name="Tag").count() == 0
            finally:
                browser.close()
        writes = [line for line in s3_server.requests(mark) if line.split()[0] in ("PUT", "POST", "DELETE")]
        assert writes == [], writes  # looking wrote nothing to the shared store
    finally:
        code = ui.stop(stop_with)
    assert code == 0, ui.lines
    assert not _listening(ui.port)  # Voila went with it
    assert not any("Traceback" in line for line in ui.lines), ui.lines


def test_wfnb_ui_says_in_one_paragraph_what_is_wrong_with_its_store_or_workflow(s3_url, s3_env, tmp_path):
    env = {**os.environ, **s3_env}
    missing = subprocess.run([sys.executable, "-m", "wfnb", "ui", "--store", str(tmp_path / "nothing")],
                             env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "There is no wfnb store at" in missing.stderr and "Traceback" not in missing.stderr
    empty = subprocess.run([sys.executable, "-m", "wfnb", "ui", "--store", s3_url, "-w", "nope"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert empty.returncode == 1 and "Traceback" not in empty.stderr, empty.stderr
    assert "no wfnb store" in empty.stderr or "no variant of workflow 'nope'" in empty.stderr, empty.stderr
