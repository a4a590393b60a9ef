"""The browser's benchmark still runs (``make bench-browser`` at tiny sizes): its report's shape, never its numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .servers import CHROMIUM, JUPYTER_LAB
from .test_e2e_browser import ROOT, need, sync_api


def test_the_browser_benchmark_writes_its_section_and_keeps_the_rest(tmp_path: Path) -> None:
    need(CHROMIUM.exists() and JUPYTER_LAB.exists() and sync_api is not None, "the benchmark needs chromium, jupyterlab and playwright")
    out = tmp_path / "benchmarks.md"
    out.write_text("# wfnb benchmarks\n\nThe other families' report.\n")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.browser", "--sizes", "3", "--repeats", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = out.read_text()
    assert report.startswith("# wfnb benchmarks\n\nThe other families' report.\n")
    assert report.count("## Browser: time to a painted table") == 1
    assert "| 3 | **" in report and "Load average before:" in report
    from benchmarks.browser import BEGIN, END, carried_section, write_section

    section = carried_section(out)
    assert section.startswith(BEGIN) and section.endswith(END)
    write_section(out, f"{BEGIN}\nagain\n{END}")  # a second run replaces its section, not adds one
    assert out.read_text().count(BEGIN) == 1 and "again" in out.read_text() and "The other families' report." in out.read_text()
