"""Variants: numbered, consistent snapshots of a workflow (v1, v2, …), kept as refs in the store.

A variant names, for every step in notebook order, the record it used, plus
the parameters and metrics. It is written once, as a ref claimed by its number
(so two kernels never get the same number), and found again by its identity
(a hash of its steps' keys and parameters): returning to an earlier state
makes that variant current again instead of creating a copy. ``HEAD`` names the
workflow's current variant, tags name variants for people.

Refs under ``refs/workflows/<workflow>/``: ``variants/000003`` (manifests),
``states/<identity>`` (identity → number), ``tags/<name>``, ``HEAD``. A damaged
one is never half-trusted: loading it directly is a ``CorruptObject`` that says
what to do; a listing leaves it out and says so once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from wfnb.cache.branches import describe as describe_branches
from wfnb.cache.execution import warn
from wfnb.cache.stepvalues import output_digests
from wfnb.errors import BadArgument, CorruptObject, check_name
from wfnb.history.links import uses_of
from wfnb.history.records import RecordedVariant, StepRecord, Steps

if TYPE_CHECKING:
    from wfnb.history.state import WorkflowState
    from wfnb.store import Store

__all__ = [
    "RecordedVariant", "StepRecord", "current_number", "head_ref", "known_variant", "list_variants", "load_variant", "newest_number",
    "record_variant", "resolve", "set_current", "tag_variant", "variant_ref", "workflows",
]

VARIANT_FORMAT_VERSION = 2  # bump when a manifest's fields change meaning (2: the identity counts the outputs)
_NUMBER_REF = re.compile(r"v?(\d+)")


# -- writing ------------------------------------------------------------------


def record_variant(
    store: Store, state: WorkflowState, parent: int | None, grow: int | None = None
) -> tuple[RecordedVariant, bool]:
    """The variant for a consistent ``state``: an existing one with the same identity, or a new one.

    ``grow`` names a variant this session just created: if ``state`` only adds
    steps (and parameters) to it, that variant is extended in place instead,
    so that a first run through a notebook makes one variant, not one per step.
    Returns the variant and whether a new number was created.
    """
    identity = state.identity()
    known = _known_state(store, state, identity)
    if known is not None:
        return known, False
    steps = [_entry(store, step, state.records[step]) for step in state.order]
    grown = _growable(store, state, steps, grow)
    if grown is not None:
        parent = grown.parent
    previous = readable_variant(store, state.name, parent)
    parent = previous.number if previous is not None else None  # never name a parent that is gone
    manifest = {
        "variant_format": VARIANT_FORMAT_VERSION,
        "workflow": state.name,
        "identity": identity,
        "steps": steps,
        "params": dict(state.params),
        "metrics": state.metrics(),
        "parent": parent,
        "changed_steps": steps_changed(previous, steps),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if grown is not None:
        manifest["created"] = grown.created
        store.refs.replace(variant_ref(state.name, grown.number), {**manifest, "number": grown.number})
        store.refs.delete(identity_ref(state.name, grown.identity))
        store.refs.replace(identity_ref(state.name, identity), {"variant": grown.number})
        return load_variant(store, state.name, grown.number), False
    number = _next_number(store, state.name)
    while not _claim(store, state.name, number, {**manifest, "number": number}):
        number += 1  # another kernel took this number first, or a deleted variant had it
    store.refs.replace(identity_ref(state.name, identity), {"variant": number})
    return load_variant(store, state.name, number), True


def known_variant(store: Store, state: WorkflowState) -> RecordedVariant | None:
    """The variant already recorded for a consistent ``state``, if any; writes nothing (a read-only store)."""
    return _known_state(store, state, state.identity())


def refill_variant(store: Store, state: WorkflowState, variant: RecordedVariant) -> RecordedVariant | None:
    """``variant`` again, for a ``state`` made by replaying it after ``wfnb gc`` let its values go.

    The same steps, code and parameters are the same variant: when its steps
    gave the same outputs, the identity finds it; when some step gives other
    ones (it draws random numbers), its manifest now names the new results, so
    that the values come back under its number (and its tags, pins and notes)
    instead of as a copy that ``diff`` calls identical. None when ``state`` is
    not that variant's recipe.
    """
    same_steps = [s.step for s in variant.steps] == list(state.order) and all(
        state.records.get(s.step, {}).get("code_hash") == s.record.get("code_hash") for s in variant.steps
    )
    if not same_steps or _canonical(state.params) != _canonical(variant.params):
        return None
    identity = state.identity()
    known = _known_state(store, state, identity)
    if known is not None:
        return known
    manifest = store.refs.read(variant_ref(state.name, variant.number))
    if manifest is None:
        return None
    steps = [_entry(store, step, state.records[step]) for step in state.order]
    store.refs.replace(variant_ref(state.name, variant.number), {**manifest, "identity": identity, "steps": steps, "metrics": state.metrics()})
    store.refs.delete(identity_ref(state.name, variant.identity))
    store.refs.replace(identity_ref(state.name, identity), {"variant": variant.number})
    return load_variant(store, state.name, variant.number)


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def _known_state(store: Store, state: WorkflowState, identity: str) -> RecordedVariant | None:
    """The variant already recorded for this state, if any: by its identity, or by the identity of
    variants recorded before outputs counted in it, if that variant's steps gave the same outputs."""
    for candidate, legacy in ((identity, False), (state.legacy_identity(), True)):
        try:
            known = store.refs.read(identity_ref(state.name, candidate))
            if known is None:
                continue
            found = load_variant(store, state.name, pointer(known, identity_ref(state.name, candidate)))
        except (BadArgument, CorruptObject):
            continue  # a damaged or dangling pointer: record the state again, and point it at the new variant
        if found.identity == candidate and (not legacy or _same_outputs(found, state)):
            return found
    return None


def _same_outputs(variant: RecordedVariant, state: WorkflowState) -> bool:
    try:
        return [(s.step, dict(s.outputs)) for s in variant.steps] == [
            (step, output_digests(state.records[step])) for step in state.order if step in state.records
        ]
    except (BadArgument, CorruptObject):
        return False


def _entry(store: Store, step: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest's entry for one step: its key and record blob, and the branch it took (read by listings
    without loading the record)."""
    entry = {"step": step, "key": record["key"], "record": store.put_json(record)}
    taken = describe_branches(record.get("branches"))
    if taken:
        entry["branch"] = taken
    uses = uses_of(record)
    if uses:
        entry["uses"] = uses
    return entry


def _growable(store: Store, state: WorkflowState, steps: list[dict[str, Any]], number: int | None) -> RecordedVariant | None:
    """The variant ``number`` if ``steps`` and the parameters only add to it and it has no tag yet."""
    if number is None:
        return None
    earlier = readable_variant(store, state.name, number)
    if earlier is None:
        return None
    keys = [(s.step, s.key, dict(s.outputs)) for s in earlier.steps]
    same_start = [(e["step"], e["key"], output_digests(state.records[e["step"]])) for e in steps[: len(keys)]] == keys
    params_kept = all(state.params.get(k, object()) == v for k, v in earlier.params.items())
    return earlier if same_start and len(steps) > len(keys) and params_kept and not earlier.tags else None


def set_current(store: Store, workflow: str, number: int) -> None:
    """Make variant ``number`` the workflow's current one (what a new kernel starts from)."""
    store.refs.replace(head_ref(workflow), {"variant": number})


def current_number(store: Store, workflow: str) -> int | None:
    """The number HEAD names, None without a HEAD; CorruptObject if HEAD is damaged."""
    head = store.refs.read(head_ref(workflow))
    return pointer(head, head_ref(workflow)) if head is not None else None


def newest_number(store: Store, workflow: str) -> int | None:
    """The highest variant number whose manifest is readable (what to start from when HEAD is lost)."""
    for number in sorted(_numbers(store, workflow), reverse=True):
        if readable_variant(store, workflow, number) is not None:
            return number
    return None


def tag_variant(store: Store, variant: RecordedVariant, name: str, note: str | None = None) -> None:
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


def list_variants(store: Store, workflow: str) -> list[RecordedVariant]:
    """Every readable variant of ``workflow``, oldest first; a damaged one is left out, with a warning."""
    check_name("workflow", workflow)
    tags = _tags(store, workflow)
    pins = pinned_numbers(store, workflow)
    found = []
    for ref in store.refs.names(f"workflows/{workflow}/variants"):
        try:
            manifest = store.refs.read(ref)
            if manifest is not None:
                found.append(_from_manifest(store, manifest, tags, ref, pins))
        except CorruptObject as error:
            _warn_skipped(ref, error)
    return sorted(found, key=lambda v: v.number)


def load_variant(store: Store, workflow: str, number: int) -> RecordedVariant:
    """Variant ``number`` of ``workflow``: BadArgument if there is none, CorruptObject if it is damaged."""
    ref = variant_ref(workflow, number)
    manifest = store.refs.read(ref)
    if manifest is None:
        raise BadArgument(f"Workflow {workflow!r} has no variant v{number}. `wfnb list {workflow}` shows its variants.")
    return _from_manifest(store, manifest, _tags(store, workflow), ref, pinned_numbers(store, workflow))


def resolve(store: Store, ref: str | int | RecordedVariant, workflow: str | None = None) -> RecordedVariant:
    """A variant from ``v3``, ``3``, a tag, or a unique prefix (4+ characters) of its identity hash.

    ``workflow`` narrows the search; without it, every workflow is searched and
    an ambiguous reference is an error that lists the candidates. ``wf/v3``
    names the workflow inline; a workflow's name alone (``"prepare"``), when it
    names no variant of ``workflow``, names that workflow's current variant.
    """
    if isinstance(ref, RecordedVariant):
        return ref
    text = str(ref).strip()
    if "/" in text:
        workflow, text = text.split("/", 1)
    names = [check_name("workflow", workflow)] if workflow else workflows(store)
    matches: list[RecordedVariant] = []
    for name in names:
        number = _NUMBER_REF.fullmatch(text)
        if number and store.refs.read(variant_ref(name, int(number.group(1)))) is not None:
            matches.append(load_variant(store, name, int(number.group(1))))
            continue
        tag = store.refs.read(f"workflows/{name}/tags/{text}") if _is_ref_name(text) else None
        if tag is not None:
            matches.append(load_variant(store, name, pointer(tag, f"workflows/{name}/tags/{text}")))
        elif len(text) >= 4 and re.fullmatch(r"[0-9a-f]+", text):  # digits only may still be a hash prefix
            matches.extend(v for v in list_variants(store, name) if v.identity.startswith(text))
    if not matches and "/" not in str(ref).strip():
        latest = _current_of(store, text)
        if latest is not None:
            return latest
    if len(matches) == 1:
        return matches[0]
    where = f"workflow {workflow!r}" if workflow else f"the store at {store.root}"
    if not matches:
        raise BadArgument(
            f"No variant {text!r} in {where}{_known(store, names)}. Refer to a variant as v3, by its tag, or by a "
            "unique prefix of its hash (at least 4 characters), as WORKFLOW/v3, or by a workflow's name alone for its "
            "current variant; `wfnb list` shows them."
        )
    choices = ", ".join(f"{v.workflow}/{v.name}" for v in matches[:10])
    raise BadArgument(f"{text!r} is ambiguous in {where}: it matches {choices}. Use a longer prefix or WORKFLOW/v3.")


def _current_of(store: Store, name: str) -> RecordedVariant | None:
    """A workflow's name alone names its current variant (HEAD, else its newest): "latest"."""
    if not _is_ref_name(name):
        return None
    number = current_number(store, name)
    if number is None:
        number = newest_number(store, name)
    return load_variant(store, name, number) if number is not None else None


def _known(store: Store, workflows_searched: list[str]) -> str:
    """``" (it has v1–v4; tags: baseline)"``: what the user could have meant, briefly."""
    if len(workflows_searched) != 1:
        return ""
    numbers = sorted(_numbers(store, workflows_searched[0]))
    if not numbers:
        return " (it has no variants yet)"
    shown = f"v{numbers[0]}" if len(numbers) == 1 else f"v{numbers[0]}–v{numbers[-1]}"
    tags = [ref.rsplit("/", 1)[1] for ref in store.refs.names(f"workflows/{workflows_searched[0]}/tags")]
    return f" (it has {shown}" + (f"; tags: {', '.join(tags[:8])}" if tags else "") + ")"


def _from_manifest(
    store: Store, manifest: Mapping[str, Any], tags: Mapping[int, list[tuple[str, str]]], ref: str, pins: set[int] = frozenset()  # type: ignore[assignment]  # a frozenset default: never mutated
) -> RecordedVariant:
    check_manifest(store, manifest, ref)
    number = manifest["number"]
    return RecordedVariant(
        workflow=manifest["workflow"],
        number=number,
        identity=manifest["identity"],
        steps=Steps(f"{manifest['workflow']}/v{number}", manifest["steps"], store),
        params=manifest.get("params", {}),
        metrics=manifest.get("metrics", {}),
        parent=manifest.get("parent"),
        changed_steps=tuple(manifest.get("changed_steps", ())),
        created=manifest.get("created", ""),
        tags=tuple(name for name, _ in tags.get(number, [])),
        notes={name: note for name, note in tags.get(number, []) if note},
        store=store,
        pinned=number in pins,
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


def check_manifest(store: Store, manifest: Any, ref: str) -> None:
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
            else:
                expected = ref.split("/")
                if expected[-1].isdigit() and (manifest["workflow"], manifest["number"]) != (expected[1], int(expected[-1])):
                    problem = f"it says it is {manifest['workflow']}/v{manifest['number']}, not {expected[1]}/v{int(expected[-1])}"
    if problem:
        raise CorruptObject(
            f"The variant manifest {ref} in the store at {store.root} is damaged: {problem}. It was not written by "
            f"wfnb as it is now; run `wfnb verify`, then restore refs/{ref}.json from a backup or remove it."
        )


def pointer(data: Any, ref: str) -> int:
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


def steps_changed(previous: RecordedVariant | None, steps: list[dict[str, Any]]) -> list[str]:
    if previous is None:
        return [entry["step"] for entry in steps]
    before = {s.step: s.key for s in previous.steps}
    changed = [entry["step"] for entry in steps if before.get(entry["step"]) != entry["key"]]
    return changed + [step for step in before if step not in {e["step"] for e in steps}]


def _tags(store: Store, workflow: str) -> dict[int, list[tuple[str, str]]]:
    """Variant number → [(tag, note)]; a damaged tag is left out, with a warning."""
    found: dict[int, list[tuple[str, str]]] = {}
    for ref in store.refs.names(f"workflows/{workflow}/tags"):
        try:
            data = store.refs.read(ref)
            if data is not None:
                found.setdefault(pointer(data, ref), []).append((ref.rsplit("/", 1)[1], str(data.get("note", ""))))
        except CorruptObject as error:
            _warn_skipped(ref, error)
    return found


def readable_variant(store: Store, workflow: str, number: int | None) -> RecordedVariant | None:
    """Variant ``number`` if it exists and is sound, else None (nothing to build on)."""
    if number is None:
        return None
    try:
        return load_variant(store, workflow, number)
    except (BadArgument, CorruptObject):
        return None


_warned: set[str] = set()


def _warn_skipped(ref: str, error: CorruptObject) -> None:
    """Say once per ref and process that a listing left a damaged ref out."""
    if str(error) not in _warned:
        _warned.add(str(error))
        warn(f"left out of the list: {error}")


def _numbers(store: Store, workflow: str) -> list[int]:
    names = [ref.rsplit("/", 1)[1] for ref in store.refs.names(f"workflows/{workflow}/variants")]
    return [int(name) for name in names if name.isdigit()]


def _next_number(store: Store, workflow: str) -> int:
    claimed = [ref.rsplit("/", 1)[1] for ref in store.refs.names(f"workflows/{workflow}/numbers")]
    return max([*_numbers(store, workflow), *(int(n) for n in claimed if n.isdigit())], default=0) + 1


def _claim(store: Store, workflow: str, number: int, manifest: dict[str, Any]) -> bool:
    """Take ``number`` for a new variant: its claim (kept even if the variant is deleted later, so that a
    number never names two variants: a tag or a child naming the old one would name the new one), then
    its manifest. False if either is taken."""
    claim = f"workflows/{workflow}/numbers/{number:06d}"
    return store.refs.create(claim, {"variant": number}) and store.refs.create(variant_ref(workflow, number), manifest)


def variant_ref(workflow: str, number: int) -> str:
    """The ref of a variant's manifest."""
    return f"workflows/{workflow}/variants/{number:06d}"


def head_ref(workflow: str) -> str:
    """The ref naming the workflow's current variant."""
    return f"workflows/{workflow}/HEAD"


def identity_ref(workflow: str, identity: str) -> str:
    return f"workflows/{workflow}/states/{identity}"


def _is_ref_name(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_.\-]{1,128}", text)) and set(text) != {"."}


# ---- pins: a variant whose values ``wfnb gc`` keeps however it bounds the store (``wfnb.history.retention``).
# A tag names a variant for people; a pin says "keep what it needs". A pin is a small ref,
# ``refs/workflows/<workflow>/pins/<number>``, created once (pinning twice changes nothing).


def pin_ref(workflow: str, number: int) -> str:
    return f"workflows/{workflow}/pins/{number:06d}"


def pin_variant(store: Store, variant: RecordedVariant, note: str | None = None) -> bool:
    """Pin ``variant``; False if it was pinned already (its first pin and note are kept)."""
    data = {"variant": variant.number, "note": note or "", "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return store.refs.create(pin_ref(variant.workflow, variant.number), data)


def unpin_variant(store: Store, variant: RecordedVariant) -> bool:
    """Unpin ``variant``; False if it was not pinned."""
    return store.refs.delete(pin_ref(variant.workflow, variant.number))


def pinned_numbers(store: Store, workflow: str) -> set[int]:
    """The numbers of the pinned variants of ``workflow`` (a damaged pin still pins: gc must not guess)."""
    numbers = set()
    for ref in store.refs.names(f"workflows/{workflow}/pins"):
        name = ref.rsplit("/", 1)[1]
        if name.isdigit():
            numbers.add(int(name))
        else:
            try:
                data = store.refs.read(ref) or {}
            except CorruptObject:
                continue
            if isinstance(data.get("variant"), int):
                numbers.add(data["variant"])
    return numbers
