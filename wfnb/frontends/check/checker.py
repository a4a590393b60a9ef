"""``wfnb.check_cache``: can wfnb's cache be trusted on this notebook? Run it both ways and compare.

The only honest test of a cache is to run the same notebook with and without it
and compare what a user would see. On a scratch copy of the notebook's folder
(the user's folder and store are never touched), each run in a fresh kernel:

1. two plain runs (no wfnb): the baseline, and which cells are nondeterministic (the second with
   memory filled as it is handed out, so that values holding memory nobody wrote show as such);
2. a cached run that fills a scratch store, then one with nothing changed, in
   which every step should be restored (a re-run is reported with wfnb's reason);
3. automatic edits (``wfnb.frontends.check.edits``), each followed by a cached
   and a plain run of the edited copy, compared.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from wfnb.errors import BadArgument
from wfnb.frontends.check.compare import differences
from wfnb.frontends.check.edits import EDIT_KINDS, EditKind, EditPlan, plan_edit
from wfnb.frontends.check.kernel import Run, run_cells
from wfnb.frontends.check.prepare import CheckedNotebook, read_checked
from wfnb.frontends.check.report import CheckReport, Divergence, EditResult, NeedlessRerun
from wfnb.frontends.check.unsteady import downstream

_NOT_COPIED = (".wfnb", ".git", ".ipynb_checkpoints", "__pycache__", ".venv", "node_modules")
_WHY_LINES = 3
# The second plain run has glibc fill memory as it is handed out and given back: a value holding memory
# nobody wrote (statsmodels' GLM keeps an ``np.empty_like`` scratch array) then differs between the two
# plain runs, as it may between any two runs. Without it, two fresh kernels often find the same left-over
# bytes, and the cached run, whose allocations differ, other ones: a difference of memory, not of the cache.
_FILLED_MEMORY = {"MALLOC_PERTURB_": "165"}
_ATTEMPTS = 3  # literals tried, at most, for a literal edit that the plain run survives


def check_cache(
    path: str | Path,
    *,
    timeout: float = 120.0,
    edits: Iterable[EditKind] = EDIT_KINDS,
    progress: Callable[[str], None] | None = None,
) -> CheckReport:
    """Run a notebook with and without wfnb's cache in fresh kernels and report where they differ.

    A cache is right when a notebook shows the same text, displays and errors, and
    ends with the same values, as it does without the cache, after whatever edit a
    user makes; and it is useful when a step is restored whenever nothing it reads
    changed. This runs both ways on a copy of the notebook's folder, with a scratch
    store, before and after automatic edits: a numeric literal in a step, a literal
    in a local module it imports, a value in a CSV file it reads, a file added
    beside it, a step cell run twice.

    Parameters
    ----------
    path
        The notebook (.ipynb). A notebook without ``%%step`` cells is checked as if
        each code cell were a step.
    timeout
        Seconds each cell may run; a cell that runs longer counts as failed.
    edits
        Which edits to try (default: all of them).
    progress
        Called with a short line before each run (the command prints them on stderr).

    Returns
    -------
    CheckReport
        ``divergences``, ``needless_reruns``, ``edits``; ``exit_code`` 0 when clean.
    """
    notebook = Path(path)
    if notebook.suffix != ".ipynb" or not notebook.is_file():
        problem = "there is no such file" if not notebook.exists() else "it is not a notebook file (.ipynb)"
        raise BadArgument(f"Cannot check the cache on {path}: {problem}. Give the path of a Jupyter notebook, "
                          "e.g. wfnb check-cache analysis.ipynb.")
    if timeout <= 0:
        raise BadArgument(f"The timeout must be a positive number of seconds per cell (got {timeout!r}).")
    model, original = read_checked(notebook)
    report = CheckReport(str(path), steps=model.steps, made_steps=model.made_steps)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wfnb-check-") as scratch:
        root = Path(scratch)
        folder = root / "nb"
        shutil.copytree(notebook.resolve().parent, folder, symlinks=True, ignore=shutil.ignore_patterns(*_NOT_COPIED))
        _Check(model, original, folder / notebook.name, root, timeout, report, progress or (lambda line: None)).run(list(edits))
    report.seconds = time.perf_counter() - started
    return report


class _Check:
    """One check in its scratch folder: the runs, in order, and what they add to the report."""

    def __init__(self, model: CheckedNotebook, original: object, target: Path, root: Path, timeout: float,
                 report: CheckReport, progress: Callable[[str], None]) -> None:
        self.model, self.original, self.target, self.folder = model, original, target, target.parent
        self.root, self.timeout, self.report, self.progress = root, timeout, report, progress
        self.store = root / "store"
        self.unsteady_cells: set[int] = set()
        self.unsteady_names: set[str] = set()
        self.on_past_errors = False
        self.baseline_errors: set[int] = set()

    def run(self, edits: list[EditKind]) -> None:
        self._save(self.model)
        first = self._plain(self.model, "plain run 1")
        if first.failure and first.failed_at is not None and " failed: " in first.failure:
            # a notebook that shows an error on purpose (a lesson) is still checked: on past it, both ways
            self.on_past_errors = True
            first = self._plain(self.model, "plain run 1, on past errors")
            self.baseline_errors = {shown.cell for shown in first.shown if shown.error}
            cells = ", ".join(str(cell) for cell in sorted(self.baseline_errors))
            many = len(self.baseline_errors) != 1
            self.report.failing_cells = (f"{'cells' if many else 'cell'} {cells} {'raise' if many else 'raises'} without wfnb too: "
                                         f"every run went on past {'them' if many else 'it'}, as running the cells one by one does")
        if first.failure:
            self.report.plain_failure = f"the notebook fails without wfnb too: {first.failure}"
            return
        second = self._plain(self.model, "plain run 2", env=_FILLED_MEMORY)
        for difference in differences(first, second):
            if difference.cell is None:
                self.unsteady_names.add(difference.what.removeprefix("value "))
            else:
                self.unsteady_cells.add(difference.cell)
        self.unsteady_cells, self.unsteady_names = downstream(self.model.cells, self.unsteady_cells, self.unsteady_names)
        self._compare(self._cached(self.model, "first cached run"), first, "first cached run")
        label = "second cached run (nothing changed)"
        again = self._cached(self.model, label)
        self._compare(again, first, label)
        self.report.hits = sum(" · cached · " in line for lines in again.statuses().values() for line in lines)
        self.report.failing_steps = sum(1 for cell in self.model.cells if cell.step and cell.index in self.baseline_errors)
        self._needless(again, label)
        for kind in edits:
            self._edit(kind)

    def _edit(self, kind: EditKind) -> None:
        label, first_refusal = f"after edit {kind}", None
        for attempt in range(_ATTEMPTS):  # a literal that breaks the notebook (a year a later cell looks up): the next one
            plan = plan_edit(kind, self.model, self.folder, frozenset(self.baseline_errors), attempt)
            if plan is None:
                break
            saved = {name: (self.folder / name).read_bytes() if (self.folder / name).exists() else None for name in plan.files}
            self._apply(plan)
            plain = self._plain(plan.notebook, f"plain run {label}", plan.order)
            new_errors = [shown for shown in plain.shown if shown.error and shown.cell not in self.baseline_errors]
            if not (plain.failure or new_errors):
                break
            self._undo(saved)
            failure = plain.failure or f"cell {new_errors[0].cell} failed: {new_errors[0].error}"
            first_refusal = first_refusal or f"{plan.detail}: not applied, the plain run fails after it ({failure})"
            plan = None
            if plain.failure and " failed: " not in plain.failure:  # a timeout, a dead kernel: another literal would not help
                break
        if plan is None:
            self.report.edits.append(EditResult(kind, False, first_refusal or _NOT_APPLICABLE[kind]))
            return
        cached = self._cached(plan.notebook, label, plan.order)
        self._compare(cached, plain, label)
        if kind == "new file":
            self._needless(cached, label)
        reran = tuple(dict.fromkeys(_step_of(line) for lines in cached.statuses().values() for line in lines if " · ran " in line))
        self.report.edits.append(EditResult(kind, True, plan.detail, reran))
        self.model = plan.notebook

    def _apply(self, plan: EditPlan) -> None:
        for name, data in plan.files.items():
            (self.folder / name).write_bytes(data)
        self._save(plan.notebook)

    def _undo(self, saved: dict[str, bytes | None]) -> None:
        for name, data in saved.items():
            if data is None:
                (self.folder / name).unlink(missing_ok=True)
            else:
                (self.folder / name).write_bytes(data)
        self._save(self.model)

    def _save(self, model: CheckedNotebook) -> None:
        """Write the cached form where the kernels run: wfnb reads the notebook file it runs (its steps, its name)."""
        import nbformat

        nbformat.write(model.to_notebook(self.original), str(self.target))

    def _plain(self, model: CheckedNotebook, label: str, order: list[int] | None = None, env: dict[str, str] | None = None) -> Run:
        self.progress(f"{self.report.notebook}: {label}")
        return run_cells(model.plain_cells(order), self.folder, self.root / "kernels", label=label, timeout=self.timeout,
                         env={"WFNB_STORE": str(self.root / "unused-store"), **(env or {})}, on_past_errors=self.on_past_errors)

    def _cached(self, model: CheckedNotebook, label: str, order: list[int] | None = None) -> Run:
        self.progress(f"{self.report.notebook}: {label}")
        return run_cells(model.cached_cells(order), self.folder, self.root / "kernels", label=label, timeout=self.timeout,
                         env={"WFNB_STORE": str(self.store), "JPY_SESSION_NAME": str(self.target)}, on_past_errors=self.on_past_errors)

    def _compare(self, cached: Run, plain: Run, label: str) -> None:
        own_cells, own_names = self.model.wfnb_cells, self.model.wfnb_names()
        for difference in differences(cached, plain):
            name = difference.what.removeprefix("value ") if difference.cell is None else None
            if difference.cell in own_cells or name in own_names:  # wfnb's own output: nothing plain to compare with
                continue
            step = self.model.step_of(difference.cell) if name is None else _binder(self.model, name)
            found = Divergence(label, difference.cell, step, difference.what, difference.first, difference.second)
            unsteady = difference.cell in self.unsteady_cells if name is None else name in self.unsteady_names
            if unsteady:  # once per cell and kind: the same randomness shows in every run
                if not any((found.cell, found.what) == (d.cell, d.what) for d in self.report.nondeterministic):
                    self.report.nondeterministic.append(found)
            elif not any(_same(found, earlier) for earlier in self.report.divergences):  # a stale entry shows again later
                self.report.divergences.append(found)

    def _needless(self, run: Run, label: str) -> None:
        """Steps that ran although nothing changed, except those wfnb says run every time."""
        for lines in run.statuses().values():
            for line in lines:
                if " · ran " not in line or "not cached" in line:
                    continue
                step = _step_of(line)
                why = self._why(run.workflow, step)
                if why.startswith(f"step {step} · ran") and ", and runs every time" in why.splitlines()[0]:
                    continue
                self.report.needless_reruns.append(NeedlessRerun(label, step, line, why))

    def _why(self, workflow: str | None, step: str) -> str:
        from wfnb.errors import WfnbError
        from wfnb.frontends.api import why

        if workflow is None:
            return ""
        try:
            explanation = str(why(step, workflow, store=str(self.store)))
        except WfnbError as error:
            return f"(wfnb why failed: {error})"
        return " / ".join(line.strip() for line in explanation.splitlines()[:_WHY_LINES + 2] if line.strip())


_NOT_APPLICABLE: dict[str, str] = {
    "cell literal": "no numeric literal in an assignment of a step",
    "module literal": "imports no local module (.py beside it) with a numeric literal",
    "data file": "reads no CSV file beside it (by name)",
    "new file": "has no steps",
    "cell twice": "has no steps",
}


def _same(one: Divergence, other: Divergence) -> bool:
    return (one.cell, one.what, one.cached, one.plain) == (other.cell, other.what, other.cached, other.plain)


def _step_of(status: str) -> str:
    """``step load · ran 40 ms (...)`` → ``load``."""
    return status.removeprefix("step ").split(" · ", 1)[0]


def _binder(model: CheckedNotebook, name: str) -> str | None:
    """The last step that assigns ``name`` (where a value that differs at the end was made)."""
    found = None
    for cell in model.cells:
        if not cell.step:
            continue
        try:
            tree = ast.parse(cell.body)
        except SyntaxError:
            continue
        if any(isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store) for node in ast.walk(tree)):
            found = cell.step
    return found
