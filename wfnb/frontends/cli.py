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
from typing import TYPE_CHECKING, Any, Callable

from wfnb.errors import BadArgument, WfnbError

if TYPE_CHECKING:
    from wfnb.history.records import Variant

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class _UsageProblem(WfnbError):
    """The command line itself is wrong (exit 2), found after argparse accepted it."""


def main(argv: list[str] | None = None) -> int:
    """Run the ``wfnb`` command with ``argv`` (default: the process arguments); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except _UsageProblem as error:
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

    sub = _command(commands, "list", _list, "the variants of one workflow, or of all of them, as a table that fits the terminal")
    sub.add_argument("workflow", nargs="?", help="a workflow's name (default: every workflow)")
    sub.add_argument("-c", "--columns", type=_names, metavar="A,B,...",
                     help="the columns to show, in order: variant, tag, created, parent, changed_steps, status, hash, "
                          "workflow, and any parameter or metric")
    sub.add_argument("--sort-by", metavar="COLUMN", help="sort by a column, e.g. a metric (variants without it last)")
    sub.add_argument("--desc", action="store_true", help="sort in descending order (with --sort-by)")
    sub.add_argument("-n", type=_count, metavar="N", help="show N variants: the first N when sorted, else the N newest")
    sub.add_argument("--only-changed", action="store_true", help="only the parameters and metrics that differ between the variants shown")
    sub.add_argument("--width", type=_count, metavar="CHARS",
                     help="fit the table in this many characters (default: the terminal's width; no limit when piped)")

    sub = _command(commands, "show", _show, "one variant: parameters, metrics, steps")
    _ref_arguments(sub, "ref")
    sub.add_argument("--code", action="store_true", help="also print each step's code")

    sub = _command(commands, "diff", _diff, "what changed from REF1 to REF2: parameters, metrics, code")
    _ref_arguments(sub, "ref1", "ref2")

    sub = _command(commands, "replay", _replay, "re-run a variant's own code, through the cache, with new parameters")
    _ref_arguments(sub, "ref")
    sub.add_argument(
        "-p", "--param", action="append", default=[], metavar="NAME=VALUE",
        help="override a parameter; the value is read as JSON if it can be (30, 0.5, true, [1, 2]), else as text",
    )
    sub.add_argument("--check", action="store_true",
                     help="run every step again without the cache and compare its outputs with the recorded ones "
                          "(exit 1 if a step gives other outputs: it is marked nondeterministic)")

    sub = _command(commands, "export", _export, "write a variant as a notebook (.ipynb), a script (.py) or a table (.csv)")
    _ref_arguments(sub, "ref")
    sub.add_argument("--to", required=True, metavar="PATH", help="the file to write: .ipynb, .py or .csv")
    sub.add_argument("--force", action="store_true", help="replace the file if it exists")

    sub = _command(commands, "why", _why, "why a step last ran (what changed, by how much), or which stored result it used")
    sub.add_argument("workflow", help="the workflow's name (see `wfnb list`)")
    sub.add_argument("step", help="the step's name")

    _command(commands, "runs", _runs, "every step execution, newest last")
    _command(commands, "verify", _verify, "check every object against its checksum (exit 1 if any is damaged)")

    sub = _command(commands, "gc", _gc, "remove what no step record and no kept variant needs; with bounds, older variants' values")
    sub.add_argument(
        "--grace", type=_seconds, default=3600.0, metavar="SECONDS",
        help="keep records and objects written or used in the last SECONDS, for writers still at work (default 3600)",
    )
    sub.add_argument("--keep-last", type=_count, metavar="N",
                     help="per workflow, the N newest variants keep their values (pinned, tagged and current ones always do)")
    sub.add_argument("--max-size", metavar="SIZE",
                     help="then let older values and cache entries go until the store takes at most SIZE (20GB, 500MB)")
    sub.add_argument("--dry-run", action="store_true", help="only show what would be removed")

    sub = _command(commands, "pin", _pin, "keep everything a variant needs, whatever `wfnb gc` removes")
    _ref_arguments(sub, "ref")
    sub.add_argument("--note", help="why it is pinned")
    sub = _command(commands, "unpin", _unpin, "let `wfnb gc` remove a variant's values again")
    _ref_arguments(sub, "ref")

    sub = _command(commands, "check-cache", _check_cache,
                   "run a notebook with and without the cache in fresh kernels, before and after automatic edits, "
                   "and report where they differ (exit 1 if they do, or if a step re-ran needlessly)")
    sub.add_argument("notebook", help="the notebook (.ipynb); its folder is copied, never changed")
    sub.add_argument("--timeout", type=_seconds, default=120.0, metavar="SECONDS",
                     help="seconds each cell may run (default 120)")
    sub.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    sub = _command(commands, "du", _du, "what each variant (and step) holds in the store, and what dropping its values would free")
    sub.add_argument("workflow", nargs="?", help="a workflow's name (default: every workflow)")
    sub.add_argument("--steps", action="store_true", help="one line per step")
    return parser


def _command(commands: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=help_text, description=help_text)
    # global options are also accepted after the command (`wfnb list --json --store x`), and kept if absent there
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    sub.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub.set_defaults(handler=handler)
    return sub


def _ref_arguments(sub: argparse.ArgumentParser, *names: str) -> None:
    for name in names:
        sub.add_argument(name, help="a variant: v3, a tag, a hash prefix, or WORKFLOW/v3")
    sub.add_argument("-w", "--workflow", help="the workflow, when several have such a variant")


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r}: give column names separated by commas, e.g. variant,window,sharpe")
    return names


def _non_negative(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, which must be a number ``>= 0`` (NaN is refused too)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value >= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: {what} cannot be negative")
        return value

    return parse


_count = _non_negative(int, "a whole number")
_seconds = _non_negative(float, "a number of seconds")


# -- variants -------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from wfnb.frontends.listing import render_table, select_rows, variant_rows
    from wfnb.history.session import resolve_store

    store = resolve_store(args.store, create=False)
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
        raise _UsageProblem(str(error)) from None
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
    variant = _variant(args, args.ref)
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
    print(f"  params   {_pairs(variant.params)}")
    print(f"  metrics  {_pairs(variant.metrics)}")
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


def _variant_json(variant: Variant) -> dict[str, Any]:
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
    old = _variant(args, args.ref1)
    new = _variant(args, args.ref2, default_workflow=old.workflow)
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
        raise _UsageProblem(str(error)) from None
    variant = _variant(args, args.ref)
    overrides = parse_overrides(args.param, variant.params)  # a string parameter takes the word as typed
    if args.check:
        if overrides:
            raise _UsageProblem("--check replays a variant as it was recorded: give no -p overrides with it.")
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
            print(f"  metrics  {_pairs(made.metrics)}")
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from wfnb.history.exports import export_kind, export_variant

    try:
        export_kind(args.to)
    except BadArgument as error:
        raise _UsageProblem(f"--to {error}") from None
    variant = _variant(args, args.ref)
    what = export_variant(variant, args.to, overwrite=args.force)
    if args.json:
        target = Path(args.to)
        print(json.dumps({"workflow": variant.workflow, "variant": variant.name, "path": str(target.absolute()), "format": target.suffix[1:]}))
    else:
        print(f"wrote {args.to}: {variant.workflow}/{variant.name} as a {what}")
    return EXIT_OK


def _variant(args: argparse.Namespace, ref: str, default_workflow: str | None = None) -> Variant:
    from wfnb.frontends import api

    workflow = args.workflow or (default_workflow if "/" not in ref else None)
    return api.variant(ref, workflow, store=args.store)


def _is_current(args: argparse.Namespace, variant: Variant) -> bool:
    from wfnb.frontends import api

    table = api.variants(variant.workflow, store=args.store)
    row = table[table["variant"] == variant.name]
    return bool(len(row)) and row["status"].iloc[0] == "current"


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "—"


def _why(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    explanation = api.why(args.step, args.workflow, store=args.store)
    print(json.dumps(explanation.to_json()) if args.json else explanation)
    return EXIT_OK


def _check_cache(args: argparse.Namespace) -> int:
    from wfnb.frontends.check import check_cache

    if args.timeout <= 0:
        raise _UsageProblem(f"--timeout {args.timeout:g}: give the seconds each cell may run, more than 0.")
    if not Path(args.notebook).is_file() or Path(args.notebook).suffix != ".ipynb":
        problem = "there is no such file" if not Path(args.notebook).exists() else "it is not a notebook file (.ipynb)"
        raise _UsageProblem(f"cannot check {args.notebook}: {problem}. Give the path of a Jupyter notebook, "
                            "e.g. wfnb check-cache analysis.ipynb.")
    quiet = args.quiet or args.json
    report = check_cache(args.notebook, timeout=args.timeout,
                         progress=None if quiet else (lambda line: print(line, file=sys.stderr, flush=True)))
    print(json.dumps(report.to_json()) if args.json else report)
    return report.exit_code


# -- the store -------------------------------------------------------------------


def _runs(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    table = api.runs(args.store)
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


def _gc(args: argparse.Namespace) -> int:
    from wfnb.cache.statusline import format_size
    from wfnb.frontends import upkeep
    from wfnb.history.retention import parse_size

    try:
        limit = parse_size(args.max_size) if args.max_size is not None else None
    except BadArgument as error:
        raise _UsageProblem(f"--max-size {error}") from None
    report = upkeep.gc(args.store, grace=args.grace, dry_run=args.dry_run, keep_last=args.keep_last, max_size=limit)
    if args.json:
        print(json.dumps({
            "removed": [list(item) for item in report.removed], "freed": report.freed, "kept": report.kept,
            "recent": report.recent, "dry_run": report.dry_run, "problems": list(report.problems),
            "records_removed": list(report.records_removed), "dropped": list(report.dropped), "kept_bytes": report.kept_bytes,
            "cache_freed": report.cache_freed, "short_of": report.short_of,
        }))
    else:
        for problem in report.problems:
            print(f"wfnb gc: {problem}", file=sys.stderr)
        verb = "would remove" if report.dry_run else "removed"
        if report.dry_run:
            for digest, size in report.removed:
                print(f"{digest}  {format_size(size)}")
        count = len(report.removed)
        print(
            f"{verb} {count} unreferenced object{'s' if count != 1 else ''}, {format_size(report.freed)}; "
            f"kept {report.kept} in use and {report.recent} younger than the grace period ({args.grace:g} s)"
        )
        if report.dropped:
            print(f"the values of {_variant_list(report.dropped)} {'would be' if report.dry_run else 'were'} let go "
                  "(their code, parameters and metrics stay: `wfnb replay` computes their values again)")
        if report.records_removed:
            print(f"{verb} {len(report.records_removed)} cache entr{'ies' if len(report.records_removed) != 1 else 'y'} no kept variant uses")
        if report.cache_freed:
            print(f"pruned {format_size(report.cache_freed)} from this machine's read cache of the store")
        print(f"the store's objects now take {format_size(report.kept_bytes)}")
        if report.short_of:
            print(f"wfnb gc: {format_size(report.short_of)} over --max-size {args.max_size}: pinned, tagged, current and "
                  "recent variants need that much; unpin or untag some to go lower", file=sys.stderr)
    return EXIT_PROBLEM if report.problems else EXIT_OK


def _variant_list(refs: tuple[str, ...]) -> str:
    """``v1, v2 and v4 of nb; v1 of prep``."""
    by_workflow: dict[str, list[str]] = {}
    for ref in refs:
        workflow, _, name = ref.rpartition("/")
        by_workflow.setdefault(workflow, []).append(name)
    return "; ".join(f"{', '.join(names)} of {workflow}" for workflow, names in by_workflow.items())


def _pin(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    variant = _variant(args, args.ref)
    pinned = api.pin(variant.number, args.note, variant.workflow, store=args.store)
    print(json.dumps({"workflow": pinned.workflow, "variant": pinned.name, "pinned": True}) if args.json
          else f"pinned {pinned.workflow}/{pinned.name}: wfnb gc keeps what it needs")
    return EXIT_OK


def _unpin(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    variant = _variant(args, args.ref)
    unpinned = api.unpin(variant.number, variant.workflow, store=args.store)
    print(json.dumps({"workflow": unpinned.workflow, "variant": unpinned.name, "pinned": False}) if args.json
          else f"unpinned {unpinned.workflow}/{unpinned.name}")
    return EXIT_OK


def _du(args: argparse.Namespace) -> int:
    from wfnb.cache.statusline import format_size
    from wfnb.frontends import upkeep
    from wfnb.history.session import resolve_store

    table = upkeep.disk_usage(args.workflow, store=args.store, steps=args.steps)
    if args.json:
        print(table.to_json(orient="records"))
        return EXIT_OK
    if table.empty:
        print("no variants in this store yet")
        return EXIT_OK
    shown = table.assign(bytes=table["bytes"].map(format_size), only_here=table["only_here"].map(format_size),
                         pinned=table["pinned"].map({True: "pinned", False: ""}))
    print(shown.to_string(index=False))
    total = resolve_store(args.store, create=False).disk_usage()
    print(f"\nthe store's objects take {format_size(total)} in all; bytes counts shared objects in every variant that needs "
          "them, only_here is what letting a variant's values go would free")
    return EXIT_OK
