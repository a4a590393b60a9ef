"""Record what a step shows while it runs, and show it again on a cache hit.

The user sees a running step exactly as a plain cell (everything is passed
through as it happens); the same events are kept in order as plain JSON so a
hit can replay them: printed text, rich display data, the value of the last
expression, the figures of the inline matplotlib backend, and the tracebacks the
shell shows without failing the cell (a ``_repr_html_`` or ``__repr__`` that
raises while IPython formats a value: the cell goes on, its error is shown).
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

Event = dict[str, Any]  # {"kind": "stream" | "display" | "result" | "clear" | "error", ...}

# A widget's view points at a model that does not outlive its kernel.
_WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class _Tee:
    """A text stream that writes through to the real one and records what passed."""

    def __init__(self, original: Any, name: str, events: list[Event], muted: list[bool], echo: bool = True) -> None:
        self._original = original
        self._echo = echo
        self._name = name
        self._events = events
        self._muted = muted  # while the displayhook prints a result, which is recorded as such

    def write(self, text: str) -> int:
        if text and not self._muted[0]:
            last = self._events[-1] if self._events else None
            if last is not None and last["kind"] == "stream" and last["name"] == self._name:
                last["text"] += text
            else:
                self._events.append({"kind": "stream", "name": self._name, "text": text})
        return self._original.write(text) if self._echo else len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._original, attribute)


@contextmanager
def capture(shell: InteractiveShell | None, echo: bool = True) -> Iterator[list[Event]]:
    """Record the cell's output events; with ``echo``, let them through to the user as they happen.

    Without a shell (a script), only printed text can be recorded.
    """
    events: list[Event] = []
    muted = [False]
    saved_streams = sys.stdout, sys.stderr
    with ExitStack() as recording:
        for name in ("stdout", "stderr"):
            recording.enter_context(_recorded_stream(name, events, muted, echo))
        with _figures_and_displays(shell, events, muted, echo):
            yield events
    for stream in saved_streams:
        stream.flush()


@contextmanager
def _recorded_stream(name: str, events: list[Event], muted: list[bool], echo: bool) -> Iterator[None]:
    """Record what is written to ``sys.stdout``/``sys.stderr``. The kernel's stream objects are
    recorded in place, so that text written through a reference taken earlier (a logging handler
    set up in a plain cell) is recorded too; other streams are replaced for the block."""
    original = getattr(sys, name)
    tee = _Tee(original, name, events, muted, echo)
    if isinstance(getattr(original, "__dict__", None), dict) and type(original).__module__.startswith("ipykernel"):
        own_write = original.write
        tee._original = _Writer(own_write)
        with patched(original, "write", tee.write):
            try:
                yield
            finally:
                original.flush()
        return
    setattr(sys, name, tee)
    try:
        yield
    finally:
        tee.flush()
        setattr(sys, name, original)


class _Writer:
    """A stream's own write, for a ``_Tee`` recording that stream in place."""

    def __init__(self, write: Any) -> None:
        self.write = write


@contextmanager
def _figures_and_displays(shell: InteractiveShell | None, events: list[Event], muted: list[bool], echo: bool) -> Iterator[None]:
    if shell is None:
        open_before = _open_figures()
        yield
        _record_new_figures(events, open_before)
    else:
        with _shell_recorded(shell, events, muted, echo):
            yield
            _flush_inline_figures()


@contextmanager
def _shell_recorded(shell: InteractiveShell, events: list[Event], muted: list[bool], echo: bool) -> Iterator[None]:
    """Record display data, cleared outputs, the last expression's value and shown tracebacks going through the shell."""
    publisher = shell.display_pub
    hook = shell.displayhook
    real_publish = publisher.publish
    real_clear = publisher.clear_output
    real_write_format = hook.write_format_data
    real_start, real_finish = hook.start_displayhook, hook.finish_displayhook
    real_traceback = shell._showtraceback

    def publish(data: dict, metadata: dict | None = None, *args: Any, **kwargs: Any) -> Any:
        events.append({"kind": "display", "data": _jsonable(data), "metadata": _jsonable(metadata or {})})
        return real_publish(data, metadata, *args, **kwargs) if echo else None

    def clear_output(wait: bool = False) -> Any:
        events.append({"kind": "clear", "wait": bool(wait)})
        return real_clear(wait) if echo else None

    def write_format_data(format_dict: dict, md_dict: dict | None = None) -> Any:
        events.append({"kind": "result", "data": _jsonable(format_dict), "metadata": _jsonable(md_dict or {})})
        return real_write_format(format_dict, md_dict)

    def show_traceback(etype: Any, evalue: Any, stb: Any) -> Any:
        name = getattr(etype, "__name__", str(etype))
        events.append({"kind": "error", "ename": name, "evalue": str(evalue), "traceback": [str(line) for line in stb or []],
                       "formatting": muted[0]})  # raised while the displayhook formatted the cell's value
        return real_traceback(etype, evalue, stb) if echo else None

    def start_displayhook() -> None:
        muted[0] = True
        real_start()

    def finish_displayhook() -> None:
        real_finish()
        muted[0] = False

    with patched(publisher, "publish", publish), patched(publisher, "clear_output", clear_output), patched(
        hook, "write_format_data", write_format_data
    ), patched(hook, "start_displayhook", start_displayhook), patched(hook, "finish_displayhook", finish_displayhook), patched(
        shell, "_showtraceback", show_traceback
    ):
        yield


def result_event(value: Any, shell: InteractiveShell | None) -> Event:
    """The event a cell's last-expression value would have produced, formatted as IPython would."""
    from IPython.core.formatters import DisplayFormatter

    formatter = shell.display_formatter if shell is not None and shell.display_formatter is not None else DisplayFormatter()
    data, metadata = formatter.format(value)
    return {"kind": "result", "data": _jsonable(data), "metadata": _jsonable(metadata or {})}


@contextmanager
def patched(obj: Any, attribute: str, replacement: Any) -> Iterator[None]:
    """Shadow one attribute of one instance, and put back exactly what was there."""
    had_own = attribute in vars(obj)
    own = vars(obj).get(attribute)
    setattr(obj, attribute, replacement)
    try:
        yield
    finally:
        if had_own:
            setattr(obj, attribute, own)
        else:
            delattr(obj, attribute)


def replay(shell: InteractiveShell, events: list[Event]) -> None:
    """Show recorded events again, in their original order."""
    for event in events:
        kind = event["kind"]
        if kind == "stream":
            stream = sys.stdout if event["name"] == "stdout" else sys.stderr
            stream.write(event["text"])
            stream.flush()
            continue
        sys.stdout.flush()
        if kind == "display":
            shell.display_pub.publish(data=_without_widgets(event["data"]), metadata=event["metadata"])
        elif kind == "result":
            _show_result(shell, _without_widgets(event["data"]), event["metadata"])
        elif kind == "clear":
            shell.display_pub.clear_output(event["wait"])
        elif kind == "error":
            _show_error(shell, event)


def _show_result(shell: InteractiveShell, data: dict, metadata: dict) -> None:
    """Show a stored last-expression value as the cell's result (Out[n]), not as plain display."""
    hook = shell.displayhook
    hook.start_displayhook()
    hook.write_output_prompt()
    hook.write_format_data(data, metadata)
    hook.finish_displayhook()


def _show_error(shell: InteractiveShell, event: Event) -> None:
    """Show a recorded traceback again; one shown while the cell's value was formatted, from within the
    displayhook, where ipykernel counts it as the cell's failure (Run All stops there, as on a run)."""
    kind = type(str(event["ename"]), (Exception,), {})
    if not event.get("formatting"):
        shell._showtraceback(kind, event["evalue"], event["traceback"])
        return
    hook = shell.displayhook
    hook.start_displayhook()
    try:
        shell._showtraceback(kind, event["evalue"], event["traceback"])
    finally:
        hook.finish_displayhook()


def _flush_inline_figures() -> None:
    """Show the step's inline figures now, while they are being recorded.

    The inline backend would otherwise show them after the whole cell, outside
    the capture, and a hit could not show them again.
    """
    backend_module = sys.modules.get("matplotlib_inline.backend_inline")
    matplotlib = sys.modules.get("matplotlib")
    if backend_module is None or matplotlib is None:
        return
    if "inline" not in str(matplotlib.get_backend()):
        return
    backend_module.flush_figures()


def _open_figures() -> set[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


def _record_new_figures(events: list[Event], before: set[int]) -> None:
    """Without a shell (a script, ``wfnb replay``) nothing shows a step's figures: record those it left open
    as a kernel's inline backend shows them after the cell (same formatter, formats and metadata), and close
    them as it does. A kernel restoring the step then shows what it would have shown itself."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    from matplotlib._pylab_helpers import Gcf

    new = [manager.canvas.figure for manager in Gcf.get_all_fig_managers() if manager.num not in before]
    if not new:
        return
    formatter, metadata_of = _inline_display()
    for figure in new:
        data, metadata = formatter.format(figure)
        extra = metadata_of(figure)
        if extra:  # as IPython's display(figure, metadata=...) merges them
            metadata = {**(metadata or {}), **extra}
        events.append({"kind": "display", "data": _jsonable(data), "metadata": _jsonable(metadata or {})})
        pyplot.close(figure)


def _inline_display() -> tuple[Any, Any]:
    """A display formatter set up as matplotlib's inline backend sets up a kernel's, and its figure metadata."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib_inline.backend_inline import _fetch_figure_metadata
    from matplotlib_inline.config import InlineBackend

    class _Holder:  # what select_figure_formats reads of a shell
        display_formatter = DisplayFormatter()

    settings = InlineBackend.instance()
    select_figure_formats(_Holder, settings.figure_formats, **settings.print_figure_kwargs)
    return _Holder.display_formatter, _fetch_figure_metadata


def _without_widgets(data: dict) -> dict:
    if _WIDGET_MIME in data and len(data) > 1:
        return {mime: value for mime, value in data.items() if mime != _WIDGET_MIME}
    return data


def _jsonable(value: Any) -> Any:
    """Display data as plain JSON: bytes (PNG, JPEG) become base64 text, as in .ipynb files."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def live_widgets(events: list[Event]) -> list[str]:
    """The widgets a run showed (as displays or as the cell's value), by class name: a hit could show
    only their text, where a plain run shows a live control. A progress bar (tqdm's, shown as a
    widget in a notebook) is not one: once the step is done, its text says all it showed."""
    names = []
    for event in events:
        view = event.get("data", {}).get(_WIDGET_MIME) if event["kind"] in ("display", "result") else None
        if not isinstance(view, dict):
            continue
        widget = _widget_instance(view.get("model_id"))
        kind = type(widget)
        if widget is not None and kind.__module__.partition(".")[0] == "tqdm":
            continue
        name = kind.__name__ if widget is not None else str(event["data"].get("text/plain", "a widget")).partition("(")[0]
        if name not in names:
            names.append(name)
    return names


def _widget_instance(model_id: Any) -> Any:
    widget_module = sys.modules.get("ipywidgets.widgets.widget")
    instances = getattr(widget_module, "_instances", None)
    return instances.get(model_id) if isinstance(instances, dict) else None
