"""``%%step`` and ``%wfnb``: parse arguments, hand over to the session, translate errors.

Every wfnb error becomes exactly ``UsageError(message)``: IPython prints that
class as one line, with no traceback through wfnb's internals.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from wfnb.cache.stepline import step_arguments, step_options
from wfnb.errors import StepInterrupted, WfnbError, check_name

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from wfnb.history.session import Session


@magics_class
class WorkflowMagics(Magics):
    """The notebook side of wfnb."""

    _session: Session | None = None

    @property
    def session(self) -> Session:
        """The shell's session, made on first use: ``%load_ext`` imports none of the cache and store."""
        if self._session is None:
            from wfnb.history.session import current_session, start_session

            found = current_session()
            self._session = found if found is not None and found.shell is self.shell else start_session(self.shell)
        return self._session

    @step_arguments
    @cell_magic
    def step(self, line: str, cell: str) -> None:
        """Run this cell as a named, cached step of the notebook's workflow.

        A step whose code, inputs, helper functions, package versions and files
        are unchanged is not run again: its variables and outputs are restored.
        """
        interrupt = None
        try:
            options = step_options(line)
            self.session.run_step(options, _dedented(cell))
        except StepInterrupted as error:
            interrupt = error.__cause__  # the user's own, shown once, as a plain cell shows it
        except WfnbError as error:
            raise UsageError(str(error)) from None
        if interrupt is not None:
            raise interrupt

    def empty_step(self, line: str) -> None:
        """A ``%%step NAME`` cell with nothing below it: a note, not an error (Run All goes on)."""
        try:
            options = step_options(line)
        except WfnbError as error:
            raise UsageError(str(error)) from None
        self.shell.display_pub.publish(
            {"text/plain": f"step {options.name} · empty: nothing to run (write the step's code below the %%step line)"},
            metadata={"wfnb": "status"},
        )

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
        interrupt = None
        try:
            options = step_options(line)
            await self.session.run_step_async(options, _dedented(cell))
        except StepInterrupted as error:
            interrupt = error.__cause__
        except WfnbError as error:
            raise UsageError(str(error)) from None
        if interrupt is not None:
            raise interrupt

    @line_magic
    def wfnb(self, line: str) -> None:
        """wfnb's commands; ``%wfnb`` alone lists them, each with what it does."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"%wfnb {line}: {error}. Quote paths that contain spaces.") from None
        if not words or words[0] in ("help", "-h", "--help"):
            print(command_help())
            return
        command, arguments = words[0], words[1:]
        if command not in _COMMANDS:
            raise UsageError(
                f"%wfnb {line}: unknown command {command!r}. Use one of: {', '.join(_COMMANDS)}; "
                "`%wfnb` alone says what each does."
            )
        try:
            _COMMANDS[command][0](self.session, arguments)
        except WfnbError as error:
            raise UsageError(str(error)) from None


def await_transformer(shell: InteractiveShell):
    """An input transformer for ``%%step`` cells: top-level ``await``, and code that is not Python.

    A cell magic is called synchronously, and the kernel's event loop is already
    running, so the body's ``await`` could not run there. Rewritten as an awaited
    call, the whole cell runs as a coroutine on that loop, as a plain cell would.

    A body that does not compile (``x = = 1``, an unclosed bracket) never reaches
    the magic: the cell becomes the body alone (its lines numbered as a step's
    traceback numbers them, from the body's first line), and IPython reports its SyntaxError
    exactly as for a plain cell, which fails the cell. Nothing ran, so nothing of
    the workflow changes.
    """

    def transform(lines: list[str]) -> list[str]:
        if not lines or not lines[0].startswith("%%step"):
            return lines
        line, body = lines[0][len("%%step"):].strip(), "".join(lines[1:])
        if not body.strip():  # IPython refuses a cell magic with no body; an empty step is a note
            return [f"get_ipython().magics_manager.registry[{WorkflowMagics.__name__!r}].empty_step({line!r})\n"]
        plain = "await" not in body and "async" not in body
        code = _dedented(body)  # as the magic runs it
        if plain and _compiles(code):  # the common case, without IPython's full transform
            return lines
        as_plain_cell = code.splitlines(keepends=True)
        try:
            transformed = shell.transform_cell(code)
        except Exception:  # noqa: BLE001 - IPython cannot read it: as a plain cell, it says why
            return as_plain_cell
        if not _compiles(transformed):
            return as_plain_cell
        from wfnb.cache.cellcode import needs_await

        if plain or not needs_await(transformed):
            return lines
        call = f"get_ipython().magics_manager.registry[{WorkflowMagics.__name__!r}].step_async({line!r}, {body!r})"
        return [f"await {call}\n"]

    transform.wfnb = True
    return transform


@functools.lru_cache(maxsize=256)  # a pure function of the text; Run All and a re-run give the same bodies
def _compiles(source: str) -> bool:
    """Whether ``source`` compiles as a cell (top-level ``await`` allowed, as IPython allows it)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():  # IPython's own compile of the cell warns, once (an invalid escape "\d")
            warnings.simplefilter("ignore")
            compile(source, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _dedented(cell: str) -> str:
    """The body without the indentation common to its lines: IPython runs an indented cell, and so must
    a replay or an exported script."""
    return textwrap.dedent(cell)


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

    from wfnb.frontends.browser import browse

    if len(arguments) > 1:
        raise UsageError("%wfnb browse takes at most one WORKFLOW (default: this notebook's).")
    display(browse(arguments[0] if arguments else None))


def _runs_command(session: Session, arguments: list[str]) -> None:
    from IPython.display import display

    from wfnb.frontends.api import runs

    display(runs(session.store))


def _verify_command(session: Session, arguments: list[str]) -> None:
    from wfnb.frontends.upkeep import verify

    print(verify(session.store).summary())


def _status_command(session: Session, arguments: list[str]) -> None:
    rows = session.status_table()
    if not rows:
        print(f"workflow {session.workflow}: no steps yet")
        return
    current = session.state.current
    print(f"workflow {session.workflow}: " + (f"at variant v{current}" if current else "not at a variant (stale or unrun steps)"))
    for step, status, why in rows:
        print(f"  {step:<20} {status:<9} {why}")
    if session.out_of_step():
        print(session.out_of_step())
    elif current is None and any(status not in ("fresh", "left out") for _, status, _ in rows):
        blocking = [step for step, status, _ in rows if status not in ("fresh", "left out")]
        print(f"Run {', '.join(blocking)} to reach a variant; a step whose cell was deleted: %wfnb forget {' '.join(blocking)}")


def _variants_command(session: Session, arguments: list[str]) -> None:
    from IPython.display import display

    from wfnb.frontends.listing import variants_frame

    display(variants_frame(session.store, arguments[0] if arguments else session.workflow))


def _tag_command(session: Session, arguments: list[str]) -> None:
    parser = _ArgumentParser("%wfnb tag")
    parser.add_argument("name")
    parser.add_argument("--note", default=None)
    args = parser.parse(arguments)
    variant = session.tag(check_name("tag", args.name), args.note)
    print(f"tagged {variant.workflow}/{variant.name} as {args.name}")


def _pin_command(session: Session, arguments: list[str]) -> None:
    parser = _ArgumentParser("%wfnb pin")
    parser.add_argument("ref", nargs="?")
    parser.add_argument("--note", default=None)
    args = parser.parse(arguments)
    variant = session.pin(args.ref, args.note)
    print(f"pinned {variant.workflow}/{variant.name}: wfnb gc keeps what it needs")


def _unpin_command(session: Session, arguments: list[str]) -> None:
    from wfnb.frontends.api import unpin

    if len(arguments) != 1:
        raise UsageError("%wfnb unpin takes one variant: v3, a tag, or a hash prefix.")
    variant = unpin(arguments[0], session.workflow, session.store)
    session.notify()
    print(f"unpinned {variant.workflow}/{variant.name}")


def _checkout_command(session: Session, arguments: list[str]) -> None:
    if len(arguments) != 1:
        raise UsageError("%wfnb checkout takes one variant: v3, a tag, or a hash prefix.")
    variant = session.checkout(arguments[0])
    print(f"restored {variant.workflow}/{variant.name}: its values are in the namespace, and it is the current variant")
    if session.out_of_step():
        print(session.out_of_step())


def _show_command(session: Session, arguments: list[str]) -> None:
    from wfnb.history.snapshots import resolve

    if len(arguments) != 1:
        raise UsageError("%wfnb show takes one variant: v3, a tag, or a hash prefix.")
    variant = resolve(session.store, arguments[0], session.workflow)
    print(f"# {variant.workflow}/{variant.name}: its cells, to copy into the notebook "
          f"(or `%wfnb export {variant.name} PATH.ipynb` for a notebook)\n")
    print(variant.cells())


def _export_command(session: Session, arguments: list[str]) -> None:
    from wfnb.history.exports import export_variant
    from wfnb.history.snapshots import resolve

    parser = _ArgumentParser("%wfnb export")
    parser.add_argument("ref")
    parser.add_argument("path")
    parser.add_argument("--force", action="store_true")
    args = parser.parse(arguments)
    variant = resolve(session.store, args.ref, session.workflow)
    what = export_variant(variant, args.path, overwrite=args.force)
    print(f"wrote {args.path}: {variant.workflow}/{variant.name} as a {what}")


def _replay_command(session: Session, arguments: list[str]) -> None:
    from wfnb.history.params import parse_overrides
    from wfnb.history.snapshots import resolve
    from wfnb.history.variants import Variant

    if not arguments:
        raise UsageError("%wfnb replay takes a variant and optional overrides: %wfnb replay v2 window=30 (or --check)")
    check = "--check" in arguments
    words = [word for word in arguments if word != "--check"]
    variant = Variant.of(resolve(session.store, words[0], session.workflow))
    overrides = parse_overrides(words[1:], variant.params)
    if check:
        report = variant.replay(check=True, **overrides)
        print(report.summary())
        return
    replayed = variant.replay(**overrides)
    print(f"replayed {variant.name} → {replayed.name}")


def _why_command(session: Session, arguments: list[str]) -> None:
    from wfnb.history.explain import explain

    if len(arguments) != 1:
        raise UsageError("%wfnb why takes one step: %wfnb why clean")
    print(explain(session.store, session.workflow, arguments[0]))


def _forget_command(session: Session, arguments: list[str]) -> None:
    if not arguments:
        raise UsageError("%wfnb forget takes the names of steps whose cells were deleted: %wfnb forget STEP ...")
    reached = session.forget(*arguments)
    steps = f"{'step' if len(arguments) == 1 else 'steps'} {', '.join(arguments)}"
    print(f"{steps} no longer part of workflow {session.workflow}" + (f": {reached}" if reached else ""))


def _check_cache_command(session: Session, arguments: list[str]) -> None:
    from wfnb.frontends.check import check_cache

    parser = _ArgumentParser("%wfnb check-cache")
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse(arguments)
    print(check_cache(args.notebook, timeout=args.timeout, progress=print))


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one UsageError instead of exiting."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog=prog, add_help=False)

    def parse(self, arguments: list[str]) -> argparse.Namespace:
        return self.parse_args(arguments)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.format_usage().strip()}: {message}")


def command_help() -> str:
    """What ``%wfnb`` alone prints: every command, its arguments and what it does."""
    width = max(len(usage) for _, usage, _ in _COMMANDS.values())
    lines = ["wfnb commands (%%step NAME and %%params start cells; %step? and %wfnb? tell more):"]
    lines += [f"  %wfnb {usage:<{width}}  {what}" for _, usage, what in _COMMANDS.values()]
    return "\n".join(lines)


_COMMANDS: dict[str, tuple[Callable[[Session, list[str]], None], str, str]] = {
    "status": (_status_command, "status", "each step: fresh, stale or never run, and why; the variant the notebook is at"),
    "why": (_why_command, "why STEP", "why the step last ran (what changed, by how much), or which stored result it used"),
    "variants": (_variants_command, "variants [WORKFLOW]", "the variants as a table: parameters, metrics, changed steps"),
    "browse": (_browse_command, "browse [WORKFLOW]", "the variant browser: find, compare, replay, restore, export"),
    "show": (_show_command, "show REF", "a variant's %%params and %%step cells, to copy into the notebook"),
    "tag": (_tag_command, "tag NAME [--note TEXT]", "name the current variant"),
    "pin": (_pin_command, "pin [REF] [--note TEXT]", "keep what a variant needs (default: the current one) whatever wfnb gc removes"),
    "unpin": (_unpin_command, "unpin REF", "let wfnb gc remove a variant's values again"),
    "checkout": (_checkout_command, "checkout REF", "restore a variant's values into the namespace and make it current"),
    "replay": (_replay_command, "replay REF [name=value ...] [--check]", "run a variant's code again in a fresh namespace; --check: without the cache, comparing each step's outputs"),
    "export": (_export_command, "export REF PATH [--force]", "write a variant as a notebook (.ipynb), a script (.py) or a table (.csv)"),
    "check-cache": (_check_cache_command, "check-cache NOTEBOOK [--timeout S]", "run a notebook with and without the cache in fresh kernels, with automatic edits, and report where they differ"),
    "forget": (_forget_command, "forget STEP ...", "drop steps whose cells were deleted, so that variants go on without them"),
    "store": (_store_command, "store [PATH]", "show or set where results are kept (default .wfnb, or $WFNB_STORE)"),
    "workflow": (_workflow_command, "workflow [NAME]", "show or set the workflow's name (default: the notebook's file name)"),
    "runs": (_runs_command, "runs", "every execution of a step, cached or not"),
    "verify": (_verify_command, "verify", "check every file of the store: objects, records, variants, tags, HEAD"),
}
