"""``%%step`` and ``%wfnb``: parse arguments, hand over to the session, translate errors.

Every wfnb error becomes exactly ``UsageError(message)``: IPython prints that
class as one line, with no traceback through wfnb's internals.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from wfnb.analysis import needs_await
from wfnb.errors import WfnbError
from wfnb.names import check_name
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
            options = _step_options(self.step, line)
            self.session.run_step(options, cell)
        except WfnbError as error:
            raise UsageError(str(error)) from None

    async def step_async(self, line: str, cell: str) -> None:
        """``%%step`` for a cell with top-level ``await`` (see ``await_transformer``)."""
        try:
            options = _step_options(self.step, line)
            await self.session.run_step_async(options, cell)
        except WfnbError as error:
            raise UsageError(str(error)) from None

    @line_magic
    def wfnb(self, line: str) -> None:
        """Configure wfnb: ``%wfnb store [PATH]``, ``%wfnb workflow [NAME]``, ``%wfnb runs``, ``%wfnb verify``."""
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


def _step_options(magic: object, line: str) -> StepOptions:
    try:
        args = parse_argstring(magic, line)
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


def _runs_command(session: Session, arguments: list[str]) -> None:
    from IPython.display import display

    from wfnb.runlog import runs

    display(runs(session.store))


def _verify_command(session: Session, arguments: list[str]) -> None:
    report = session.store.verify()
    print(report.summary() if hasattr(report, "summary") else report)


_COMMANDS = {
    "store": _store_command,
    "workflow": _workflow_command,
    "runs": _runs_command,
    "verify": _verify_command,
}
