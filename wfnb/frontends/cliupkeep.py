"""The ``wfnb`` subcommands that tend a history and its store: tag, rm, rename, checkout, pin, unpin, gc, du.

Each uses the public API or one history function, like ``wfnb.frontends.cli``,
whose ``main`` adds them (``add_upkeep_commands``); the shared pieces are in
``wfnb.frontends.cliparts``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wfnb.errors import BadArgument
from wfnb.frontends.cliparts import (
    EXIT_OK,
    EXIT_PROBLEM,
    UsageProblem,
    command,
    looking,
    only_workflow,
    ref_arguments,
    seconds,
    variant_list,
    variant_of,
    whole_number,
)


def add_upkeep_commands(commands: Any) -> None:
    """Add this module's subcommands to the ``wfnb`` parser's ``commands``."""
    sub = command(commands, "gc", _gc, "remove what no step record and no kept variant needs; with bounds, older variants' values")
    sub.add_argument(
        "--grace", type=seconds, default=3600.0, metavar="SECONDS",
        help="keep records and objects written or used in the last SECONDS, for writers still at work (default 3600)",
    )
    sub.add_argument("--keep-last", type=whole_number, metavar="N",
                     help="per workflow, the N newest variants keep their values (pinned, tagged and current ones always do)")
    sub.add_argument("--max-size", metavar="SIZE",
                     help="then let older values and cache entries go until the store takes at most SIZE (20GB, 500MB)")
    sub.add_argument("--dry-run", action="store_true", help="only show what would be removed")

    sub = command(commands, "pin", _pin, "keep everything a variant needs, whatever `wfnb gc` removes")
    ref_arguments(sub, "ref")
    sub.add_argument("--note", help="why it is pinned")
    sub = command(commands, "unpin", _unpin, "let `wfnb gc` remove a variant's values again")
    ref_arguments(sub, "ref")

    sub = command(commands, "tag", _tag, "name a variant (tags are unique per workflow)")
    ref_arguments(sub, "ref")
    sub.add_argument("name", help="the tag, e.g. baseline")
    sub.add_argument("--note", help="why it is tagged")

    sub = command(commands, "rm", _rm, "remove variants (or, with --all, a whole workflow); `wfnb gc` frees their values later")
    sub.add_argument("refs", nargs="*", metavar="REF", help="a variant: v3, a tag, a hash prefix, or WORKFLOW/v3")
    sub.add_argument("-w", "--workflow", help="the workflow, when several have such a variant (with --all: the one to remove)")
    sub.add_argument("--all", action="store_true", help="remove the whole workflow given with -w: every variant, tag and pointer")

    sub = command(commands, "rename", _rename, "rename a tag (rename tag OLD NEW -w WORKFLOW) or a workflow (rename workflow OLD NEW)")
    sub.add_argument("kind", choices=("tag", "workflow"), help="what to rename")
    sub.add_argument("old", help="its name now")
    sub.add_argument("new", help="its new name")
    sub.add_argument("-w", "--workflow", help="the tag's workflow (default: the store's only workflow)")

    sub = command(commands, "checkout", _checkout,
                  "make a variant the workflow's current one (a new kernel starts from it) and print its cells, "
                  "or write them as a notebook with --to")
    ref_arguments(sub, "ref")
    sub.add_argument("--to", metavar="PATH.ipynb", help="write the variant's cells as a notebook there")
    sub.add_argument("--force", action="store_true", help="replace the file if it exists")

    sub = command(commands, "du", _du, "what each variant (and step) holds in the store, and what dropping its values would free")
    sub.add_argument("workflow", nargs="?", help="a workflow's name (default: every workflow)")
    sub.add_argument("--steps", action="store_true", help="one line per step")


def _gc(args: argparse.Namespace) -> int:
    from wfnb.cache.statusline import format_size
    from wfnb.frontends import upkeep
    from wfnb.history.retention import parse_size

    try:
        limit = parse_size(args.max_size) if args.max_size is not None else None
    except BadArgument as error:
        raise UsageProblem(f"--max-size {error}") from None
    report = upkeep.gc(args.store, grace=args.grace, dry_run=args.dry_run, keep_last=args.keep_last, max_size=limit)
    if args.json:
        print(json.dumps({
            "removed": [list(item) for item in report.removed], "freed": report.freed, "kept": report.kept,
            "recent": report.recent, "dry_run": report.dry_run, "problems": list(report.problems),
            "records_removed": list(report.records_removed), "dropped": list(report.dropped), "kept_bytes": report.kept_bytes,
            "cache_freed": report.cache_freed, "short_of": report.short_of,
            "kept_variants": [{"variant": ref, "why": why} for ref, why in report.kept_why],
        }))
    else:
        for problem in report.problems:
            print(f"wfnb gc: {problem}", file=sys.stderr)
        verb = "would remove" if report.dry_run else "removed"
        if report.dropped:  # in variants first: what a person decides on (the objects are in --json)
            print(f"the values of {variant_list(report.dropped)} {'would be' if report.dry_run else 'were'} let go "
                  "(their code, parameters and metrics stay: `wfnb replay` computes their values again)")
        elif args.keep_last is not None or args.max_size is not None:
            print(f"no variant's values {'would be' if report.dry_run else 'were'} let go")
        if report.kept_why:
            print(f"{'would keep' if report.dry_run else 'kept'} the values of {_kept_list(report.kept_why, args.grace)}")
        count = len(report.removed)
        print(
            f"{verb} {count} unreferenced object{'s' if count != 1 else ''}, {format_size(report.freed)}; "
            f"kept {report.kept} in use and {report.recent} younger than the grace period ({args.grace:g} s)"
        )
        if report.records_removed:
            print(f"{verb} {len(report.records_removed)} cache entr{'ies' if len(report.records_removed) != 1 else 'y'} no kept variant uses")
        if report.cache_freed:
            print(f"pruned {format_size(report.cache_freed)} from this machine's read cache of the store")
        print(f"the store's objects now take {format_size(report.kept_bytes)}")
        if report.short_of:
            print(f"wfnb gc: {format_size(report.short_of)} over --max-size {args.max_size}: pinned, tagged, current and "
                  "recent variants need that much; unpin or untag some to go lower", file=sys.stderr)
    return EXIT_PROBLEM if report.problems else EXIT_OK


def _kept_list(kept: tuple[tuple[str, str], ...], grace: float) -> str:
    """``v5, v6 of nb (one of the 2 newest); v1 of nb (tagged)``: each reason once, with its variants."""
    by_reason: dict[str, list[str]] = {}
    for ref, why in kept:
        by_reason.setdefault(why, []).append(ref)
    parts = []
    for why, refs in by_reason.items():
        if why == "made within the grace period":
            why += f" of {grace:g} s: give a shorter --grace to let them go"
        parts.append(f"{variant_list(tuple(refs))} ({why})")
    return "; ".join(parts)


def _pin(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    variant = variant_of(args, args.ref)
    pinned = api.pin(variant.number, args.note, variant.workflow, store=args.store)
    print(json.dumps({"workflow": pinned.workflow, "variant": pinned.name, "pinned": True}) if args.json
          else f"pinned {pinned.workflow}/{pinned.name}: wfnb gc keeps what it needs")
    return EXIT_OK


def _unpin(args: argparse.Namespace) -> int:
    from wfnb.frontends import api

    variant = variant_of(args, args.ref)
    unpinned = api.unpin(variant.number, variant.workflow, store=args.store)
    print(json.dumps({"workflow": unpinned.workflow, "variant": unpinned.name, "pinned": False}) if args.json
          else f"unpinned {unpinned.workflow}/{unpinned.name}")
    return EXIT_OK


def _tag(args: argparse.Namespace) -> int:
    from wfnb.frontends import api
    from wfnb.history.snapshots import tag_variant

    variant = variant_of(args, args.ref)
    tag_variant(variant._store(), variant, args.name, args.note)
    tagged = api.variant(variant.number, variant.workflow, store=variant._store())
    print(json.dumps({"workflow": tagged.workflow, "variant": tagged.name, "tags": list(tagged.tags)}) if args.json
          else f"tagged {tagged.workflow}/{tagged.name} as {args.name}")
    return EXIT_OK


def _rm(args: argparse.Namespace) -> int:
    from wfnb.history.housekeeping import check_removable, remove_variant, remove_workflow
    from wfnb.history.session import resolve_store

    if args.all:
        if args.refs or not args.workflow:
            raise UsageProblem("--all removes a whole workflow: give it with -w and no variants (wfnb rm --all -w NAME).")
        store = resolve_store(args.store, create=False)
        count = remove_workflow(store, args.workflow)
        print(json.dumps({"workflow": args.workflow, "removed": count}) if args.json else
              f"removed workflow {args.workflow} ({count} variant{'s' if count != 1 else ''}); "
              "`wfnb gc` frees the values nothing else keeps")
        return EXIT_OK
    if not args.refs:
        raise UsageProblem("give the variants to remove (wfnb rm v3 v4), or a whole workflow with --all -w NAME.")
    variants = [variant_of(args, ref) for ref in args.refs]  # every name resolved and checked before any is removed
    for variant in variants:
        check_removable(variant._store(), variant)
    done = []
    for variant in variants:
        said = remove_variant(variant._store(), variant)
        done.append({"workflow": variant.workflow, "variant": variant.name, "also": said})
        if not args.json:
            print(f"removed {variant.workflow}/{variant.name}" + (f" ({'; '.join(said)})" if said else ""))
    if args.json:
        print(json.dumps(done))
    else:
        print("its values stay until `wfnb gc` finds nothing else keeps them (after its grace period)"
              if len(done) == 1 else "their values stay until `wfnb gc` finds nothing else keeps them (after its grace period)")
    return EXIT_OK


def _rename(args: argparse.Namespace) -> int:
    from wfnb.history.housekeeping import rename_tag, rename_workflow
    from wfnb.history.session import resolve_store

    store = resolve_store(args.store, create=False)
    if args.kind == "workflow":
        if args.workflow:
            raise UsageProblem("rename workflow OLD NEW takes no -w: OLD names the workflow.")
        count = rename_workflow(store, args.old, args.new)
        print(json.dumps({"workflow": args.new, "from": args.old, "variants": count}) if args.json else
              f"renamed workflow {args.old} to {args.new} ({count} variant{'s' if count != 1 else ''}); a notebook "
              f"named {args.old} continues it after `%wfnb workflow {args.new}`")
        return EXIT_OK
    workflow = args.workflow or only_workflow(store, f"wfnb rename tag {args.old} {args.new} -w WORKFLOW")
    variant = rename_tag(store, workflow, args.old, args.new)
    print(json.dumps({"workflow": workflow, "variant": variant.name, "tags": list(variant.tags)}) if args.json else
          f"renamed tag {args.old} of {workflow} to {args.new} ({variant.name})")
    return EXIT_OK


def _checkout(args: argparse.Namespace) -> int:
    from wfnb.history.exports import export_variant
    from wfnb.history.snapshots import set_current

    if args.to is not None and Path(args.to).suffix.lower() != ".ipynb":
        raise UsageProblem(f"--to {args.to}: checkout writes a notebook; give a path ending in .ipynb (or use wfnb export).")
    variant = variant_of(args, args.ref)
    if args.to is not None:
        export_variant(variant, args.to, overwrite=args.force)
    set_current(variant._store(), variant.workflow, variant.number)
    if args.json:
        print(json.dumps({"workflow": variant.workflow, "variant": variant.name, "current": True, "path": args.to,
                          "cells": None if args.to else variant.cells()}))
    elif args.to:
        print(f"wrote {args.to}: the cells of {variant.workflow}/{variant.name}, now its current variant "
              "(a new kernel starts from it; its steps are restored from the cache)")
    else:
        print(f"# {variant.workflow}/{variant.name} is now the current variant: a new kernel starts from it. Its cells:\n")
        print(variant.cells())
    return EXIT_OK


def _du(args: argparse.Namespace) -> int:
    from wfnb.cache.statusline import format_size
    from wfnb.frontends import upkeep

    table = upkeep.disk_usage(args.workflow, store=looking(args), steps=args.steps)
    if args.json:
        print(table.to_json(orient="records"))
        return EXIT_OK
    if table.empty:
        print("no variants in this store yet")
        return EXIT_OK
    shown = table.assign(bytes=table["bytes"].map(format_size), only_here=table["only_here"].map(format_size),
                         pinned=table["pinned"].map({True: "pinned", False: ""}))
    print(shown.to_string(index=False))
    total = looking(args).disk_usage()
    print(f"\nthe store's objects take {format_size(total)} in all; bytes counts shared objects in every variant that needs "
          "them, only_here is what letting a variant's values go would free")
    return EXIT_OK
