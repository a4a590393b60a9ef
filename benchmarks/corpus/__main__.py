"""Check wfnb's cache on every notebook of the corpus and write the results to docs/cache-check.md.

``python -m benchmarks.corpus`` runs ``wfnb.check_cache`` on each notebook below
this folder (one folder per notebook, with its data; sources and licences in
README.md here), one after the other, and writes one table row per notebook and
every divergence and needless re-run in full. ``--only TEXT`` keeps the
notebooks whose folder name contains TEXT; ``--out -`` prints instead of writing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from wfnb.frontends.check import CheckReport, check_cache

CORPUS = Path(__file__).resolve().parent
ROOT = CORPUS.parents[1]


def notebooks(only: list[str] | None = None) -> list[Path]:
    """wfnb's own demo notebooks (the only ones written with %%step cells), then the corpus' notebooks, one per folder."""
    found = sorted((ROOT / "notebooks").glob("*.ipynb"))
    found += sorted(path for path in CORPUS.glob("*/*.ipynb") if ".ipynb_checkpoints" not in path.parts)
    return [path for path in found if not only or any(text in _name(path) for text in only)]


def _name(path: Path) -> str:
    """``notebooks/prices.ipynb`` for a demo notebook, the folder's name for the corpus'."""
    return path.parent.name if path.parent.parent == CORPUS else path.relative_to(ROOT).as_posix()


def render(reports: list[CheckReport], total: float, planned: int) -> str:
    lines = [
        "# The cache check on real notebooks",
        "",
        "Written by `python -m benchmarks.corpus` (see [benchmarks/corpus/README.md](../benchmarks/corpus/README.md) "
        "for where each notebook comes from; `notebooks/` are wfnb's own demo notebooks). Each notebook is run by `wfnb check-cache` in fresh kernels: twice "
        "without wfnb, twice with the cache (the second run should restore every step), then after each automatic "
        "edit, with and without the cache, compared. A notebook without `%%step` cells is checked with each code "
        "cell as a step (cells with `%matplotlib` and other set-up magics stay plain). *Hits* are the steps restored in the "
        "run with nothing changed; a step whose cell raises without wfnb too (a lesson showing an error) is never stored, "
        "and is counted apart as failing.",
        "",
        f"{len(reports)} notebooks{f' (of {planned}: the run was cut short)' if len(reports) < planned else ''}, "
        f"{total / 60:.1f} minutes in all, on {time.strftime('%Y-%m-%d', time.gmtime())}, two cores shared with other work.",
        "",
        "| notebook | steps | hits | edits applied | divergences | needless re-runs | nondeterministic | time |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for report in reports:
        name = report.notebook
        if report.plain_failure:
            lines.append(f"| {name} | {len(report.steps)} | — | not checked: {report.plain_failure} | — | — | — | {report.seconds:.0f} s |")
            continue
        applied = ", ".join(edit.kind for edit in report.edits if edit.applied) or "none"
        lines.append(
            f"| {name} | {len(report.steps)} | {report.hits}{f' (+{report.failing_steps} failing)' if report.failing_steps else ''} | {applied} | {len(report.divergences)} | "
            f"{len(report.needless_reruns)} | {len(report.nondeterministic)} | {report.seconds:.0f} s |"
        )
    details = [report for report in reports if report.divergences or report.needless_reruns or report.nondeterministic]
    if details:
        lines += ["", "## What the checks found", ""]
        for report in details:
            lines += [f"### {report.notebook}", "", "```text", str(report), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="TEXT", help="only folders whose name contains TEXT")
    # 600: the Handbook's 05.12 fits 16 Gaussian mixtures in one cell, 1 to 4 minutes on two shared cores (at 120 it
    # timed out in one run and not the other, a difference of load, not of the cache); a hang still ends
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds each cell may run (default 600)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "cache-check.md"), help="where to write the table ('-': print it)")
    args = parser.parse_args(argv)
    started, reports, chosen = time.perf_counter(), [], notebooks(args.only)
    for path in chosen:
        print(f"checking {_name(path)}", file=sys.stderr, flush=True)
        report = check_cache(path, timeout=args.timeout)
        report.notebook = _name(path)
        print(str(report), file=sys.stderr, flush=True)
        reports.append(report)
        if args.out != "-":  # after each notebook: a run cut short still leaves the table of those checked
            text = render(reports, time.perf_counter() - started, len(chosen))
            Path(args.out).write_text(text, encoding="utf-8")
    if args.out == "-":
        print(render(reports, time.perf_counter() - started, len(chosen)))
    else:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
