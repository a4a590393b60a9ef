"""The ``wfnb`` command: look at a store from a terminal or a script, replay and export variants.

One function per subcommand, each using the public Python API only. Tables
for people, ``--json`` for scripts. Exit codes: 0 done, 1 a problem (an
unknown variant, a damaged store, a failed step), 2 a bad command line.
Errors are one paragraph on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wfnb.errors import BadArgument, WfnbError
from wfnb.frontends.cliparts import (
    EXIT_OK,
    EXIT_PROBLEM,
    EXIT_USAGE,
    UsageProblem,
    column_names,
    command,
    looking,
    only_workflow,
    pairs,
    ref_arguments,
    seconds,
    variant_of,
    whole_number,
)
from wfnb.frontends.cliupkeep import add_upkeep_commands
from wfnb.frontends.ui import add_ui_command

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant


def main(argv: list[str] | None = None) -> int:
    """Run the ``wfnb`` command with ``argv`` (default: the process arguments); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except UsageProblem as error:
        print(f"wfnb {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except WfnbError as error:
        print(f"wfnb: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    except BrokenPipeError:  # the reader went away (`wfnb list | head`): not a problem of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:
        print(f"wfnb: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("wfnb: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfnb",
        description="Look at a wfnb store: variants, runs, integrity; replay and export variants.",
        epilog="A variant is named v3, by its tag, by a unique prefix of its hash, or as WORKFLOW/v3.",
    )
    parser.add_argument("--store", help="store location (default: $WFNB_STORE, else ./.wfnb)")
    parser.add_argument("--json", action="store_true", help="machine-readable output (also accepted after the command)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND", dest="command")

    sub = command(commands, "list", _list, "the variants of one workflow, or of all of them, as a table that fits the terminal")
    sub.add_argument("workflow", nargs="?", help="a workflow's name (default: every workflow)")
    sub.add_argument("-c", "--columns", type=column_names, metavar="A,B,...",
                     help="the columns to show, in order: variant, tags, created, parent, changed_steps, status, hash, "
                          "workflow, and any parameter or metric")
    sub.add_argument("--sort-by", metavar="COLUMN", help="sort by a column, e.g. a metric (variants without it last)")
    sub.add_argument("--desc", action="store_true", help="sort in descending order (with --sort-by)")
    sub.add_argument("-n", type=whole_number, metavar="N", help="show N variants: the first N when sorted, else the N newest")
    sub.add_argument("--only-changed", action="store_true", help="only the parameters and metrics that differ between the variants shown")
    sub.add_argument("--width", type=whole_number, metavar="CHARS",
                     help="fit the table in this many characters (default: the terminal's width; no limit when piped)")

    sub = command(commands, "show", _show, "one variant: parameters, metrics, steps")
    ref_arguments(sub, "ref")
    sub.add_argument("--code", action="store_true", help="also print each step's code")

    sub = command(commands, "diff", _diff, "what changed from REF1 to REF2: parameters, metrics, code")
    ref_arguments(sub, "ref1", "ref2")

    sub = command(commands, "replay", _replay, "re-run a variant's own code, through the cache, with new parameters")
    ref_arguments(sub, "ref")
    sub.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE",
        help="override a parameter; the value is read as JSON if it can be (30, 0.5, true, [1, 2]), else as text",
    )
    sub.add_argument("--check", action="store_true",
                     help="run every step again without the cache and compare its outputs with the recorded ones "
                          "(exit 1 if a step gives other outputs: it is marked nondeterministic)")

    sub = command(commands, "export", _export, "write a variant as a notebook (.ipynb), a script (.py) or a table (.csv)")
    ref_arguments(sub, "ref")
    sub.add_argument("--to", required=True, metavar="PATH", help="the file to write: .ipynb, .py or .csv")
    sub.add_argument("--force", action="store_true", help="replace the file if it exists")

    sub = command(commands, "why", _why, "why a step last ran (what changed, by how much), or which stored result it used")
    sub.add_argument("names", nargs="+", metavar="[WORKFLOW] STEP",
                     help="the step's name; before it, the workflow's (the older form of -w)")
    sub.add_argument("-w", "--workflow", help="the workflow (default: the store's only workflow)")

    command(commands, "runs", _runs, "every step execution, newest last")
    command(commands, "verify", _verify, "check every object against its checksum (exit 1 if any is damaged)")

    sub = command(commands, "check-cache", _check_cache,
                  "run a notebook with and without the cache in fresh kernels, before and after automatic edits, "
                  "and report where they differ (exit 1 if they do, or if a step re-ran needlessly)")
    sub.add_argument("notebook", help="the notebook (.ipynb); its folder is copied, never changed")
    sub.add_argument("--timeout", type=seconds, default=120.0, metavar="SECONDS",
                     help="seconds each cell may run (default 120)")
    sub.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    add_upkeep_commands(commands)
    add_ui_command(commands)
    return parser


# -- variants -------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from wfnb.frontends.listing import render_table, select_rows, variant_rows

    store = looking(args)
    rows = variant_rows(store, args.workflow)
    if not rows and args.workflow:
        known = sorted({row.workflow for row in variant_rows(store)})
        raise BadArgument(
            f"There is no workflow {args.workflow!r} with variants in this store; "
            + (f"its workflows: {', '.join(known)}." if known else "it has no variants yet.")
        )
    try:
        rows = select_rows(rows, sort_by=args.sort_by, descending=args.desc, limit=args.n)
        table = render_table(rows, width=_width(args.width), columns=args.columns, only_changed=args.only_changed)
    except BadArgument as error:
        raise UsageProblem(str(error)) from None
    if args.json:
        print(json.dumps([row.as_json() for row in rows], default=str))
    elif not rows:
        print("no variants in this store yet: run a notebook's %%step cells first")
    else:
        print(table)
    return EXIT_OK


def _width(chosen: int | None) -> int | None:
    """The width to fit: --width, else $COLUMNS, else the terminal's; None (no limit) when piped."""
    if chosen is not None:
        return chosen
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if sys.stdout.isatty():
        import shutil

        return shutil.get_terminal_size().columns
    return None


def _show(args: argparse.Namespace) -> int:
    variant = variant_of(args, args.ref, read_only=True)
    if args.json:
        print(json.dumps(_variant_json(variant), default=str))
        return EXIT_OK
    tags = f" [{', '.join(variant.tags)}]" if variant.tags else ""
    print(f"{variant.workflow}/{variant.name}{tags}{' (current)' if _is_current(args, variant) else ''}")
    print(f"  created  {variant.created}")
    print(f"  parent   {'v' + str(variant.parent) if variant.parent is not None else '—'}")
    print(f"  hash     {variant.identity}")
    for tag, note in variant.notes.items():
        print(f"  note     {tag}: {note}")
    print(f"  params   {pairs(variant.params)}")
    print(f"  metrics  {pairs(variant.metrics)}")
    for step in variant.steps:
        for metric, points in step.series.items():
            values = [value for _, value in points]
            print(f"  series   {metric} ({step.step}): {len(points)} points, steps {points[0][0]}–{points[-1][0]}: "
                  f"{_curve(values)}")
    print("  steps    (* changed from the parent)")
    width = max(len(step.step) for step in variant.steps) if variant.steps else 4
    for step in variant.steps:
        mark = "*" if step.step in variant.changed_steps else " "
        outputs = ", ".join(step.outputs) or "—"
        took = f"  (took {step.branch})" if step.branch else ""
        print(f"  {mark} {step.step:<{width}}  {step.key[:10]}  {step.duration_s:8.3f} s  → {outputs}{took}")
    if args.code:
        for step in variant.steps:
            print(f"\n# -- step {step.step}\n{step.code.rstrip()}")
    return EXIT_OK


def _variant_json(variant: RecordedVariant) -> dict[str, Any]:
    return {
        "workflow": variant.workflow,
        "variant": variant.name,
        "hash": variant.identity,
        "tags": list(variant.tags),
        "notes": dict(variant.notes),
        "created": variant.created,
        "parent": f"v{variant.parent}" if variant.parent is not None else None,
        "changed_steps": list(variant.changed_steps),
        "params": dict(variant.params),
        "metrics": dict(variant.metrics),
        "steps": [
            {
                "step": step.step,
                "key": step.key,
                "code": step.code,
                "params": dict(step.params),
                "metrics": dict(step.metrics),
                "series": {name: [list(point) for point in points] for name, points in step.series.items()},
                "inputs": dict(step.inputs),
                "outputs": dict(step.outputs),
                "duration_s": step.duration_s,
                "started": step.started,
                "branches": step.branches,
            }
            for step in variant.steps
        ],
    }


def _diff(args: argparse.Namespace) -> int:
    old = variant_of(args, args.ref1, read_only=True)
    new = variant_of(args, args.ref2, default_workflow=old.workflow, read_only=True)
    diff = new.diff(old)
    if args.json:
        payload = {
            "old": f"{old.workflow}/{old.name}",
            "new": f"{new.workflow}/{new.name}",
            "params": {k: list(v) for k, v in diff.params.items()},
            "metrics": {k: list(v) for k, v in diff.metrics.items()},
            "changed_steps": diff.changed_steps,
            "code": {step: diff.code[step] for step in diff.changed_steps},
            "branches": {step: list(pair) for step, pair in diff.branches.items()},
        }
        print(json.dumps(payload, default=str))
    else:
        print(diff)
    return EXIT_OK


def _replay(args: argparse.Namespace) -> int:
    from wfnb.frontends import api
    from wfnb.history.params import parse_overrides

    try:
        overrides = parse_overrides(args.param)
    except BadArgument as error:
        raise UsageProblem(str(error)) from None
    variant = variant_of(args, args.ref)
    overrides = parse_overrides(args.param, variant.params)  # a string parameter takes the word as typed
    if args.check:
        if overrides:
            raise UsageProblem("--check replays a variant as it was recorded: give no -p overrides with it.")
        from wfnb.history.workers import recording_like_a_kernel

        # displays and figures are recorded as the notebook's kernel recorded them, to compare
        with recording_like_a_kernel(), contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            report = variant.replay(check=True)
        print(json.dumps(report.to_json(), default=str) if args.json else report.summary())
        return EXIT_OK if report.ok else EXIT_PROBLEM
    before = set(api.variants(variant.workflow, store=args.store)["variant"])
    # progress lines are for people: with --json, stdout carries the result only
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        made = variant.replay(**overrides)
    new = made.name not in before
    if args.json:
        print(json.dumps({
            "from": f"{variant.workflow}/{variant.name}", "workflow": made.workflow, "variant": made.name,
            "new": new, "hash": made.identity, "params": dict(made.params), "metrics": dict(made.metrics),
        }, default=str))
    else:
        print(f"replayed {variant.workflow}/{variant.name} → {made.name}" + (" (new variant)" if new else " (already recorded)"))
        if made.metrics:
            print(f"  metrics  {pairs(made.metrics)}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from wfnb.history.exports import export_kind, export_variant

    try:
        export_kind(args.to)
    except BadArgument as error:
        raise UsageProblem(f"--to {error}") from None
    variant = variant_of(args, args.ref, read_only=True)
    what = export_variant(variant, args.to, overwrite=args.force)
    if args.json:
        target = Path(args.to)
        print(json.dumps({"workflow": variant.workflow, "variant": variant.name, "path": str(target.absolute()), "format": target.suffix[1:]}))
    else:
        print(f"wrote {args.to}: {variant.workflow}/{variant.name} as a {what}")
    return EXIT_OK


def _is_current(args: argparse.Namespace, variant: RecordedVariant) -> bool:
    from wfnb.frontends import api

    table = api.variants(variant.workflow, store=looking(args))
    row = table[table["variant"] == variant.name]
    return bool(len(row)) and row["status"].iloc[0] == "current"


def _curve(values: list[Any]) -> str:
    """A series in one line: every value when few, else the first three, an ellipsis and the last two."""
    shown = [repr(v) for v in values]
    return ", ".join(shown) if len(shown) <= 6 else ", ".join(shown[:3]) + ", …, " + ", ".join(shown[-2:])


def _why(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    store = looking(args)
    if len(args.names) > 2 or (len(args.names) == 2 and args.workflow):
        raise UsageProblem(f"give one step, and its workflow with -w: wfnb why STEP -w WORKFLOW (got {' '.join(args.names)}).")
    step = args.names[-1]
    workflow = args.names[0] if len(args.names) == 2 else args.workflow or only_workflow(store, f"wfnb why {step} -w WORKFLOW")
    explanation = api.why(step, workflow, store=store)
    print(json.dumps(explanation.to_json()) if args.json else explanation)
    return EXIT_OK


def _check_cache(args: argparse.Namespace) -> int:
    from wfnb.frontends.check import check_cache

    if args.timeout <= 0:
        raise UsageProblem(f"--timeout {args.timeout:g}: give the seconds each cell may run, more than 0.")
    if not Path(args.notebook).is_file() or Path(args.notebook).suffix != ".ipynb":
        problem = "there is no such file" if not Path(args.notebook).exists() else "it is not a notebook file (.ipynb)"
        raise UsageProblem(f"cannot check {args.notebook}: {problem}. Give the path of a Jupyter notebook, "
                            "e.g. wfnb check-cache analysis.ipynb.")
    quiet = args.quiet or args.json
    report = check_cache(args.notebook, timeout=args.timeout,
                         progress=None if quiet else (lambda line: print(line, file=sys.stderr, flush=True)))
    print(json.dumps(report.to_json()) if args.json else report)
    return report.exit_code


# -- the store -------------------------------------------------------------------


def _runs(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    table = api.runs(looking(args))
    if args.json:
        print(table.to_json(orient="records", date_format="iso"))
    elif table.empty:
        print("no runs in this store yet")
    else:
        shown = table.assign(outputs=table["outputs"].map(", ".join), key=table["key"].str[:10])
        print(shown.to_string(index=False, max_colwidth=40))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from wfnb.frontends import upkeep

    report = upkeep.verify(args.store)
    if args.json:
        print(json.dumps({"checked": report.checked, "ok": report.ok, "problems": [list(p) for p in report.problems]}))
    else:
        print(report.summary())
    return EXIT_OK if report.ok else EXIT_PROBLEM
