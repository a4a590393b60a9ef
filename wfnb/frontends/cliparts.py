"""What every ``wfnb`` subcommand shares: exit codes, the usage error, argument types, and how a command
finds its store and its variants (``wfnb.frontends.cli`` and ``wfnb.frontends.cliupkeep`` use them)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wfnb.errors import WfnbError

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant
    from wfnb.store import Store


EXIT_OK, EXIT_PROBLEM, EXIT_USAGE = 0, 1, 2


class UsageProblem(WfnbError):
    """The command line itself is wrong (exit 2), found after argparse accepted it."""


def command(commands: Any, name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=help_text, description=help_text)
    # global options are also accepted after the command (`wfnb list --json --store x`), and kept if absent there
    sub.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")
    sub.add_argument("--store", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub.set_defaults(handler=handler)
    return sub


def ref_arguments(sub: argparse.ArgumentParser, *names: str) -> None:
    for name in names:
        sub.add_argument(name, help="a variant: v3, a tag, a hash prefix, or WORKFLOW/v3")
    sub.add_argument("-w", "--workflow", help="the workflow, when several have such a variant")


def column_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r}: give column names separated by commas, e.g. variant,window,sharpe")
    return names


def non_negative(convert: Callable[[str], Any], what: str) -> Callable[[str], Any]:
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


whole_number = non_negative(int, "a whole number")
seconds = non_negative(float, "a number of seconds")


def variant_of(args: argparse.Namespace, ref: str, default_workflow: str | None = None, *, read_only: bool = False) -> RecordedVariant:
    """The variant ``ref`` names; ``read_only``: from the store opened read-only (the command changes nothing)."""
    from wfnb.frontends import api

    workflow = args.workflow or (default_workflow if "/" not in ref else None)
    return api.variant(ref, workflow, store=looking(args) if read_only else args.store)


def looking(args: argparse.Namespace) -> Store:
    """The store, opened read-only, for a command that only looks: it writes nothing, not even to set a
    damaged file aside (that is `wfnb verify`'s explicit job)."""
    from wfnb.store import open_store

    if getattr(args, "_looking_store", None) is None:
        args._looking_store = open_store(args.store, create=False, write=False)
    return args._looking_store


def pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items()) or "—"


def only_workflow(store: Store, usage: str) -> str:
    """The store's one workflow, for a command given none; a usage problem if it has several or none."""
    from wfnb.history.snapshots import workflows

    names = workflows(store)
    if len(names) == 1:
        return names[0]
    raise UsageProblem(
        f"this store has {'no workflow yet' if not names else 'several workflows: ' + ', '.join(names)}; "
        f"name one: {usage}."
    )


def variant_list(refs: tuple[str, ...]) -> str:
    """``v1, v2 and v4 of nb; v1 of prep``."""
    by_workflow: dict[str, list[str]] = {}
    for ref in refs:
        workflow, _, name = ref.rpartition("/")
        by_workflow.setdefault(workflow, []).append(name)
    return "; ".join(f"{', '.join(names)} of {workflow}" for workflow, names in by_workflow.items())
