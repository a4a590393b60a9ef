"""The ``wfnb`` command: look at a store from a terminal or a script.

One function per subcommand, each using the public Python API only. Errors are
one paragraph on stderr with a nonzero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from wfnb.errors import WfnbError

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Run the ``wfnb`` command with ``argv`` (default: the process arguments); return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return args.handler(args)
    except WfnbError as error:
        print(f"wfnb: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        print("wfnb: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wfnb", description="Look at a wfnb store: runs, variants, integrity.")
    parser.add_argument("--store", help="store location (default: $WFNB_STORE, else ./.wfnb)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    _command(commands, "runs", _runs, "every step execution, newest last")
    _command(commands, "verify", _verify, "check every object against its checksum (exit 1 if any is damaged)")
    return parser


def _command(commands, name: str, handler: Callable[[argparse.Namespace], int], help_text: str):
    sub = commands.add_parser(name, help=help_text, description=help_text)
    sub.add_argument("--json", action="store_true", help="machine-readable output")
    sub.set_defaults(handler=handler)
    return sub


def _runs(args: argparse.Namespace) -> int:
    import wfnb

    table = wfnb.runs(args.store)
    if args.json:
        print(table.to_json(orient="records", date_format="iso"))
    elif table.empty:
        print("no runs in this store yet")
    else:
        shown = table.assign(outputs=table["outputs"].map(", ".join), key=table["key"].str[:10])
        print(shown.to_string(index=False, max_colwidth=40))
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    import wfnb

    report = wfnb.verify(args.store)
    if args.json:
        print(json.dumps({"checked": report.checked, "ok": report.ok, "problems": [list(p) for p in report.problems]}))
    else:
        for path, reason in report.problems:
            print(f"damaged: {path}: {reason}")
        verdict = "clean" if report.ok else f"{len(report.problems)} damaged (moved to corrupt/; their steps re-run)"
        print(f"checked {report.checked} files: {verdict}")
    return EXIT_OK if report.ok else EXIT_PROBLEM
