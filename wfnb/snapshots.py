"""Variants: numbered, consistent snapshots of a workflow (v1, v2, …) to list, compare and replay.

A variant names, for every step in notebook order, the record it used, plus
the parameters and metrics. It is written once, as a ref claimed by its number
(so two kernels never get the same number), and found again by its identity
(a hash of its steps' keys and parameters): returning to an earlier state
makes that variant current again instead of creating a copy.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from wfnb.errors import BadArgument, CorruptObject
from wfnb.names import check_name
from wfnb.stepvalues import load_values, output_digests

if TYPE_CHECKING:
    import pandas as pd

    from wfnb.store import Store
    from wfnb.workflow import WorkflowState

VARIANT_FORMAT_VERSION = 1  # bump when a manifest's fields change meaning
_NUMBER_REF = re.compile(r"v?(\d+)")


@dataclass(frozen=True)
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
    record: Mapping[str, Any] = field(repr=False, compare=False)

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
        )


@dataclass(frozen=True)
class Variant:
    """A consistent snapshot of one workflow; see the module docstring."""

    workflow: str
    number: int
    identity: str
    steps: Sequence[StepRecord] = field(compare=False)
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    parent: int | None
    changed_steps: tuple[str, ...]
    created: str
    tags: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)
    store: Store | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"v{self.number}"

    def step(self, name: str) -> StepRecord:
        for record in self.steps:
            if record.step == name:
                return record
        raise BadArgument(f"{self.name} of {self.workflow} has no step {name!r}; its steps: {', '.join(s.step for s in self.steps)}.")

    @cached_property
    def outputs(self) -> VariantOutputs:
        """Every name the workflow produced, loaded from the store on first access."""
        return VariantOutputs(self)

    def display_events(self, step: str) -> list[dict[str, Any]]:
        """What step ``step`` showed when it ran (text, HTML, figures), as output events."""
        return self._store().get_json(self.step(step).display)

    def diff(self, other: Variant) -> VariantDiff:
        """What changed from ``other`` to this variant: code per step, parameters, metrics."""
        return VariantDiff.between(other, self)

    def replay(self, **params: Any) -> Variant:
        """Run this variant's own code again, in a fresh namespace, with parameters overridden.

        Unchanged steps are restored from the cache, not run; the notebook's
        namespace and its current variant are not touched. Returns the variant
        that results (a new one if anything differs).
        """
        from wfnb.replayer import replay

        return replay(self, **params)

    def to_frame(self) -> pd.DataFrame:
        """One row per step: name, code, params, inputs, outputs, key."""
        from wfnb.interchange import variant_frame

        return variant_frame(self)

    def to_csv(self, path: str) -> None:
        """Write ``to_frame()`` to a CSV file that ``Workflow.from_csv`` reads back."""
        self.to_frame().to_csv(path, index=False)

    def to_notebook(self, path: str) -> None:
        """Write a clean notebook with the params cell and the step cells, with their stored outputs."""
        from wfnb.interchange import write_notebook

        write_notebook(self, path)

    def to_script(self, path: str) -> None:
        """Write a plain Python script that reproduces this variant without wfnb."""
        from wfnb.interchange import write_script

        write_script(self, path)

    def _store(self) -> Store:
        if self.store is None:
            raise BadArgument(f"{self.name} was built without a store, so its values cannot be loaded.")
        return self.store

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(describe(self))


class VariantOutputs(Mapping[str, Any]):
    """A variant's values by name (the last step that produced a name wins), loaded lazily."""

    def __init__(self, variant: Variant) -> None:
        self._variant = variant
        self._producers: dict[str, Any] = {}
        for record in variant.steps:
            for name in record.outputs:
                self._producers[name] = record
        self._loaded: dict[int, dict[str, Any]] = {}

    def __getitem__(self, name: str) -> Any:
        record = self._producers[name]
        if id(record) not in self._loaded:
            self._loaded[id(record)] = load_values(self._variant._store(), record.record)
        return self._loaded[id(record)][name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._producers)

    def __len__(self) -> int:
        return len(self._producers)


@dataclass(frozen=True)
class VariantDiff:
    """Differences between two variants of a workflow."""

    old: Variant
    new: Variant
    code: Mapping[str, str]  # step → unified diff ("" if unchanged); added/removed steps included
    params: Mapping[str, tuple[Any, Any]]
    metrics: Mapping[str, tuple[Any, Any]]

    @classmethod
    def between(cls, old: Variant, new: Variant) -> VariantDiff:
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
        return cls(old, new, code, _changes(old.params, new.params), _changes(old.metrics, new.metrics))

    @property
    def changed_steps(self) -> list[str]:
        return [name for name, text in self.code.items() if text]

    def __str__(self) -> str:
        lines = [f"{self.old.name} → {self.new.name} ({self.new.workflow})"]
        for kind, changes in (("parameter", self.params), ("metric", self.metrics)):
            for name, (before, after) in changes.items():
                lines.append(f"{kind} {name}: {before!r} → {after!r}")
        for name in self.changed_steps:
            lines.append(self.code[name].rstrip("\n"))
        if len(lines) == 1:
            lines.append("no differences")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


# -- writing ------------------------------------------------------------------


def record_variant(
    store: Store, state: WorkflowState, parent: int | None, grow: int | None = None
) -> tuple[Variant, bool]:
    """The variant for a consistent ``state``: an existing one with the same identity, or a new one.

    ``grow`` names a variant this session just created: if ``state`` only adds
    steps (and parameters) to it, that variant is extended in place instead,
    so that a first run through a notebook makes one variant, not one per step.
    Returns the variant and whether a new number was created.
    """
    identity = state.identity()
    known = store.refs.read(_identity_ref(state.name, identity))
    if known is not None:
        try:
            return load_variant(store, state.name, int(known["variant"])), False
        except (BadArgument, CorruptObject, KeyError, ValueError, TypeError):
            pass  # a damaged or dangling pointer: record the state again
    steps = [{"step": step, "key": state.records[step]["key"], "record": store.put_json(state.records[step])} for step in state.order]
    grown = _growable(store, state, steps, grow)
    if grown is not None:
        parent = grown.parent
    previous = load_variant(store, state.name, parent) if parent is not None else None
    manifest = {
        "variant_format": VARIANT_FORMAT_VERSION,
        "workflow": state.name,
        "identity": identity,
        "steps": steps,
        "params": dict(state.params),
        "metrics": state.metrics(),
        "parent": parent,
        "changed_steps": _changed_steps(previous, steps),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if grown is not None:
        manifest["created"] = grown.created
        store.refs.replace(_variant_ref(state.name, grown.number), {**manifest, "number": grown.number})
        store.refs.delete(_identity_ref(state.name, grown.identity))
        store.refs.create(_identity_ref(state.name, identity), {"variant": grown.number})
        return load_variant(store, state.name, grown.number), False
    number = _next_number(store, state.name)
    while not store.refs.create(_variant_ref(state.name, number), {**manifest, "number": number}):
        number += 1  # another kernel took this number first
    store.refs.create(_identity_ref(state.name, identity), {"variant": number})
    return load_variant(store, state.name, number), True


def _growable(store: Store, state: WorkflowState, steps: list[dict[str, Any]], number: int | None) -> Variant | None:
    """The variant ``number`` if ``steps`` and the parameters only add to it and it has no tag yet."""
    if number is None:
        return None
    try:
        earlier = load_variant(store, state.name, number)
    except BadArgument:
        return None
    keys = [(s.step, s.key) for s in earlier.steps]
    same_start = [(e["step"], e["key"]) for e in steps[: len(keys)]] == keys
    params_kept = all(state.params.get(k, object()) == v for k, v in earlier.params.items())
    return earlier if same_start and len(steps) > len(keys) and params_kept and not earlier.tags else None


def set_current(store: Store, workflow: str, number: int) -> None:
    """Make variant ``number`` the workflow's current one (what a new kernel starts from)."""
    store.refs.replace(f"workflows/{workflow}/HEAD", {"variant": number})


def current_number(store: Store, workflow: str) -> int | None:
    head = store.refs.read(f"workflows/{workflow}/HEAD")
    return _pointer(head, f"workflows/{workflow}/HEAD") if head else None


def tag_variant(store: Store, variant: Variant, name: str, note: str | None = None) -> None:
    """Give a variant a name, unique in its workflow, with an optional note."""
    check_name("tag", name)
    if _NUMBER_REF.fullmatch(name):
        raise BadArgument(f"The tag {name!r} looks like a variant number; choose a name such as 'baseline'.")
    data = {"variant": variant.number, "note": note or "", "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if not store.refs.create(f"workflows/{variant.workflow}/tags/{name}", data):
        holder = store.refs.read(f"workflows/{variant.workflow}/tags/{name}") or {}
        raise BadArgument(
            f"The tag {name!r} already names v{holder.get('variant', '?')} of {variant.workflow}; tags are unique "
            "per workflow. Choose another name."
        )


# -- reading ------------------------------------------------------------------


def workflows(store: Store) -> list[str]:
    """Names of the workflows with at least one variant."""
    names = {ref.split("/")[1] for ref in store.refs.names("workflows") if "/variants/" in ref}
    return sorted(names)


def list_variants(store: Store, workflow: str) -> list[Variant]:
    """Every variant of ``workflow``, oldest first."""
    check_name("workflow", workflow)
    tags = _tags(store, workflow)
    found = []
    for ref in store.refs.names(f"workflows/{workflow}/variants"):
        manifest = store.refs.read(ref)
        if manifest is not None:
            found.append(_from_manifest(store, manifest, tags))
    return sorted(found, key=lambda v: v.number)


def load_variant(store: Store, workflow: str, number: int) -> Variant:
    manifest = store.refs.read(_variant_ref(workflow, number))
    if manifest is None:
        raise BadArgument(f"Workflow {workflow!r} has no variant v{number}. `wfnb list {workflow}` shows its variants.")
    return _from_manifest(store, manifest, _tags(store, workflow))


def resolve(store: Store, ref: str | int | Variant, workflow: str | None = None) -> Variant:
    """A variant from ``v3``, ``3``, a tag, or a unique prefix (4+ characters) of its identity hash.

    ``workflow`` narrows the search; without it, every workflow is searched and
    an ambiguous reference is an error that lists the candidates. ``wf/v3``
    names the workflow inline.
    """
    if isinstance(ref, Variant):
        return ref
    text = str(ref).strip()
    if "/" in text:
        workflow, text = text.split("/", 1)
    names = [check_name("workflow", workflow)] if workflow else workflows(store)
    matches: list[Variant] = []
    for name in names:
        number = _NUMBER_REF.fullmatch(text)
        if number and store.refs.read(_variant_ref(name, int(number.group(1)))) is not None:
            matches.append(load_variant(store, name, int(number.group(1))))
            continue
        tag = store.refs.read(f"workflows/{name}/tags/{text}") if _is_ref_name(text) else None
        if tag is not None:
            matches.append(load_variant(store, name, _pointer(tag, f"workflows/{name}/tags/{text}")))
        elif len(text) >= 4 and re.fullmatch(r"[0-9a-f]+", text):  # digits only may still be a hash prefix
            matches.extend(v for v in list_variants(store, name) if v.identity.startswith(text))
    if len(matches) == 1:
        return matches[0]
    where = f"workflow {workflow!r}" if workflow else f"the store at {store.root}"
    if not matches:
        raise BadArgument(
            f"No variant {text!r} in {where}. Refer to a variant as v3, by its tag, or by a unique prefix of its "
            "hash (at least 4 characters); `wfnb list` shows them."
        )
    choices = ", ".join(f"{v.workflow}/{v.name}" for v in matches[:10])
    raise BadArgument(f"{text!r} is ambiguous in {where}: it matches {choices}. Use a longer prefix or WORKFLOW/v3.")


def variants_frame(store: Store, workflow: str | None = None) -> pd.DataFrame:
    """One row per variant: number, tag, created, parent, changed steps, status, then parameters and metrics."""
    import pandas as pd

    names = [workflow] if workflow else workflows(store)
    rows = []
    for name in names:
        current = current_number(store, name)
        for v in list_variants(store, name):
            row = {
                "workflow": v.workflow,
                "variant": v.name,
                "tag": ", ".join(v.tags),
                "created": v.created,
                "parent": f"v{v.parent}" if v.parent is not None else "",
                "changed_steps": list(v.changed_steps),
                "status": "current" if v.number == current else "complete",
                "hash": v.identity[:12],
            }
            row.update({f"param {k}" if k in row else k: value for k, value in v.params.items()})
            row.update({f"metric {k}" if k in row else k: value for k, value in v.metrics.items()})
            rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else ["workflow", "variant", "tag", "created", "parent", "changed_steps", "status", "hash"])
    if rows:
        frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    return frame


def describe(variant: Variant) -> str:
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
        lines.append(f" {mark} {record.step:<16} {record.duration_s:8.3f} s  → {', '.join(record.outputs) or '—'}")
    return "\n".join(lines)


def _from_manifest(store: Store, manifest: Mapping[str, Any], tags: Mapping[int, list[tuple[str, str]]]) -> Variant:
    _check_manifest(store, manifest)
    number = manifest["number"]
    steps = tuple(_LazyStep(store, entry) for entry in manifest["steps"])
    return Variant(
        workflow=manifest["workflow"],
        number=number,
        identity=manifest["identity"],
        steps=_Steps(steps),
        params=manifest.get("params", {}),
        metrics=manifest.get("metrics", {}),
        parent=manifest.get("parent"),
        changed_steps=tuple(manifest.get("changed_steps", ())),
        created=manifest.get("created", ""),
        tags=tuple(name for name, _ in tags.get(number, [])),
        notes={name: note for name, note in tags.get(number, []) if note},
        store=store,
    )


_MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "number": (int,),
    "workflow": (str,),
    "identity": (str,),
    "steps": (list,),
    "params": (dict,),
    "metrics": (dict,),
    "parent": (int, type(None)),
    "changed_steps": (list,),
    "created": (str,),
}


def _check_manifest(store: Store, manifest: Any) -> None:
    """A manifest is read as written by ``record_variant``, or reported as damaged: never half-trusted."""
    problem = ""
    if not isinstance(manifest, Mapping):
        problem = "it is not a JSON object"
    else:
        for name, types in _MANIFEST_FIELDS.items():
            value = manifest.get(name, [] if name == "changed_steps" else None)
            if type(value) not in types or (name == "number" and value < 1):
                problem = f"its field {name!r} is {_shown(value)}"
                break
        else:
            for entry in manifest["steps"]:
                if not (isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("step", "key", "record"))):
                    problem = f"a step entry is {_shown(entry)}, not {{step, key, record}}"
                    break
    if problem:
        raise CorruptObject(
            f"A variant manifest in the store at {store.root} is damaged: {problem}. It was not written by wfnb "
            "as it is now; run `wfnb verify`, and remove or restore that ref (under refs/workflows/)."
        )


def _pointer(data: Any, ref: str) -> int:
    """The variant number a pointer ref (HEAD, tag, identity) holds; CorruptObject if it holds none."""
    number = data.get("variant") if isinstance(data, dict) else None
    if type(number) is not int:
        raise CorruptObject(
            f"The ref {ref} is damaged: it should name a variant number, but holds {_shown(data)}. "
            "Run `wfnb verify`, then remove that ref or point it at a variant again."
        )
    return number


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _LazyStep:
    """A step entry whose record is read from the store only when used (listing needs none)."""

    def __init__(self, store: Store, entry: Mapping[str, Any]) -> None:
        self.store, self.entry = store, entry

    def load(self) -> StepRecord:
        return StepRecord.from_record(self.store.get_json(self.entry["record"]))


class _Steps(Sequence[StepRecord]):
    """The steps of a variant, each read from the store on first access."""

    def __init__(self, lazy: tuple[_LazyStep, ...]) -> None:
        self._lazy = lazy
        self._loaded: dict[int, StepRecord] = {}

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self._lazy))[index]
        if index not in self._loaded:
            self._loaded[index] = self._lazy[index].load()
        return self._loaded[index]

    def __len__(self) -> int:
        return len(self._lazy)

    def names(self) -> list[str]:
        """The step names in order, without reading any record."""
        return [lazy.entry["step"] for lazy in self._lazy]


def _changed_steps(previous: Variant | None, steps: list[dict[str, Any]]) -> list[str]:
    if previous is None:
        return [entry["step"] for entry in steps]
    before = {s.step: s.key for s in previous.steps}
    changed = [entry["step"] for entry in steps if before.get(entry["step"]) != entry["key"]]
    return changed + [step for step in before if step not in {e["step"] for e in steps}]


def _tags(store: Store, workflow: str) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for ref in store.refs.names(f"workflows/{workflow}/tags"):
        data = store.refs.read(ref)
        if data is not None:
            found.setdefault(_pointer(data, ref), []).append((ref.rsplit("/", 1)[1], str(data.get("note", ""))))
    return found


def _next_number(store: Store, workflow: str) -> int:
    names = [ref.rsplit("/", 1)[1] for ref in store.refs.names(f"workflows/{workflow}/variants")]
    numbers = [int(name) for name in names if name.isdigit()]
    return max(numbers, default=0) + 1


def _variant_ref(workflow: str, number: int) -> str:
    return f"workflows/{workflow}/variants/{number:06d}"


def _identity_ref(workflow: str, identity: str) -> str:
    return f"workflows/{workflow}/states/{identity}"


def _is_ref_name(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_.\-]{1,128}", text)) and set(text) != {"."}
