"""Is a variant reproducible? ``wfnb.replay(ref, check=True)`` runs its steps again, without the cache, and compares.

Each step runs on exactly the inputs its variant recorded (the state after the
steps before it, restored as a hit restores it: values, seeds, options), so a
difference belongs to that step alone and never to one upstream. It runs as the
notebook runs it, ``wfnb.log`` included. Everything it produced is compared with
what was recorded: its values by content hash (where they differ,
``wfnb.cache.valuediff`` says how: numbers, the largest absolute and relative
difference; frames, the columns and rows), its metrics, its figures (the pixels)
and its other displays. Printed text that differs is reported, but does not
count: a timing printed by a step is not a result.

A step that fails, or that cannot be checked (its outputs were never stored, or
a file or package it read has changed since), is reported as such and never
counted as a pass: the report says "every step gave its recorded outputs
again" only when every step was compared and none differed.

Nothing of the cache is replaced (the check writes no record of its runs). A
step seen to differ is marked: in its variant's check ref
(``refs/workflows/<workflow>/checks/<number>``, since manifests are write-once),
and in the committed record of its key, so that every later hit of that result
says so in its status line (a new record of the key keeps the mark).
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from wfnb.cache.hashing import hash_value
from wfnb.cache.valuediff import Difference, difference, figure_difference
from wfnb.errors import (
    BadArgument,
    CorruptObject,
    StoreError,
    UnhashableValue,
    WfnbError,
)
from wfnb.history.records import check_ref, nondeterministic_steps

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant, StepRecord
    from wfnb.store import Store

StepVerdict = Literal["same", "differs", "failed", "not checked"]


@dataclass(frozen=True)
class OutputCheck:
    """One output of a step: the same as recorded, or how the fresh run's differs."""

    name: str
    same: bool
    lines: tuple[str, ...] = ()
    max_abs: float | None = None
    max_rel: float | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepCheck:
    """One step run again: its verdict, each output, its figures and printed text."""

    step: str
    verdict: StepVerdict
    outputs: tuple[OutputCheck, ...] = ()
    figures: tuple[str, ...] = ()  # how each figure that differs differs
    displays: tuple[str, ...] = ()  # how each other display (a table, the last value) that differs differs
    printed: str = ""  # "" or a note that the printed text differs (not counted)
    note: str = ""  # why it was not checked, or how it failed

    @property
    def differing(self) -> list[str]:
        figures = [f"figure {i + 1}" for i, _ in enumerate(self.figures)]
        return [o.name for o in self.outputs if not o.same] + figures + ["display" for _ in self.displays[:1]]

    def lines(self) -> list[str]:
        if self.verdict in ("failed", "not checked"):
            return [f"{self.step}: {self.verdict} ({self.note})"]
        if self.verdict == "same":
            values = sum(not o.name.startswith("metric ") for o in self.outputs)
            logged = len(self.outputs) - values
            kept = f"{values} output{'s' if values != 1 else ''}" if values else "no output"
            kept += f" and {logged} metric{'s' if logged != 1 else ''}" if logged else ""
            return [f"{self.step}: same ({kept} as recorded)" + (f"; {self.printed}" if self.printed else "")]
        lines = [f"{self.step}: DIFFERS from the recorded run"]
        for output in self.outputs:
            if not output.same:
                lines.append(f"  {output.name}: {output.lines[0] if output.lines else 'differs'}")
                lines.extend(f"    {line}" for line in output.lines[1:4])
        lines.extend(f"  figure: {text}" for text in self.figures)
        lines.extend(f"  display: {text}" for text in self.displays)
        if self.printed:
            lines.append(f"  {self.printed}")
        return lines


@dataclass(frozen=True)
class CheckReport:
    """A variant run again step by step without the cache: which steps gave other outputs."""

    workflow: str
    variant: str
    steps: tuple[StepCheck, ...] = field(default_factory=tuple)

    @property
    def nondeterministic(self) -> list[str]:
        """The steps whose fresh run differed from the recorded one."""
        return self._with("differs")

    @property
    def failed(self) -> list[str]:
        """The steps whose fresh run raised: they were not compared."""
        return self._with("failed")

    @property
    def unchecked(self) -> list[str]:
        """The steps that could not be run again as recorded: they were not compared."""
        return self._with("not checked")

    @property
    def ok(self) -> bool:
        """Every step was compared and gave its recorded outputs again."""
        return all(s.verdict == "same" for s in self.steps)

    def _with(self, verdict: StepVerdict) -> list[str]:
        return [s.step for s in self.steps if s.verdict == verdict]

    def summary(self) -> str:
        """One line: which steps differ, failed or could not be checked, and how many gave their outputs again."""
        total = len(self.steps)
        if self.ok:
            return f"check of {self.workflow}/{self.variant}: every step ({total}) gave its recorded outputs again"
        parts = []
        for names, what in ((self.nondeterministic, "differ on a fresh run"), (self.failed, "failed"),
                            (self.unchecked, "could not be checked")):
            if names:
                parts.append(f"{len(names)} of {total} steps {what} ({', '.join(names)})")
        same = total - len(self.nondeterministic) - len(self.failed) - len(self.unchecked)
        parts.append(f"{same} gave {'its' if same == 1 else 'their'} recorded outputs again" if same else "none was seen to give its recorded outputs again")
        return f"check of {self.workflow}/{self.variant}: " + "; ".join(parts)

    def __str__(self) -> str:
        return "\n".join([self.summary(), *(line for step in self.steps for line in step.lines())])

    def __repr__(self) -> str:
        failed = f"; failed {', '.join(self.failed)}" if self.failed else ""
        unchecked = f"; not checked {', '.join(self.unchecked)}" if self.unchecked else ""
        return f"<CheckReport {self.workflow}/{self.variant}: nondeterministic {', '.join(self.nondeterministic) or 'none'}{failed}{unchecked}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow, "variant": self.variant, "ok": self.ok, "nondeterministic": self.nondeterministic,
            "failed": self.failed, "unchecked": self.unchecked,
            "steps": [
                {
                    "step": s.step, "verdict": s.verdict, "note": s.note, "printed": s.printed, "figures": list(s.figures),
                    "displays": list(s.displays),
                    "outputs": [{"name": o.name, "same": o.same, "lines": list(o.lines), "max_abs": o.max_abs,
                                 "max_rel": o.max_rel, "columns": list(o.columns)} for o in s.outputs],
                }
                for s in self.steps
            ],
        }


def check_variant(variant: RecordedVariant, progress: Callable[[StepCheck], None] | None = None) -> CheckReport:
    """Run each step of ``variant`` again on its recorded inputs, without the cache, and compare its outputs."""
    from wfnb.cache.execution import NamespaceHost
    from wfnb.history.replay import StepCode, bring_inputs

    store = variant._store()
    label = f"the check of {variant.workflow}/{variant.name}"
    namespace: dict[str, Any] = dict(variant.params)
    host = NamespaceHost(namespace)
    checks = []
    for record in variant.steps:
        bring_inputs(store, StepCode.from_record(record), namespace, label, "It came from outside the workflow's steps and could not be stored.")
        check = _check_step(store, host, record)
        checks.append(check)
        if progress is not None:
            progress(check)
        _restore_recorded(store, namespace, record)
    report = CheckReport(variant.workflow, variant.name, tuple(checks))
    mark(store, variant, report)
    return report


def _check_step(store: Store, host: Any, record: StepRecord) -> StepCheck:
    from wfnb.cache import metrics
    from wfnb.cache.runner import run_sync

    raw = record.record
    if not raw.get("restorable", True) or not raw.get("outputs") and raw.get("unstored"):
        return StepCheck(record.step, "not checked", note="its outputs were not stored when it ran, so there is nothing to compare with")
    changed = _changed_since(raw, host.namespace)
    if changed is not None:
        return StepCheck(record.step, "not checked", note=f"a fresh run would not see what it saw: {changed}")
    with host.capture() as events, metrics.collecting(record.step) as logged:  # wfnb.log works as in the notebook
        error = run_sync(host.execute(record.code, False, record.step))
    if error is not None:
        return StepCheck(record.step, "failed", note=f"{type(error).__name__}: {error}")
    outputs = tuple(_compare_output(store, raw, name, digest, host.namespace) for name, digest in record.outputs.items())
    outputs += _compare_metrics(record.metrics, logged)
    recorded = _recorded_events(store, record)
    figures = _figure_changes(recorded, events)
    displays = _display_changes(recorded, events)
    printed = "printed text differs (not counted)" if _printed(recorded) != _printed(events) else ""
    differs = any(not o.same for o in outputs) or bool(figures) or bool(displays)
    return StepCheck(record.step, "differs" if differs else "same", outputs, tuple(figures), tuple(displays), printed)


def _compare_metrics(recorded: Mapping[str, Any], fresh: Mapping[str, Any]) -> tuple[OutputCheck, ...]:
    """Each metric the step logged, as recorded and now (``wfnb.log``), as one output named ``metric NAME``."""
    found = []
    for name in dict.fromkeys([*recorded, *fresh]):
        old, new = recorded.get(name, _UNSET), fresh.get(name, _UNSET)
        if old == new:
            found.append(OutputCheck(f"metric {name}", True))
        elif old is _UNSET or new is _UNSET:
            found.append(OutputCheck(f"metric {name}", False, ("logged now, not when recorded" if old is _UNSET else "not logged now",)))
        else:
            gap = abs(new - old) if _is_number(old) and _is_number(new) else None
            rel = gap / abs(old) if gap is not None and old else None
            found.append(OutputCheck(f"metric {name}", False, (f"{old!r} recorded, {new!r} now",), gap, rel))
    return tuple(found)


_UNSET = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _changed_since(raw: Mapping[str, Any], namespace: dict[str, Any]) -> str | None:
    """What the step depended on that is not as it was (a data file, a package, a random state it could not
    be given again): then a difference would not be the step's own."""
    from wfnb.cache import probes

    checked = probes.probes_of(dict(raw))
    for name, value in (raw.get("modules") or {}).items():
        if name != "sys.argv" and not name.endswith(")"):
            checked.append(("module" if "/" in str(value) else "package", name, str(value)))
    return probes.first_change(checked, namespace)


def _compare_output(store: Store, raw: Mapping[str, Any], name: str, digest: str, namespace: Mapping[str, Any]) -> OutputCheck:
    if name not in namespace:
        return OutputCheck(name, False, ("the fresh run did not define it",))
    fresh = namespace[name]
    if _digest(fresh) == digest or _digest(_round_tripped(fresh)) == digest:
        return OutputCheck(name, True)
    try:
        from wfnb.cache.stepvalues import load_values

        recorded = load_values(store, raw)[name]
    except (CorruptObject, StoreError, KeyError) as error:
        return OutputCheck(name, False, (f"differs (its recorded value cannot be read to say how: {error})",))
    found: Difference = difference(recorded, fresh)
    return OutputCheck(name, False, found.lines, found.max_abs, found.max_rel, found.columns)


def _digest(value: Any) -> str | None:
    try:
        return hash_value(value)
    except UnhashableValue:
        return None


def _round_tripped(value: Any) -> Any:
    """The value as the store gives it back (a few types lose state in a pickle: the record hashed that)."""
    import cloudpickle

    try:
        return cloudpickle.loads(cloudpickle.dumps(value))
    except Exception:  # noqa: BLE001 - a value that does not round-trip is compared as it is
        return value


def _recorded_events(store: Store, record: StepRecord) -> list[dict[str, Any]]:
    try:
        return list(store.get_json(record.display)) if record.display else []
    except WfnbError:
        return []


def _figure_changes(recorded: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[str]:
    old, new = _pngs(recorded), _pngs(fresh)
    changes = [figure_difference(a, b) for a, b in zip(old, new) if base64.b64decode(a) != base64.b64decode(b)]
    if len(old) != len(new):
        changes.append(f"{len(old)} figure{'s' if len(old) != 1 else ''} recorded, {len(new)} now")
    return changes


def _display_changes(recorded: list[dict[str, Any]], fresh: list[dict[str, Any]]) -> list[str]:
    """How the displays other than figures (tables, the last expression's value, Markdown) differ."""
    old, new = _shown(recorded), _shown(fresh)
    changes = [f"display {i + 1} differs ({', '.join(sorted(set(a) | set(b)))})" for i, (a, b) in enumerate(zip(old, new)) if a != b]
    if len(old) != len(new):
        changes.append(f"{len(old)} display{'s' if len(old) != 1 else ''} recorded, {len(new)} now")
    return changes


# a default repr's memory address, and the random ids of HTML charts (plotly's div ids), differ in every run
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NOT_COMPARED = ("image/png", "application/vnd.jupyter.widget-view+json")  # figures have their own comparison


def _shown(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each display and result event's data without figures, as text to compare."""
    found: list[dict[str, str]] = []
    for event in events:
        if event.get("kind") == "clear":
            found = []
        elif event.get("kind") in ("display", "result") and (event.get("metadata") or {}).get("wfnb") != "status":
            data = {mime: _ADDRESS.sub("…", value if isinstance(value, str) else repr(value))
                    for mime, value in (event.get("data") or {}).items() if mime not in _NOT_COMPARED}
            if data and not ("image/png" in (event.get("data") or {}) and set(data) == {"text/plain"}):
                found.append(data)  # a figure's "<Figure size …>" text goes with the figure
    return found


def _pngs(events: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for event in events:
        if event.get("kind") == "clear":
            found = []
        png = (event.get("data") or {}).get("image/png")
        if isinstance(png, str):
            found.append(png)
    return found


def _printed(events: list[dict[str, Any]]) -> str:
    return "".join(e.get("text", "") for e in events if e.get("kind") == "stream")


def _restore_recorded(store: Store, namespace: dict[str, Any], record: StepRecord) -> None:
    """Leave the namespace (and the process) as the recorded run left them, for the next step."""
    from wfnb.cache import stepvalues

    raw = record.record
    try:
        values = stepvalues.read(store, raw, stepvalues.stored_input_resolver(store, raw))
    except (CorruptObject, StoreError, LookupError) as error:
        print(f"wfnb: the recorded values of step {record.step} cannot be read ({error}); the next steps run on the fresh ones.", file=sys.stderr)
        return
    values.effects.replay_before()
    stepvalues.apply(namespace, raw, values, adopt_globals=True)


# ---- the marks ----------------------------------------------------------------------------------


def mark(store: Store, variant: RecordedVariant, report: CheckReport) -> None:
    """Keep what the check found: in the variant's check ref, and on the records of the steps that differ."""
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    seen = nondeterministic_steps(store, variant.workflow, variant.number)
    for step in report.steps:
        if step.verdict == "differs":
            lines = [line.strip() for line in step.lines()[1:6]]
            seen.setdefault(step.step, {"seen": now, "outputs": step.differing, "lines": lines})
    store.refs.replace(check_ref(variant.workflow, variant.number), {
        "variant": variant.number, "checked": now, "nondeterministic": seen,
        "verdicts": {step.step: step.verdict for step in report.steps},
    })
    for record in variant.steps:
        if record.step in report.nondeterministic:
            _mark_record(store, record.key, seen[record.step])


def _mark_record(store: Store, key: str, seen: Mapping[str, Any]) -> None:
    from wfnb.history.session import current_session

    try:
        committed = store.read_record(key)
    except WfnbError:
        return
    if committed is None or committed.get("nondeterministic"):
        return
    store.commit_record(key, {**committed, "nondeterministic": {"seen": seen["seen"], "outputs": list(seen["outputs"])}})
    session = current_session()
    if session is not None and session.store.root == store.root:
        session.runner.forget(key)  # this kernel's hits read the marked record from now on


def print_checks(prefix: str) -> Callable[[StepCheck], None]:
    """A progress callback printing each step's verdict, e.g. ``check v1 · step trend: same (…)``."""

    def show(check: StepCheck) -> None:
        first, *rest = check.lines()
        print("\n".join([f"{prefix} · step {first}", *rest]), file=sys.stdout, flush=True)

    return show


def refuse_overrides(owner: str, params: Mapping[str, Any]) -> None:
    if params:
        raise BadArgument(
            f"A check runs {owner} as it was recorded, so it takes no parameters (got {', '.join(params)}). "
            f"Replay it with the parameters first, then check the variant that gives."
        )
