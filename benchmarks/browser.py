"""The variant browser's speed in a real page: from running ``wfnb.browse()`` to a painted table.

``python -m benchmarks.browser`` (``make bench-browser``) makes stores of 10, 1,000
and 10,000 variants, opens JupyterLab in headless Chromium (the end-to-end tests'
servers), and times, in the page, from the Shift+Enter that runs the cell to the
second animation frame after the table's first row exists (the frame that shows
it). Each size runs once to warm the kernel, then ``--repeats`` times, each
time also timing the click on the Plots tab to its painted chart; then the
kernel is restarted and the largest size of at most 1,000 runs once more (what
a user sees first after a restart). The part spent in the kernel (reading the
variants, building the widgets) is timed again in this process. The figures go into docs/benchmarks.md, in their own section,
which ``make bench`` carries over.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.harness import load_average, machine

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- browser benchmark: written by make bench-browser; make bench keeps it -->"
END = "<!-- end of the browser benchmark -->"
TARGETS = {"warm": 0.5, "restart": 0.8, "plots": 0.5, "10000": 2.0}  # issue 22
WORKFLOW = "bench"

# Installed in the page before each run: the Shift+Enter's time, then the frame after a new table's first row.
_WATCH = """() => {
  const seen = new Set(document.querySelectorAll('table.wfnb-table'));
  const run = window.__wfnbRun = {start: null, painted: null};
  document.addEventListener('keydown', e => { if (e.key === 'Enter' && e.shiftKey && run.start === null) run.start = performance.now(); }, {capture: true});
  const watcher = new MutationObserver(() => {
    const table = [...document.querySelectorAll('table.wfnb-table')].find(t => !seen.has(t) && t.querySelector('tr.wfnb-row'));
    if (!table) return;
    watcher.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { run.painted = performance.now(); }));
  });
  watcher.observe(document.body, {childList: true, subtree: true});
}"""


# Installed before a click on a browser's Plots tab: the click's time, then the frame after its chart is in the page.
_WATCH_PLOTS = """root => {
  const run = window.__wfnbPlots = {start: null, painted: null};
  root.addEventListener('click', () => { if (run.start === null) run.start = performance.now(); }, {capture: true, once: true});
  const watcher = new MutationObserver(() => {
    if (!root.querySelector('svg.wfnb-chart-svg')) return;
    watcher.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => { run.painted = performance.now(); }));
  });
  watcher.observe(root, {childList: true, subtree: true});
}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000", help="comma-separated variant counts")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="wfnb-bench-browser-"))
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    loads = [load_average()]
    try:
        stores = {size: make_store(scratch / f"store-{size}", size) for size in sizes}
        kernel = {size: kernel_seconds(store, args.repeats) for size, store in stores.items()}
        page = page_seconds(scratch, stores, args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    loads.append(load_average())
    section = render(started, sizes, kernel, page, args.repeats, loads)
    write_section(args.out, section)
    print(section)
    return 0


def make_store(root: Path, count: int) -> Path:
    """A store with ``count`` variants of a three-step workflow: the demo's steps, other parameters and metrics."""
    import os

    from wfnb.history.snapshots import load_variant, record_variant
    from wfnb.history.state import WorkflowState
    from wfnb.store import open_store

    env = {**os.environ, "WFNB_STORE": str(root), "WFNB_FSYNC": "0", "IPYTHONDIR": str(root.parent / "ipython")}
    demo = ROOT / "tests" / "browser" / "demo_workflow.py"
    made = subprocess.run([sys.executable, str(demo)], cwd=root.parent, env=env, capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        raise RuntimeError(f"the demo workflow failed:\n{made.stdout}{made.stderr}")
    os.environ["WFNB_FSYNC"] = "0"
    store = open_store(root, create=False)
    base = load_variant(store, "demo", 1)
    records = {s.step: dict(s.record) for s in base.steps}
    state = WorkflowState(WORKFLOW, order=list(records), records=records)
    chance = random.Random(count)
    parent = None
    for i in range(count):  # a sweep-like history: three parameters (every point its own), three metrics
        state.params = {"window": 2 + i % 50, "seed": i, "alpha": round(chance.uniform(0.001, 1.0), 4)}
        logged = {"score": round(chance.uniform(0.5, 1.0), 5), "loss": round(chance.expovariate(3.0), 5), "last": round(chance.gauss(100, 3), 3)}
        state.records = {**records, "smooth": {**records["smooth"], "metrics": logged, "params": {"window": state.params["window"]}}}
        parent = record_variant(store, state, parent=parent)[0].number
    return root


def kernel_seconds(root: Path, repeats: int) -> list[float]:
    """Reading the variants and building the browser's widgets, in this process."""
    from wfnb.frontends.browser.state import BrowserState
    from wfnb.frontends.browser.view import BrowserView
    from wfnb.store import open_store

    store = open_store(root, create=False)
    BrowserView(BrowserState(store, WORKFLOW)).close()  # imports and caches warm
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        view = BrowserView(BrowserState(store, WORKFLOW))
        samples.append(time.perf_counter() - started)
        view.close()
    return samples


def page_seconds(scratch: Path, stores: dict[int, Path], repeats: int) -> dict[int, tuple[float, list[float], list[float], list[float]]]:
    """Per size: the first run in the kernel (imports included), the warm runs (from Shift+Enter to the painted
    table), the Plots tab's (click to painted chart), and the runs after a kernel restart (one size only)."""
    import nbformat
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(ROOT))
    from tests.browser.servers import CHROMIUM, CHROMIUM_ARGS, isolated_env, jupyterlab

    notebooks = scratch / "notebooks"
    notebooks.mkdir()
    cells = [nbformat.v4.new_code_cell(f"import wfnb\nwfnb.browse({WORKFLOW!r}, store={str(store)!r})") for store in stores.values()]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(notebook, notebooks / "bench.ipynb")
    results: dict[int, tuple[float, list[float], list[float], list[float]]] = {}
    with jupyterlab(scratch, notebooks, isolated_env(scratch / "home")) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url.format(name="bench.ipynb"), timeout=90_000)
            page.locator(".jp-NotebookPanel .jp-CodeCell").first.wait_for(timeout=90_000)
            page.locator("#jp-main-statusbar", has_text="| Idle").wait_for(timeout=90_000)
            for index, size in enumerate(stores):
                cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index)
                first = _run_once(page, cell)
                warm, plots = [], []
                for _ in range(repeats):
                    warm.append(_run_once(page, cell))
                    plots.append(_plots_once(page, cell))
                results[size] = (first, warm, plots, [])
            restarted = [size for size in stores if size <= 1000]
            if restarted:  # the first paint after a kernel restart: imports, the store read afresh
                size = max(restarted)
                cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(list(stores).index(size))
                for _ in range(max(1, min(repeats, 3))):
                    _restart_kernel(page)
                    results[size][3].append(_run_once(page, cell))
        finally:
            browser.close()
    return results


def _plots_once(page, cell) -> float:
    """From the click on the newest browser's Plots tab to the frame after its chart is painted."""
    browser = cell.locator(".wfnb-browser").last
    browser.evaluate(_WATCH_PLOTS)
    browser.get_by_role("tab", name="Plots").click()
    page.wait_for_function("() => window.__wfnbPlots.painted !== null", timeout=120_000)
    seconds = page.evaluate("() => (window.__wfnbPlots.painted - window.__wfnbPlots.start) / 1000")
    page.locator("#jp-main-statusbar", has_text="| Idle").wait_for(timeout=120_000)
    return seconds


def _restart_kernel(page) -> None:
    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.locator(".lm-Menu-item[data-command='kernelmenu:restart']").click()
    page.locator(".jp-Dialog .jp-mod-accept").click()  # "Restart"
    page.locator("#jp-main-statusbar", has_text="| Idle").wait_for(timeout=120_000)
    page.wait_for_timeout(1000)  # the restarted kernel settles, as a user would not type in the same second


def _run_once(page, cell) -> float:
    page.evaluate(_WATCH)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("() => window.__wfnbRun.painted !== null", timeout=120_000)
    seconds = page.evaluate("() => (window.__wfnbRun.painted - window.__wfnbRun.start) / 1000")
    page.locator("#jp-main-statusbar", has_text="| Idle").wait_for(timeout=120_000)
    return seconds


def render(
    started: str, sizes: list[int], kernel: dict[int, list[float]], page: dict[int, tuple[float, list[float], list[float], list[float]]],
    repeats: int, loads: list[str],
) -> str:

    facts = machine()
    rows = []
    for size in sizes:
        first, warm, plots, restarted = page[size]
        rows.append(
            f"| {size:,} | **{_s(statistics.median(warm))}** ({_s(min(warm))} – {_s(max(warm))}) | {_s(first)} "
            f"| {_s(statistics.median(restarted)) if restarted else '—'} | {_s(statistics.median(plots))} "
            f"| {_s(statistics.median(kernel[size]))} |"
        )
    goals = []
    if 1000 in page:
        _, warm, plots, restarted = page[1000]
        goals.append(_goal("1,000 variants painted warm", statistics.median(warm), TARGETS["warm"]))
        if restarted:
            goals.append(_goal("after a kernel restart", statistics.median(restarted), TARGETS["restart"]))
        goals.append(_goal("the Plots tab", statistics.median(plots), TARGETS["plots"]))
    if 10000 in page:
        goals.append(_goal("10,000 variants painted warm", statistics.median(page[10000][1]), TARGETS["10000"]))
    return "\n".join([
        BEGIN,
        "## Browser: time to a painted table",
        "",
        f"Written by `make bench-browser` (`python -m benchmarks.browser`) on {started}, on {facts['CPU']} "
        f"({facts['cores']} cores, {facts['RAM']}), {facts['OS']}, Python {facts['Python']}; headless Chromium "
        "(Debian's) driving JupyterLab 4 at 1280 × 1000 px on the same machine.",
        "",
        "From the Shift+Enter that runs `wfnb.browse(...)` to the second animation frame after the table's first row "
        f"is in the page (the frame that shows it), measured in the page. Each size runs once first (the kernel "
        f"imports ipywidgets and reads the store for the first time: the *first run* column), then {repeats} times; "
        "the table shows their median, min and max. *After a restart*: the kernel restarted (Kernel ▸ Restart), "
        "then the cell run again, its median over up to 3 restarts (the largest size up to 1,000 only). *Plots tab*: "
        "from the click on a fresh browser's Plots tab to the frame after its chart is painted (the scatter, every "
        "variant a point, and the parameter ranking), median of the warm runs. *In the kernel* is the part spent "
        "reading the variants and building the widgets, timed again in the benchmark's own process. Each variant "
        "has three parameters and three metrics; the table shows 20 rows a page.",
        "",
        "| variants | painted table (median, min – max) | first run | after a restart | Plots tab | in the kernel (median) |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "Targets (issues 13 and 22): " + ("; ".join(goals) if goals else "not measured at these sizes") + ".",
        "",
        f"Load average before: {loads[0]}; after: {loads[1]}. The machine is shared: a load above its core count "
        "makes these figures pessimistic.",
        END,
    ])


def _goal(what: str, seconds: float, target: float) -> str:
    return f"{what} under {_s(target)}: {_s(seconds)} {'✅ met' if seconds < target else '❌ not met'}"


def write_section(path: Path, section: str, begin: str = BEGIN, end: str = END) -> None:
    """Put ``section`` (between ``begin`` and ``end``) into the report at ``path``, replacing an earlier one."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# wfnb benchmarks\n"
    kept = re.sub(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", "", text, flags=re.S).rstrip("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{kept}\n\n{section}\n", encoding="utf-8")


def carried_section(path: Path, begin: str = BEGIN, end: str = END) -> str:
    """A section of an existing report ('' if none; the browser's by default), for ``make bench`` to keep."""
    if not path.exists():
        return ""
    found = re.search(re.escape(begin) + r".*?" + re.escape(end), path.read_text(encoding="utf-8"), flags=re.S)
    return found.group(0) if found else ""


def _s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


if __name__ == "__main__":
    raise SystemExit(main())
