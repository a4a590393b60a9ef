"""What a variant is, as Python sees it: its steps, its values, and how it differs from another.

``RecordedVariant`` and ``StepRecord`` are read-only views of what the store holds,
built by ``wfnb.history.snapshots``; the public ``wfnb.Variant`` (``wfnb.history.variants``)
adds what can be done with a variant, such as a replay or an export. A variant's steps are read from the store only
when used, so that listing a thousand variants reads no step record. Steps are
reached by position or by name (``v.steps["trend"]``), values by name
(``v.outputs["trend"]``); every public method raises wfnb's errors plainly
(``api_boundary``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

from wfnb.cache.branches import describe as describe_branches
from wfnb.cache.stepvalues import load_values, output_digests
from wfnb.errors import BadArgument, CorruptObject, UnknownName, ValuesLetGo, api_boundary
from wfnb.history.letgo import let_go_at
from wfnb.history.links import note_output

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store


@dataclass(frozen=True, repr=False)
class StepRecord:
    """One step of a variant: its code, what it read and produced, what it showed and logged."""

    step: str
    key: str
    code: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]  # name → value hash (aliases resolved)
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    duration_s: float
    started: str
    restorable: bool
    display: str  # digest of the captured output events
    record: Mapping[str, Any] = field(compare=False)
    branch: str = ""  # the branch each choice of its code took ("else", "line 2: else; line 7: skipped"); see wfnb.cache.branches

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StepRecord:
        return cls(
            step=record["step"],
            key=record["key"],
            code=record["code"],
            inputs=dict(record.get("inputs", {})),
            outputs=output_digests(record),
            params=dict(record.get("params", {})),
            metrics=dict(record.get("metrics", {})),
            duration_s=float(record.get("duration_s", 0.0)),
            started=record.get("started", ""),
            restorable=bool(record.get("restorable", True)),
            display=record.get("display", ""),
            record=record,
            branch=describe_branches(record.get("branches")),
        )

    @property
    def series(self) -> dict[str, list[tuple[Any, Any]]]:
        """Each metric this step logged more than once (or with ``step=``): its ``(step, value)`` points."""
        found = self.record.get("series") or {}
        return {name: [tuple(point) for point in points] for name, points in found.items()}

    @property
    def branches(self) -> list[dict[str, Any]]:
        """Each choice its code reached: ``{"line", "taken", "paths"}`` (the paths it could have taken)."""
        return [dict(b) for b in self.record.get("branches") or []]

    def __repr__(self) -> str:
        reads = ", ".join(self.inputs) or "nothing"
        makes = ", ".join(self.outputs) or "nothing"
        took = f"; took {self.branch}" if self.branch else ""
        return f"<StepRecord {self.step}: reads {reads}; makes {makes}{took}; {self.duration_s:.3f} s; key {self.key[:10]}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"{self!r}\n%%step {self.step}\n{self.code.rstrip()}")


@dataclass(frozen=True, repr=False, eq=False)
class RecordedVariant:
    """A consistent snapshot of one workflow: every step's record, the parameters and the metrics."""

    workflow: str
    number: int
    identity: str
    steps: Steps = field(compare=False)
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    parent: int | None
    changed_steps: tuple[str, ...]
    created: str
    tags: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    store: Store | None = field(default=None, compare=False)
    pinned: bool = False  # wfnb gc keeps what it needs (wfnb.history.retention)

    @property
    def name(self) -> str:
        return f"v{self.number}"

    @api_boundary
    def step(self, name: str) -> StepRecord:
        """The step called ``name`` (the same as ``steps[name]``)."""
        return self.steps[name]

    @cached_property
    def outputs(self) -> VariantOutputs:
        """Every name the workflow produced, loaded from the store on first access."""
        return VariantOutputs(self)

    @api_boundary
    def display_events(self, step: str) -> list[dict[str, Any]]:
        """What step ``step`` showed when it ran (text, HTML, figures), as output events."""
        return self._store().get_json(self.steps[step].display)

    @api_boundary
    def diff(self, other: RecordedVariant) -> VariantDiff:
        """What changed from ``other`` to this variant: code per step, parameters, metrics."""
        return VariantDiff.between(other, self)

    @api_boundary
    def series(self, metric: str) -> pd.Series:
        """The values metric ``metric`` took while its step ran (``wfnb.log(loss=v, step=epoch)``), indexed by
        step: a curve to plot or to compare with another variant's. A metric logged once is one point."""
        import pandas as pd

        history = self.metrics_history
        rows = history[history["metric"] == metric]
        if rows.empty:
            raise UnknownName(
                f"{self.workflow}/{self.name} logged no metric {metric!r}; its metrics: "
                f"{', '.join(sorted(set(history['metric']))) or 'none'}."
            )
        last = rows["logged_by"].iloc[-1]  # the step whose value the variant keeps: a later step wins
        rows = rows[rows["logged_by"] == last]
        return pd.Series(list(rows["value"]), index=pd.Index(list(rows["step"]), name="step"), name=metric)

    @property
    def metrics_history(self) -> pd.DataFrame:
        """Every metric point the variant's steps logged: one row per ``(logged_by, metric, step, value)``,
        in order. A metric logged once is one row at step 0."""
        import pandas as pd

        rows = []
        for record in self.steps:
            series = record.series
            for metric, value in record.metrics.items():
                for step, point in series.get(metric, [(0, value)]):
                    rows.append({"logged_by": record.step, "metric": metric, "step": step, "value": point})
        return pd.DataFrame(rows, columns=["logged_by", "metric", "step", "value"])

    @property
    def nondeterministic(self) -> dict[str, dict[str, Any]]:
        """The steps a check (``replay(check=True)``) saw give other outputs: step → what differed."""
        return nondeterministic_steps(self._store(), self.workflow, self.number) if self.store is not None else {}

    @api_boundary
    def cells(self) -> str:
        """The variant's ``%%params`` cell and ``%%step`` cells as text, ready to copy into a notebook."""
        parts = [params_cell(self.params)] if self.params else []
        parts.extend(step_cell(record) for record in self.steps)
        return "\n\n".join(parts) + "\n"

    def __eq__(self, other: object) -> bool:  # a recorded variant equals the public one it became
        if not isinstance(other, RecordedVariant):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self) if f.compare)

    __hash__ = object.__hash__

    def _store(self) -> Store:
        if self.store is None:
            raise BadArgument(f"{self.name} was built without a store, so its values cannot be loaded.")
        return self.store

    def __repr__(self) -> str:
        tags = f" [{', '.join(self.tags)}]" if self.tags else ""
        params = ", ".join(f"{k}={v!r}" for k, v in self.params.items()) or "none"
        metrics = ", ".join(f"{k}={v!r}" for k, v in self.metrics.items()) or "none"
        return f"<Variant {self.workflow}/{self.name}{tags}: steps {', '.join(self.steps.names())}; params {params}; metrics {metrics}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(describe(self))


class Steps(Sequence[StepRecord]):
    """A variant's steps in notebook order, by position or by name; each read from the store on first use."""

    def __init__(self, owner: str, entries: Sequence[Mapping[str, Any]], store: Store | None) -> None:
        self._owner = owner  # "demo/v3", for messages
        self._entries = tuple(entries)  # {"step", "key", "record": digest}
        self._store = store
        self._loaded: dict[int, StepRecord] = {}

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if isinstance(index, str):
            index = self._position(index)
        index = range(len(self._entries))[index]
        if index not in self._loaded:
            if self._store is None:
                raise BadArgument(f"{self._owner} was built without a store, so its steps cannot be read.")
            self._loaded[index] = StepRecord.from_record(self._store.get_json(self._entries[index]["record"]))
        return self._loaded[index]

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self.names()
        return super().__contains__(item)

    def names(self) -> list[str]:
        """The step names in order, without reading any record."""
        return [entry["step"] for entry in self._entries]

    def branches(self) -> dict[str, str]:
        """Step → the branch its choices took (steps without a choice left out), without reading any record."""
        return {entry["step"]: entry["branch"] for entry in self._entries if isinstance(entry.get("branch"), str) and entry["branch"]}

    def entries(self) -> list[tuple[str, str, str]]:
        """``(step, key, record blob)`` of each step, as the manifest names them (nothing is read)."""
        return [(entry["step"], entry["key"], entry["record"]) for entry in self._entries]

    def uses(self) -> dict[str, dict[str, list[str]]]:
        """Step → the variants of other workflows it read (``{"prepare/v3": ["clean"]}``), without reading any record."""
        return {entry["step"]: entry["uses"] for entry in self._entries if isinstance(entry.get("uses"), dict) and entry["uses"]}

    def keys(self) -> list[str]:
        """The same as ``names()``, so that ``dict(v.steps)``-style code reads naturally."""
        return self.names()

    def _position(self, name: str) -> int:
        names = self.names()
        if name not in names:
            raise UnknownName(f"{self._owner} has no step {name!r}; its steps: {', '.join(names) or 'none'}.")
        return names.index(name)

    def __repr__(self) -> str:
        return f"<steps of {self._owner}: {', '.join(self.names()) or 'none'}>"


class VariantOutputs(Mapping[str, Any]):
    """A variant's values by name (the last step that produced a name wins), loaded lazily."""

    def __init__(self, variant: RecordedVariant) -> None:
        self._variant = variant
        self._producers: dict[str, StepRecord] = {}
        for record in variant.steps:
            for name in record.outputs:
                self._producers[name] = record
        self._loaded: dict[int, dict[str, Any]] = {}  # a step's values are read together (they may share parts)

    @api_boundary
    def __getitem__(self, name: str) -> Any:
        if name not in self._producers:
            raise UnknownName(
                f"{self._variant.workflow}/{self._variant.name} has no output {name!r}; its outputs: "
                f"{', '.join(self._producers) or 'none'}."
            )
        record = self._producers[name]
        if id(record) not in self._loaded:
            try:
                self._loaded[id(record)] = load_values(self._variant._store(), record.record)
            except CorruptObject as error:
                owner = f"{self._variant.workflow}/{self._variant.name}"
                when = let_go_at(self._variant._store(), self._variant.workflow, self._variant.number)
                if when is not None:
                    raise ValuesLetGo(
                        f"The values of {owner} were let go by `wfnb gc` ({when}); its code, parameters and metrics "
                        f"stay. wfnb.replay({owner!r}) (or `wfnb replay {owner}`) computes them again."
                    ) from None
                raise CorruptObject(
                    f"{error} If `wfnb gc` let the values of {owner} go (`wfnb du` says so), "
                    f"wfnb.replay({owner!r}) computes them again."
                ) from None
        note_output(self._variant, name, record.outputs[name])  # read in a step: an input of that step
        return self._loaded[id(record)][name]

    def __contains__(self, name: object) -> bool:  # without loading the value, as Mapping's default would
        return name in self._producers

    def __iter__(self) -> Iterator[str]:
        return iter(self._producers)

    def __len__(self) -> int:
        return len(self._producers)

    def __repr__(self) -> str:
        return f"<outputs of {self._variant.workflow}/{self._variant.name}: {', '.join(self._producers) or 'none'}>"


@dataclass(frozen=True)
class VariantDiff:
    """Differences between two variants of a workflow."""

    old: RecordedVariant
    new: RecordedVariant
    code: Mapping[str, str]  # step → unified diff ("" if unchanged); added/removed steps included
    params: Mapping[str, tuple[Any, Any]]
    metrics: Mapping[str, tuple[Any, Any]]
    branches: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # step → (branch taken in old, in new)

    @classmethod
    def between(cls, old: RecordedVariant, new: RecordedVariant) -> VariantDiff:
        old_steps = {s.step: s for s in old.steps}
        new_steps = {s.step: s for s in new.steps}
        names = [s.step for s in new.steps] + [s for s in old_steps if s not in new_steps]
        code = {}
        for name in names:
            before = old_steps[name].code if name in old_steps else ""
            after = new_steps[name].code if name in new_steps else ""
            lines = difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True), f"{old.name}/{name}", f"{new.name}/{name}"
            )
            code[name] = "".join(lines)
        taken = {name: (old_steps[name].branch, new_steps[name].branch) for name in names if name in old_steps and name in new_steps}
        branches = {name: pair for name, pair in taken.items() if pair[0] != pair[1]}
        return cls(old, new, code, _changes(old.params, new.params), _changes(old.metrics, new.metrics), branches)

    @property
    def changed_steps(self) -> list[str]:
        return [name for name, text in self.code.items() if text]

    def __str__(self) -> str:
        lines = [f"{self.old.name} → {self.new.name} ({self.new.workflow})"]
        for kind, changes in (("parameter", self.params), ("metric", self.metrics)):
            for name, (before, after) in changes.items():
                lines.append(f"{kind} {name}: {before!r} → {after!r}")
        for name, (before, after) in self.branches.items():
            lines.append(f"branch of step {name}: {before or '(no choice)'} → {after or '(no choice)'}")
        for name in self.changed_steps:
            lines.append(self.code[name].rstrip("\n"))
        if len(lines) == 1:
            lines.append("no differences")
        return "\n".join(lines)

    def __repr__(self) -> str:
        changed = ", ".join(self.changed_steps) or "no step"
        took = f"; branches of {', '.join(self.branches)}" if self.branches else ""
        return (f"<VariantDiff {self.old.name} → {self.new.name}: code of {changed}{took}; "
                f"{len(self.params)} parameter(s), {len(self.metrics)} metric(s) changed>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def describe(variant: RecordedVariant) -> str:
    """A few readable lines about a variant, for the terminal."""
    tags = f" [{', '.join(variant.tags)}]" if variant.tags else ""
    lines = [f"{variant.workflow}/{variant.name}{tags}"]
    lines.append(f"  created {variant.created}, parent {('v' + str(variant.parent)) if variant.parent else '—'}, hash {variant.identity[:12]}")
    if variant.params:
        lines.append("  params  " + ", ".join(f"{k}={v!r}" for k, v in variant.params.items()))
    if variant.metrics:
        lines.append("  metrics " + ", ".join(f"{k}={v!r}" for k, v in variant.metrics.items()))
    for record in variant.steps:
        mark = "*" if record.step in variant.changed_steps else " "
        took = f"  (took {record.branch})" if record.branch else ""
        lines.append(f" {mark} {record.step:<16} {record.duration_s:8.3f} s  → {', '.join(record.outputs) or '—'}{took}")
    return "\n".join(lines)


def params_cell(params: Mapping[str, Any]) -> str:
    """The ``%%params`` cell that sets ``params``."""
    return "%%params\n" + "\n".join(f"{name} = {value!r}" for name, value in params.items())


def step_cell(record: StepRecord) -> str:
    """The ``%%step`` cell of a recorded step: its line (with ``--deps``) and its code."""
    import shlex

    deps = record.record.get("deps", [])
    line = f"%%step {record.step}" + (" --deps " + " ".join(shlex.quote(d) for d in deps) if deps else "")
    return f"{line}\n{record.code.rstrip()}"


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def check_ref(workflow: str, number: int) -> str:
    """The ref holding what checks found about a variant."""
    return f"workflows/{workflow}/checks/{number:06d}"


def nondeterministic_steps(store: Store, workflow: str, number: int) -> dict[str, dict[str, Any]]:
    """Step → what a check saw differ (``{"seen", "outputs", "lines"}``), for a variant; {} if none was seen."""
    try:
        data = store.refs.read(check_ref(workflow, number)) or {}
    except CorruptObject:
        return {}
    found = data.get("nondeterministic")
    return dict(found) if isinstance(found, dict) else {}
