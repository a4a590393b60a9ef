"""What the everyday-loop benchmark runs inside each kernel, as its first cell: clocks and nothing else.

It is sent as the text of a cell (``source()``), not imported, so that the kernel
imports nothing it would not import anyway. It measures, in the kernel's own clock:

- each cell's time, from IPython's ``pre_run_cell`` to ``post_run_cell`` event;
- the time spent importing modules, per top-level package (exclusive of nested
  imports), through a finder in front of ``sys.meta_path`` that times each
  loader's ``exec_module``: import statements, ``importlib`` and unpickling alike;
- on a wfnb step, its phases, by timing a few wfnb functions once they are imported
  (minus the imports made inside them): the key, the verification of the stored
  entry, reading the values and the display, putting them back, the run log.

``report()`` (the last cell) prints all of it as one JSON line.
"""

from __future__ import annotations

import builtins
import importlib.abc
import json
import sys
import time
from pathlib import Path
from typing import Any

MARK = "WFNB-LOOP-REPORT "

# (module, class or None, function, phase): what each timed wfnb function is part of
PHASES = [
    ("wfnb.cache.runner", "StepRunner", "_analysis", "key"),
    ("wfnb.cache.runner", "StepRunner", "_fingerprint", "key"),
    ("wfnb.cache.entries", "Entries", "verified", "verification"),
    ("wfnb.cache.stepvalues", None, "read", "reading values"),
    ("wfnb.cache.entries", "Entries", "blob", "reading values"),
    ("wfnb.cache.execution", "ShellHost", "replay", "display"),
    ("wfnb.cache.stepvalues", None, "apply", "putting back"),
    ("wfnb.cache.runner", "StepRunner", "_log", "run log"),
]


def source() -> str:
    """A cell that runs this module's text in a namespace of its own and installs the clocks.

    Nothing lands in the notebook's namespace, so no step can read a name the probe defined.
    """
    text = Path(__file__).read_text(encoding="utf-8") + "\n_wfnb_loop_probe_install()\n"
    return f"exec(compile({text!r}, 'wfnb-loop-probe', 'exec'), {{'__name__': 'wfnb_loop_probe', 'get_ipython': get_ipython}})\n"


class _Clocks:
    def __init__(self) -> None:
        self.started = time.time()
        self.cells: list[float] = []
        self.cell_imports: list[dict[str, float]] = []
        self.cell_phases: list[dict[str, float]] = []
        self.imports: dict[str, float] = {}  # top-level package -> exclusive seconds, in the current cell
        self.phases: dict[str, float] = {}
        self.import_total = 0.0  # all import time so far, to take out of the phases
        self.stack: list[float] = []  # nested time to subtract, per import being executed
        self.wrapped: set[tuple[str, str | None, str]] = set()
        self.originals: list[tuple[Any, str, Any]] = []  # (owner, name, function) to put back
        self.cell_clock: float | None = None


class _TimingLoader(importlib.abc.Loader):
    def __init__(self, clocks: _Clocks, inner: Any, name: str) -> None:
        self.clocks, self.inner, self.name = clocks, inner, name

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        clocks = self.clocks
        clocks.stack.append(0.0)
        start = time.perf_counter()
        try:
            self.inner.exec_module(module)
        finally:
            took = time.perf_counter() - start
            nested = clocks.stack.pop()
            if clocks.stack:
                clocks.stack[-1] += took
            else:
                clocks.import_total += took
            top = self.name.partition(".")[0]
            clocks.imports[top] = clocks.imports.get(top, 0.0) + took - nested
            _wrap_phases(clocks)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ... as the real loader
        return getattr(self.inner, name)


class _TimingFinder(importlib.abc.MetaPathFinder):
    def __init__(self, clocks: _Clocks) -> None:
        self.clocks = clocks

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _TimingLoader(self.clocks, spec.loader, fullname)
                return spec
        return None


def _timed(clocks: _Clocks, phase: str, fn: Any) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        imports = clocks.import_total
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            took = time.perf_counter() - start - (clocks.import_total - imports)
            clocks.phases[phase] = clocks.phases.get(phase, 0.0) + took

    timed.__wrapped__ = fn  # type: ignore[attr-defined]
    return timed


def _wrap_phases(clocks: _Clocks) -> None:
    for module_name, class_name, function, phase in PHASES:
        key = (module_name, class_name, function)
        module = sys.modules.get(module_name)
        if key in clocks.wrapped or module is None:
            continue
        owner = getattr(module, class_name, None) if class_name else module
        if owner is None or not hasattr(owner, function):
            continue
        clocks.wrapped.add(key)
        original = owner.__dict__.get(function)
        if original is None:  # inherited: time it where it is defined
            continue
        clocks.originals.append((owner, function, original))
        setattr(owner, function, _timed(clocks, phase, original))


def _wfnb_loop_probe_install() -> None:
    clocks = _Clocks()
    sys.meta_path.insert(0, _TimingFinder(clocks))
    shell = get_ipython()  # type: ignore[name-defined]  # noqa: F821 - a cell's global

    depth = [1]  # this cell's own post_run_cell comes next: not a cell of the notebook

    def pre(*_: Any) -> None:
        depth[0] += 1
        if depth[0] == 1:  # a step that runs its body runs a cell inside the cell
            clocks.imports, clocks.phases = {}, {}
            clocks.cell_clock = time.perf_counter()

    def post(*_: Any) -> None:
        depth[0] -= 1
        if depth[0] or clocks.cell_clock is None:
            return
        clocks.cells.append(time.perf_counter() - clocks.cell_clock)
        clocks.cell_imports.append(clocks.imports)
        clocks.cell_phases.append(clocks.phases)

    shell.events.register("pre_run_cell", pre)
    shell.events.register("post_run_cell", post)
    builtins._wfnb_loop_clocks = clocks  # type: ignore[attr-defined]
    _wrap_phases(clocks)  # wfnb may be loaded already (a shell, not a fresh kernel)

    def uninstall() -> None:
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _TimingFinder)]
        for owner, function, original in clocks.originals:
            setattr(owner, function, original)
        shell.events.unregister("pre_run_cell", pre)
        shell.events.unregister("post_run_cell", post)
        del builtins._wfnb_loop_clocks  # type: ignore[attr-defined]

    clocks.uninstall = uninstall  # type: ignore[attr-defined]


def report() -> str:
    """The last cell's text: print what the clocks saw, for the benchmark to read from the output."""
    return (
        "import builtins, json\n"
        "_c = builtins._wfnb_loop_clocks\n"
        f"print({MARK!r} + json.dumps({{'started': _c.started, 'cells': _c.cells, "
        "'imports': _c.cell_imports, 'phases': _c.cell_phases}))\n"
    )


def uninstall() -> str:
    """A cell that takes the probe out again (the kernel is thrown away after a run; a test's shell is not)."""
    return "import builtins\nbuiltins._wfnb_loop_clocks.uninstall()\n"


def parse(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """The report printed by the last cell (its stream output)."""
    for output in outputs:
        text = output.get("text", "")
        if MARK in text:
            return json.loads(text.split(MARK, 1)[1].splitlines()[0])
    raise RuntimeError(f"the everyday-loop probe printed no report: {outputs!r}")
