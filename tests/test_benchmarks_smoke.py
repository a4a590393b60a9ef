"""The benchmark suite still runs: ``python -m benchmarks --smoke`` (what ``make bench-smoke`` runs).

Tiny sizes, the same code paths and peers (joblib, marimo in a real app, np.save,
pickle, Feather). Only the report's shape is checked, never its numbers: a smoke run
on a shared machine measures nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = [
    "Fingerprint: 400 MB float64 array",
    "Fingerprint: ~440 MB mixed DataFrame",
    "Fingerprint: 1 M object-dtype strings",
    "Store and restore: 400 MB float64 array",
    "Store and restore: ~440 MB mixed DataFrame",
    "Peak extra memory (RSS above the value itself)",
    "Hit: trivial step (`y = x + 1`)",
    "Hit: step with a DataFrame or array input",
    "`%%step` end to end: a 400 MB output",
    "Dedup: the same 400 MB output from two steps",
    "Listing",
    "Sweep: 8 points of a model step, 2 loky workers",
    "Background replay (the browser's Replay, in a worker process)",
    "Everyday loop: restart and run all",
]
PEERS = ["joblib.hash", "hash_pandas_object", "np.save", "np.load", "joblib.dump", "joblib.load", "pickle.dump",
         "pickle.load", "Feather", "run_cell", "joblib.Memory", "marimo", "arr.sum()", "blake3", "joblib.Parallel"]


def test_the_smoke_run_writes_a_well_formed_report(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # the everyday loop starts six real kernels
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = out.read_text(encoding="utf-8")

    for heading in ["# wfnb benchmarks", "## Machine", "### Versions", "## Method", "## Targets", "## Fast paths", "## Workloads"]:
        assert f"\n{heading}\n" in f"\n{report}", heading
    for field in ["CPU", "cores", "RAM", "load average before", "load average after"]:
        assert re.search(rf"^\| {field} \| .+ \|$", report, re.M), field
    for workload in WORKLOADS:
        assert f"\n### {workload}\n" in report, workload
    for peer in PEERS:
        assert peer in report, peer

    targets = _table(report, "## Targets")
    assert len(targets) >= 20
    statuses = {row[-1] for row in targets}
    assert statuses <= {"✅ met", "❌ not met", "⏳ pending"}, statuses
    for row in targets:
        assert all(cell for cell in row), row
    missed = [row[0] for row in targets if row[-1] != "✅ met"]
    for name in missed:  # every missed or pending target is explained
        assert f"- **{name}** (" in report, name
    variants = next(row for row in targets if "variants" in row[0])
    assert variants[-1] == "⏳ pending" or re.fullmatch(r"[\d.]+ ms", variants[2]), variants

    timed = re.findall(r"^\| \*?\*?[^|]+\| ([\d.]+ (?:µs|ms|s)) \| ([\d.]+ (?:µs|ms|s)) \| ([\d.]+ (?:µs|ms|s)) \|", report, re.M)
    assert len(timed) >= 30  # median, min and max for every timed subject


def _table(report: str, heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading`` (without its header and rule lines)."""
    lines = report.split(f"\n{heading}\n", 1)[1].lstrip("\n").splitlines()
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[2:]
