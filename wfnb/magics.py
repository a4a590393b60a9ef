"""``%%step`` and ``%wfnb``: parse arguments, hand over to the session, translate errors.

Every wfnb error becomes exactly ``UsageError(message)``: IPython prints that
class as one line, with no traceback through wfnb's internals.
"""

from __future__ import annotations

import argparse
import functools
import shlex
from typing import TYPE_CHECKING

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from wfnb.analysis import needs_await
from wfnb.errors import WfnbError
from wfnb.names import check_name
from wfnb.overrides import parse_overrides
from wfnb.saving import SaveTarget
from wfnb.session import Session, StepOptions

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


@magics_class
class WorkflowMagics(Magics):
    """The notebook side of wfnb."""

    def __init__(self, shell: InteractiveShell, session: Session) -> None:
        super().__init__(shell)
        self.session = session

    @magic_arguments()
    @argument("name", help="the step's name: letters, digits, '_', '-', '.'")
    @argument("--force", action="store_true", help="run even if a cached result exists, and replace it")
    @argument("--no-cache", action="store_true", help="always run (the run is still recorded)")
    @argument("--deps", nargs="+", default=[], metavar="PATH", help="files, directories or globs the step reads")
    @argument(
        "--save",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also write output NAME to PATH (.csv .parquet .json .pkl); {param} placeholders allowed",
    )
    @cell_magic
    def step(self, line: str, cell: str) -> None:
        """Run this cell as a named, cached step of the notebook's workflow.

        A step whose code, inputs, helper functions, package versions and files
        are unchanged is not run again: its variables and outputs are restored.
        """
        try:
            options = _step_options(line)
            self.session.run_step(options, cell)
        except WfnbError as error:
            raise UsageError(str(error)) from None

    @cell_magic
    def params(self, line: str, cell: str) -> None:
        """Define the workflow's parameters: plain assignments such as ``window = 20``.

        The values are bound like in a plain cell; each must be plain JSON data.
        Steps that read a parameter re-run when it changes, and every variant
        records the parameters it was made with.
        """
        if line.strip():
            raise UsageError(f"%%params takes no arguments (got {line.strip()!r}); write the parameters in the cell.")
        try:
            self.session.run_params(cell)
        except WfnbError as error:
            raise UsageError(str(error)) from None

    async def step_async(self, line: str, cell: str) -> None:
        """``%%step`` for a cell with top-level ``await`` (see ``await_transformer``)."""
        try:
            options = _step_options(line)
            await self.session.run_step_async(options, cell)
        except WfnbError as error:
            raise UsageError(str(error)) from None

    @line_magic
    def wfnb(self, line: str) -> None:
        """wfnb commands: store, workflow, status, variants, browse, tag, checkout, replay, forget, runs, verify.

        ``%wfnb store [PATH]`` and ``%wfnb workflow [NAME]`` show or set where results go;
        ``%wfnb status`` lists the steps (fresh, stale, never-run); ``%wfnb variants``
        lists the variants; ``%wfnb browse [WORKFLOW]`` opens the variant browser;
        ``%wfnb tag NAME [--note TEXT]`` names the current one;
        ``%wfnb checkout REF`` restores one into the notebook; ``%wfnb replay REF
        [name=value ...]`` re-runs one in a fresh namespace; ``%wfnb forget STEP``
        drops a step that left the notebook.
        """
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%wfnb {line}: {error}. Quote paths that contain spaces.") from None
        command, arguments = (words[0], words[1:]) if words else ("", [])
        handler = _COMMANDS.get(command)
        if handler is None:
            raise UsageError(
                f"%wfnb {line}: unknown command {command!r}. Use one of: {', '.join(_COMMANDS)} "
                "(e.g. `%wfnb store .wfnb`)."
            )
        try:
            handler(self.session, arguments)
        except WfnbError as error:
            raise UsageError(str(error)) from None


def await_transformer(shell: InteractiveShell):
    """An input transformer that runs ``%%step`` cells using top-level ``await`` on the kernel's loop.

    A cell magic is called synchronously, and the kernel's event loop is already
    running, so the body's ``await`` could not run there. Rewritten as an awaited
    call, the whole cell runs as a coroutine on that loop, as a plain cell would.
    """

    def transform(lines: list[str]) -> list[str]:
        if not lines or not lines[0].startswith("%%step"):
            return lines
        line, body = lines[0][len("%%step"):].strip(), "".join(lines[1:])
        if "await" not in body and "async" not in body:  # the common case, without IPython's full transform
            return lines
        try:
            transformed = shell.transform_cell(body)
        except Exception:  # malformed input: the synchronous path reports it
            return lines
        if not needs_await(transformed):
            return lines
        call = f"get_ipython().magics_manager.registry[{WorkflowMagics.__name__!r}].step_async({line!r}, {body!r})"
        return [f"await {call}\n"]

    transform.wfnb = True
    return transform


@functools.lru_cache(maxsize=256)
def _step_options(line: str) -> StepOptions:
    """The checked options of a ``%%step`` line (kept: the same line gives the same options)."""
    try:
        args = parse_argstring(WorkflowMagics.step, line)
    except UsageError as error:
        raise UsageError(f"%%step {line}: {error}. Usage: %%step NAME [--force] [--no-cache] "
                         "[--deps PATH ...] [--save NAME=PATH ...]") from None
    return StepOptions(
        name=check_name("step", args.name),
        force=args.force,
        no_cache=args.no_cache,
        deps=tuple(args.deps),
        saves=tuple(SaveTarget.parse(text) for text in args.save),
    )


def _store_command(session: Session, arguments: list[str]) -> None:
    if len(arguments) > 1:
        raise UsageError("%wfnb store takes one PATH (quote it if it has spaces).")
    if arguments:
        session.use_store(arguments[0])
    print(f"wfnb store: {session.store.root}")


def _workflow_command(session: Session, arguments: list[str]) -> None:
    if len(arguments) > 1:
        raise UsageError("%wfnb workflow takes one NAME.")
    if arguments:
        session.use_workflow(check_name("workflow", arguments[0]))
    print(f"wfnb workflow: {session.workflow}")


def _browse_command(session: Session, arguments: list[str]) -> None:
    from IPython.display import display

    from wfnb.browser import browse

    if len(arguments) > 1:
        raise UsageError("%wfnb browse takes at most one WORKFLOW (default: this notebook's).")
    display(browse(arguments[0] if arguments else None))


def _runs_command(session: Session, arguments: list[str]) -> None:
    from IPython.display import display

    from wfnb.runlog import runs

    display(runs(session.store))


def _verify_command(session: Session, arguments: list[str]) -> None:
    report = session.store.verify()
    for path, reason in report.problems:
        print(f"damaged: {path}: {reason}")
    print(f"checked {report.checked} files: {'clean' if report.ok else f'{len(report.problems)} damaged'}")


def _status_command(session: Session, arguments: list[str]) -> None:
    rows = session.status_table()
    if not rows:
        print(f"workflow {session.workflow}: no steps yet")
        return
    current = session.state.current
    print(f"workflow {session.workflow}: " + (f"at variant v{current}" if current else "not at a variant (stale or unrun steps)"))
    for step, status, why in rows:
        print(f"  {step:<20} {status:<9} {why}")


def _variants_command(session: Session, arguments: list[str]) -> None:
    from IPython.display import display

    from wfnb.listing import variants_frame

    display(variants_frame(session.store, arguments[0] if arguments else session.workflow))


def _tag_command(session: Session, arguments: list[str]) -> None:
    parser = _ArgumentParser("%wfnb tag")
    parser.add_argument("name")
    parser.add_argument("--note", default=None)
    args = parser.parse(arguments)
    variant = session.tag(check_name("tag", args.name), args.note)
    print(f"tagged {variant.workflow}/{variant.name} as {args.name}")


def _checkout_command(session: Session, arguments: list[str]) -> None:
    if len(arguments) != 1:
        raise UsageError("%wfnb checkout takes one variant: v3, a tag, or a hash prefix.")
    variant = session.checkout(arguments[0])
    print(f"restored {variant.workflow}/{variant.name}; it is now the current variant")


def _replay_command(session: Session, arguments: list[str]) -> None:
    from wfnb.snapshots import resolve

    if not arguments:
        raise UsageError("%wfnb replay takes a variant and optional overrides: %wfnb replay v2 window=30")
    variant = resolve(session.store, arguments[0], session.workflow)
    replayed = variant.replay(**parse_overrides(arguments[1:]))
    print(f"replayed {variant.name} → {replayed.name}")


def _forget_command(session: Session, arguments: list[str]) -> None:
    if len(arguments) != 1:
        raise UsageError("%wfnb forget takes one step name.")
    session.forget(arguments[0])
    print(f"step {arguments[0]} is no longer part of workflow {session.workflow}")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one UsageError instead of exiting."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False)

    def parse(self, arguments: list[str]) -> argparse.Namespace:
        return self.parse_args(arguments)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.format_usage().strip()}: {message}")


_COMMANDS = {
    "store": _store_command,
    "workflow": _workflow_command,
    "status": _status_command,
    "variants": _variants_command,
    "browse": _browse_command,
    "tag": _tag_command,
    "checkout": _checkout_command,
    "replay": _replay_command,
    "forget": _forget_command,
    "runs": _runs_command,
    "verify": _verify_command,
}
