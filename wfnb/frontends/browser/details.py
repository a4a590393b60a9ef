"""What the browser shows of one variant, of two variants compared, and of the step graph, as data.

Everything here is read from Variant objects (step records and captured
outputs come from the store once per selection), so that ``render`` and
``plots`` turn plain data into HTML and pictures without touching the store,
and tests check content without parsing HTML.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from wfnb.errors import WfnbError
from wfnb.frontends.browser.table import parse_time
from wfnb.history.links import uses_of
from wfnb.history.state import data_flow

if TYPE_CHECKING:
    from wfnb.history.snapshots import RecordedVariant

Event = Mapping[str, Any]  # a captured output event, see wfnb.cache.capture
Image = tuple[str, str]  # (mime type, base64 data or SVG text)
Reuse = Literal["ran", "cached", "reused"]
NodeStatus = Literal["fresh", "stale", "never-run", "unknown"]
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


@dataclass(frozen=True)
class StepDetail:
    """One step of a variant as it ran: code, outputs, time, and whether its result was reused."""

    step: str
    code: str
    events: tuple[Event, ...]
    events_error: str  # why the outputs could not be read ("" when they were)
    duration_s: float
    reuse: Reuse  # ran for this variant, restored from an earlier run, or the parent's own result
    changed: bool  # differs from the parent
    outputs: tuple[str, ...]
    metrics: Mapping[str, Any]
    loaded: bool = True  # whether ``events`` were read (a folded step's are read when it opens)
    branch: str = ""  # the branch its choices took ("else"), see wfnb.cache.branches
    nondeterministic: str = ""  # what a check saw differ on a fresh run ("" if it never did)


@dataclass(frozen=True)
class Detail:
    """A variant with its lineage and steps, ready to show."""

    ref: str
    workflow: str
    name: str
    tags: tuple[str, ...]
    notes: Mapping[str, str]
    created: str
    parent: str | None
    changed: tuple[str, ...]
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    identity: str
    status: str
    steps: tuple[StepDetail, ...]


@dataclass(frozen=True)
class StepComparison:
    """One step in two variants: its code in each (None: absent)."""

    step: str
    old_code: str | None
    new_code: str | None
    changed: bool  # its code differs
    rerun: bool  # same code, but a different key: it ran on other inputs or parameters
    old_branch: str = ""  # the branch its choices took in each ("" when it has none)
    new_branch: str = ""


@dataclass(frozen=True)
class Comparison:
    """``new``'s code against ``old``'s, step by step (their values are compared in ``SideBySide``)."""

    old: str  # "v1"
    new: str
    workflow: str
    steps: tuple[StepComparison, ...]


@dataclass(frozen=True)
class Column:
    """One variant in a side-by-side comparison."""

    ref: str
    name: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ValueRow:
    """A parameter or metric across the compared variants (None: the variant has none)."""

    name: str
    values: tuple[Any, ...]

    @property
    def differs(self) -> bool:
        return len({repr(value) for value in self.values}) > 1


@dataclass(frozen=True)
class FigureRow:
    """The figures one step showed, per compared variant."""

    step: str
    images: tuple[tuple[Image, ...], ...]


@dataclass(frozen=True)
class SideBySide:
    """Two or more variants side by side: parameters, metrics, changed steps, figures."""

    variants: tuple[Column, ...]
    params: tuple[ValueRow, ...]
    metrics: tuple[ValueRow, ...]
    changed: tuple[tuple[str, ...], ...]  # per variant: steps that differ from the first one
    figures: tuple[FigureRow, ...]


@dataclass(frozen=True)
class Choice:
    """One choice a step's code reached (``if method == "ewm": … else: …``): its paths, and the one it took."""

    line: int
    paths: tuple[str, ...]
    taken: str


@dataclass(frozen=True)
class DagNode:
    step: str
    status: NodeStatus
    reason: str
    changed: bool
    params: tuple[str, ...]  # parameters the step reads
    choices: tuple[Choice, ...] = ()  # its choices reached: each one's paths and the one taken
    external: Literal["", "upstream", "downstream"] = ""  # a variant of another workflow this one reads, or that reads it


@dataclass(frozen=True)
class Dag:
    """The steps of a variant linked by data flow; statuses are the notebook's, when it has this workflow."""

    title: str
    nodes: tuple[DagNode, ...]
    edges: tuple[tuple[str, str, tuple[str, ...]], ...]  # (upstream, step, names read)
    live: bool  # statuses come from a running notebook
    notebook_at: str = ""  # when the notebook is at another variant of this workflow: which ("v3")


def variant_detail(
    variant: RecordedVariant, parent: RecordedVariant | None, status: str, opened: Collection[str] | None = None, eager_bytes: int = 0
) -> Detail:
    """The detail of ``variant``; ``parent`` (its parent variant, if still there) tells what was reused.

    The outputs of the steps in ``opened`` are read (None: every step's), and
    of the others while less than ``eager_bytes`` were read, so that a folded
    step unfolds in the page at once; past that (a figure can weigh hundreds
    of kilobytes) a step's outputs are read when it is opened.
    """
    unsteady = getattr(variant, "nondeterministic", {}) or {}
    steps = []
    spent = 0
    for record in variant.steps:
        loaded = opened is None or record.step in opened or spent < eager_bytes
        events, error = step_events(variant, record.step) if loaded else ([], "")
        spent += sum(len(str(event)) for event in events)
        steps.append(
            StepDetail(
                step=record.step,
                code=record.code,
                events=tuple(events),
                events_error=error,
                duration_s=record.duration_s,
                reuse=_reuse(variant, record.step, record.started, parent),
                changed=record.step in variant.changed_steps,
                outputs=tuple(record.outputs),
                metrics=dict(record.metrics),
                loaded=loaded,
                branch=record.branch,
                nondeterministic="; ".join(unsteady[record.step].get("lines", [])) if record.step in unsteady else "",
            )
        )
    return Detail(
        ref=f"{variant.workflow}/{variant.name}",
        workflow=variant.workflow,
        name=variant.name,
        tags=tuple(variant.tags),
        notes=dict(variant.notes),
        created=variant.created,
        parent=f"v{variant.parent}" if variant.parent is not None else None,
        changed=tuple(variant.changed_steps),
        params=dict(variant.params),
        metrics=dict(variant.metrics),
        identity=variant.identity,
        status=status,
        steps=tuple(steps),
    )


def compare_variants(old: RecordedVariant, new: RecordedVariant) -> Comparison:
    """The code of each step in both, in the new variant's order, then the steps it dropped."""
    diff = new.diff(old)
    old_steps = {s.step: s for s in old.steps}
    new_steps = {s.step: s for s in new.steps}
    steps = []
    for name in diff.code:  # the new variant's steps in order, then the ones it dropped
        steps.append(
            StepComparison(
                step=name,
                old_code=old_steps[name].code if name in old_steps else None,
                new_code=new_steps[name].code if name in new_steps else None,
                changed=bool(diff.code[name]),
                rerun=not diff.code[name] and name in old_steps and name in new_steps and old_steps[name].key != new_steps[name].key,
                old_branch=old_steps[name].branch if name in old_steps else "",
                new_branch=new_steps[name].branch if name in new_steps else "",
            )
        )
    return Comparison(old=old.name, new=new.name, workflow=new.workflow, steps=tuple(steps))


def step_graph(
    variant: RecordedVariant,
    statuses: Mapping[str, tuple[str, str]] | None,
    notebook_at: str = "",
    used_by: Sequence[tuple[str, str, tuple[str, ...]]] = (),
) -> Dag:
    """The data-flow graph of ``variant``'s steps; ``statuses`` (the notebook's, given only when the
    notebook is at this variant or left it) marks stale steps; ``notebook_at`` says where it is otherwise.

    Variants of other workflows are drawn too: those a step read (``wfnb.variant("prepare/v3")``) above
    the steps, and those that read this one (``used_by``: ``(other/vN, its step, names)``) below them.
    """
    order = [record.step for record in variant.steps]
    records = {record.step: record.record for record in variant.steps}
    grouped: dict[tuple[str, str], list[str]] = {}
    for upstream, step, name in data_flow(order, records):
        grouped.setdefault((upstream, step), []).append(name)
    sources: dict[str, None] = {}
    for record in variant.steps:
        for other, names in uses_of(record.record).items():
            sources[other] = None
            grouped.setdefault((other, record.step), []).extend(names or ["(its values)"])
    producers = {name: record.step for record in variant.steps for name in record.outputs}
    readers: dict[str, None] = {}
    for other, step, names in used_by:
        reader = f"{other} · {step}"
        readers[reader] = None
        for name in names or ("(its values)",):
            grouped.setdefault((producers.get(name, order[-1] if order else ""), reader), []).append(name)
    nodes = [DagNode(step=other, status="unknown", reason="", changed=False, params=(), external="upstream") for other in sources]
    for record in variant.steps:
        status, reason = (statuses or {}).get(record.step, ("unknown", ""))
        nodes.append(
            DagNode(
                step=record.step,
                status=status if status in ("fresh", "stale", "never-run") else "unknown",  # type: ignore[arg-type]  # narrowed by the test, which mypy does not follow
                reason=reason,
                changed=variant.parent is not None and record.step in variant.changed_steps,
                params=tuple(sorted(record.params)),
                choices=tuple(Choice(int(b.get("line", 0)), tuple(b.get("paths", ())), str(b.get("taken", ""))) for b in record.branches),
            )
        )
    nodes += [DagNode(step=reader, status="unknown", reason="", changed=False, params=(), external="downstream") for reader in readers]
    stale = sum(node.status == "stale" for node in nodes)
    if statuses is None:
        title = f"{variant.workflow}/{variant.name}: steps by data flow"
        if notebook_at:
            title += f" (the notebook is at {notebook_at}: its stale marks are not this variant's)"
    else:
        title = f"{variant.workflow}/{variant.name} in this notebook now: " + (f"{stale} stale step{'s' if stale != 1 else ''}" if stale else "no stale step")
    edges = tuple((up, down, tuple(names)) for (up, down), names in grouped.items())
    return Dag(title=title, nodes=tuple(nodes), edges=edges, live=statuses is not None, notebook_at=notebook_at)


def side_by_side(variants: Sequence[RecordedVariant]) -> SideBySide:
    """Every parameter and metric of any of ``variants``, the steps each changed from the first, and
    the figures of each step that showed any, one column per variant."""
    first = {record.step: record.key for record in variants[0].steps}
    changed = tuple(
        tuple(record.step for record in variant.steps if first.get(record.step) != record.key) for variant in variants
    )
    figures = []
    for step in _steps_in_order(variants):
        images = tuple(_images(variant, step) if step in _step_names(variant) else () for variant in variants)
        if any(images):
            figures.append(FigureRow(step, images))
    return SideBySide(
        variants=tuple(Column(f"{v.workflow}/{v.name}", v.name, tuple(v.tags)) for v in variants),
        params=_value_rows([v.params for v in variants]),
        metrics=_value_rows([v.metrics for v in variants]),
        changed=changed,
        figures=tuple(figures),
    )


def _value_rows(sources: Sequence[Mapping[str, Any]]) -> tuple[ValueRow, ...]:
    names: dict[str, None] = {}
    for source in sources:
        names.update(dict.fromkeys(source))
    return tuple(ValueRow(name, tuple(source.get(name) for source in sources)) for name in names)


def _step_names(variant: RecordedVariant) -> list[str]:
    steps = variant.steps
    return steps.names() if hasattr(steps, "names") else [record.step for record in steps]


def _steps_in_order(variants: Sequence[RecordedVariant]) -> list[str]:
    order: dict[str, None] = {}
    for variant in variants:
        order.update(dict.fromkeys(_step_names(variant)))
    return list(order)


def step_events(variant: RecordedVariant, step: str) -> tuple[list[Event], str]:
    """The output events of one step, or none and why (a damaged or missing object)."""
    try:
        return list(variant.display_events(step)), ""
    except WfnbError as error:
        return [], f"the outputs of step {step} could not be read: {error}"


def images_of(events: list[Event] | tuple[Event, ...]) -> tuple[Image, ...]:
    """The figures among output events, in order, honouring ``clear`` events."""
    found: list[Image] = []
    for event in events:
        if event.get("kind") == "clear":
            found = []
            continue
        data = event.get("data") or {}
        for mime in IMAGE_TYPES:
            if mime in data:
                found.append((mime, str(data[mime])))
                break
    return tuple(found)


def _images(variant: RecordedVariant, step: str) -> tuple[Image, ...]:
    events, _ = step_events(variant, step)
    return images_of(events)


def _reuse(variant: RecordedVariant, step: str, started: str, parent: RecordedVariant | None) -> Reuse:
    """A step the parent had unchanged is reused; one computed before the parent existed was restored."""
    if parent is None:
        return "ran"
    if step not in variant.changed_steps:
        return "reused"
    ran_at, parent_at = parse_time(started), parse_time(parent.created)
    return "cached" if ran_at and parent_at and ran_at < parent_at else "ran"
