"""Run the benchmark suite and write the report: ``python -m benchmarks [--smoke] [--out PATH]``.

``make bench`` runs the full sizes into docs/benchmarks.md; ``make bench-smoke`` runs tiny
sizes (same code paths, same peers) into a scratch file, to keep the suite working.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import browser, everyday, fingerprints, hits, listing, memory, monitoring, storage, sweeps, tracing
from benchmarks.harness import FULL, SMOKE, Context, load_average, machine, versions
from benchmarks.report import render

FAMILIES = {
    "fingerprints": fingerprints.run,
    "storage": storage.run,
    "memory": memory.run,
    "hits": hits.run,
    "listing": listing.run,
    "tracing": tracing.run,
    "sweeps": sweeps.run,
    "everyday": everyday.run,
}
PACKAGES = ["wfnb", "numpy", "pandas", "pyarrow", "joblib", "marimo", "xxhash", "blake3", "ipython", "cloudpickle"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the code, not the speed")
    parser.add_argument("--out", type=Path, default=None, help="report path (default: docs/benchmarks.md)")
    parser.add_argument("--only", default=",".join(FAMILIES), help=f"comma-separated subset of {', '.join(FAMILIES)}")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(FAMILIES))
    if unknown:
        parser.error(f"unknown workload families {unknown}; choose from {', '.join(FAMILIES)}")
    out = args.out or Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    sizes = SMOKE if args.smoke else FULL
    scratch = Path(tempfile.mkdtemp(prefix="wfnb-bench-"))
    ctx = Context(sizes=sizes, scratch=scratch, versions=versions(PACKAGES))
    ctx.versions["Python"] = sys.version.split()[0]
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    clock = time.perf_counter()
    try:
        for name in chosen:
            print(f"benchmarks: {name} ({sizes.label}) …", file=sys.stderr, flush=True)
            before = load_average(short=True)
            family_clock = time.perf_counter()
            FAMILIES[name](ctx)
            ctx.loads.append((name, before, load_average(short=True), time.perf_counter() - family_clock))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report = render(
        ctx,
        started=started,
        load_before=load_before,
        load_after=load_average(),
        machine=machine(),
        elapsed=time.perf_counter() - clock,
    )
    # written by `make bench-browser` and `python -m benchmarks.monitoring`, which this run does not measure
    carried = "\n\n".join(
        part for part in (browser.carried_section(out), browser.carried_section(out, monitoring.BEGIN, monitoring.END)) if part
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.rstrip("\n") + ("\n\n" + carried + "\n" if carried else "\n"), encoding="utf-8")
    met = sum(t.status == "met" for t in ctx.targets)
    print(f"benchmarks: wrote {out} ({met} of {len(ctx.targets)} targets met)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
