"""Where a step's code runs and where what it shows goes.

``ShellHost`` is the notebook: the user's namespace, IPython's ``run_cell`` (so
the user sees their own traceback), live output. ``NamespaceHost`` is a fresh
namespace in this process, for replays and for workflows run from a script:
plain ``exec``, output recorded and shown only if asked.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import inspect
import itertools
import linecache
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Protocol

from wfnb.cache import branches, capture
from wfnb.cache.capture import Event, patched
from wfnb.cache.plaincode import to_plain_python

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from wfnb.cache.statusline import StepReport


class Host(Protocol):
    """What a step runner needs from the place a step runs in."""

    namespace: dict[str, Any]
    fresh: bool  # a namespace built for one run: restored functions may bring the globals they need

    def transform(self, body: str) -> str: ...

    async def execute(self, body: str, asynchronous: bool, step: str = "") -> BaseException | None: ...

    def capture(self) -> AbstractContextManager[list[Event]]: ...

    def replay(self, events: list[Event]) -> None: ...

    def show(self, report: StepReport) -> None: ...

    def warn(self, message: str) -> None: ...


class ShellHost:
    """The notebook's own shell: steps run exactly like plain cells."""

    fresh = False

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell
        self.namespace = shell.user_ns

    def transform(self, body: str) -> str:
        return self.shell.transform_cell(body)

    async def execute(self, body: str, asynchronous: bool, step: str = "") -> BaseException | None:
        hook = self.shell.displayhook
        # IPython reads a trailing ';' from the outer cell (the magic call): apply it to the step's body.
        quiet = patched(hook, "quiet", lambda: True) if hook.semicolon_at_end_of_expression(body) else nullcontext()
        held: list[list[str]] = []
        with quiet, branches.marking(self.shell), patched(self.shell, "_showtraceback", _holding_interrupts(self.shell, held)):
            if asynchronous:
                transformed = self.shell.transform_cell(body)
                result = await self.shell.run_cell_async(body, store_history=False, transformed_cell=transformed)
            else:
                result = self.shell.run_cell(body, store_history=False)
        error = None if result.success else (result.error_before_exec or result.error_in_exec)
        if isinstance(error, KeyboardInterrupt) and held:
            # shown by the cell that fails with it (the %%step cell), exactly as the step's own run showed it
            shown = held[0]
            error._render_traceback_ = lambda: shown  # type: ignore[attr-defined]  # IPython shows this instead of the traceback
        return error

    def capture(self) -> AbstractContextManager[list[Event]]:
        return capture.capture(self.shell)

    def replay(self, events: list[Event]) -> None:
        capture.replay(self.shell, events)

    def show(self, report: StepReport) -> None:
        report.show(self.shell)

    def warn(self, message: str) -> None:
        warn(message)


def _holding_interrupts(shell: InteractiveShell, held: list[list[str]]) -> Callable[..., Any]:
    """The shell's ``_showtraceback``, except that a KeyboardInterrupt's traceback is kept in ``held``, not shown.

    An interrupted step fails its cell with the user's own KeyboardInterrupt
    (``IPython`` shows it through its ``_render_traceback_``): shown here too, it
    would appear twice.
    """
    show = shell._showtraceback

    def showtraceback(etype: type, evalue: BaseException, stb: list[str]) -> Any:
        if isinstance(evalue, KeyboardInterrupt) and not held:
            held.append(list(stb))
            return None
        return show(etype, evalue, stb)

    return showtraceback


class NamespaceHost:
    """A plain namespace in this process; outputs are recorded, and shown only with ``echo``."""

    fresh = True

    def __init__(
        self,
        namespace: dict[str, Any],
        *,
        echo: bool = False,
        on_report: Callable[[StepReport], None] | None = None,
    ) -> None:
        self.namespace = namespace
        self.namespace.setdefault("__name__", "__main__")
        self.namespace.setdefault("__builtins__", builtins)
        self.echo = echo
        self.on_report = on_report
        self._shell = _active_shell()
        self._events: list[Event] = []
        self.last_traceback = ""  # of the last failed execution, for callers that did not see it

    def transform(self, body: str) -> str:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(body)

    async def execute(self, body: str, asynchronous: bool, step: str = "") -> BaseException | None:
        with _display_builtin():
            return await self._execute(body, step)

    async def _execute(self, body: str, step: str) -> BaseException | None:
        try:
            # not IPython's own transform: its get_ipython() calls would act on the notebook's namespace
            source = to_plain_python(body, strict=True).code
            filename = _remember_source(source)
            tree = branches.mark(ast.parse(source))
            last = tail if tree.body and isinstance(tail := tree.body[-1], ast.Expr) else None
            if last is not None:
                tree.body.pop()
            flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            _await(eval(compile(tree, filename, "exec", flags=flags, dont_inherit=True), self.namespace))
            if last is not None:
                expression = ast.Expression(last.value)
                value = _await(eval(compile(expression, filename, "eval", flags=flags, dont_inherit=True), self.namespace))
                if value is not None:
                    self._events.append(capture.result_event(value, self._shell))
        except Exception as error:  # noqa: BLE001 - the user's error: shown with the user's frames only
            self.last_traceback = format_user_traceback(error, step)
            print(self.last_traceback, end="", file=sys.stderr)
            return error
        return None

    def capture(self) -> AbstractContextManager[list[Event]]:
        return _Recording(self)

    def replay(self, events: list[Event]) -> None:
        if self.echo and self._shell is not None:
            capture.replay(self._shell, events)
        elif self.echo:
            for event in events:
                if event["kind"] == "stream":
                    print(event["text"], end="", file=sys.stdout if event["name"] == "stdout" else sys.stderr)

    def show(self, report: StepReport) -> None:
        if self.on_report is not None:
            self.on_report(report)

    def warn(self, message: str) -> None:
        warn(message)


class _Recording(AbstractContextManager):
    """Capture for a NamespaceHost: the events list also receives the last expression's value."""

    def __init__(self, host: NamespaceHost) -> None:
        self._host = host
        self._inner = capture.capture(host._shell, echo=host.echo)

    def __enter__(self) -> list[Event]:
        self._host._events = self._inner.__enter__()
        return self._host._events

    def __exit__(self, *exc: Any) -> Any:
        return self._inner.__exit__(*exc)


def warn(message: str) -> None:
    """One line on stderr, prefixed so that the user knows who speaks."""
    print(f"wfnb: {message}", file=sys.stderr, flush=True)


@contextmanager
def _display_builtin() -> Iterator[None]:
    """``display()`` as in a notebook, where IPython makes it a builtin; only while a step runs."""
    if hasattr(builtins, "display"):
        yield
        return
    from IPython.display import display

    builtins.display = display  # type: ignore[attr-defined]  # where IPython puts it too
    try:
        yield
    finally:
        del builtins.display  # type: ignore[attr-defined]  # where IPython puts it too


def format_user_traceback(error: BaseException, step: str | None = None) -> str:
    """A step's own exception as a notebook shows it: from the step's code on, with its lines.

    Frames of wfnb itself (which ran the code) are left out; the step's frames
    are labelled with the step's name when it is known.
    """
    frames = traceback.extract_tb(error.__traceback__)
    start = next((i for i, frame in enumerate(frames) if frame.filename.startswith(_STEP_FILE)), 0)
    lines = ["Traceback (most recent call last):\n"]
    for frame in frames[start:]:
        where = f"step {step}" if step and frame.filename.startswith(_STEP_FILE) else f'File "{frame.filename}"'
        lines.append(f"  {where}, line {frame.lineno}, in {frame.name}\n")
        if frame.line:
            lines.append(f"    {frame.line.strip()}\n")
    return "".join(lines) + "".join(traceback.format_exception_only(type(error), error))


_STEP_FILE = "<wfnb step "


def _remember_source(source: str) -> str:
    """A file name for this code, known to linecache so that tracebacks show its lines."""
    filename = f"{_STEP_FILE}{next(_executions)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    return filename


_executions = itertools.count(1)


def _await(value: Any) -> Any:
    """Finish a coroutine from code with top-level ``await`` (outside any running loop)."""
    if not inspect.iscoroutine(value):
        return value
    return asyncio.run(value)


def _active_shell() -> InteractiveShell | None:
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
