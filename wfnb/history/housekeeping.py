"""Tidying a history: removing variants and workflows, renaming tags and workflows.

A study kept for months collects variants nobody wants (a typo run, a made-up
workflow from a headless run), and names that no longer say what they mean.
These edits change refs only: the values and cached results of a removed
variant stay in the store until ``wfnb gc`` finds that nothing keeps them
(after its grace period), so a removal frees space only then, and a cached
step result is still used by any step that reaches its key.

Variant numbers are never reused: a number's claim (``numbers/``) outlives its
variant, so that an old note saying "v3" never comes to mean another variant.
A removed variant's children name its parent instead, so ``wfnb verify`` finds
no dangling parent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wfnb.errors import BadArgument, CorruptObject, check_name
from wfnb.history.letgo import let_go_ref
from wfnb.history.snapshots import (
    current_number,
    head_ref,
    identity_ref,
    list_variants,
    load_variant,
    pinned_numbers,
    pointer,
    readable_variant,
    steps_changed,
    variant_ref,
    workflows,
)
from wfnb.history.state import WorkflowState

if TYPE_CHECKING:
    from wfnb.history.records import RecordedVariant
    from wfnb.store import Store

__all__ = ["check_removable", "remove_variant", "remove_workflow", "rename_tag", "rename_workflow"]


def remove_variant(store: Store, variant: RecordedVariant) -> list[str]:
    """Remove ``variant``: its manifest, tags and identity; its children then name its parent, and the
    workflow's current variant becomes the newest one left. Returns what else changed, for messages.

    A pinned variant is refused: its pin says to keep it (``wfnb unpin`` first).
    """
    check_removable(store, variant)
    workflow, number = variant.workflow, variant.number
    said = []
    for tag in variant.tags:
        store.refs.delete(f"workflows/{workflow}/tags/{tag}")
        said.append(f"its tag {tag} is gone")
    for other in list_variants(store, workflow):
        if other.parent == number:
            _reparent(store, other, variant.parent)
            said.append(f"{other.name}'s parent is now {'v' + str(variant.parent) if variant.parent else 'none'}")
    _delete_if_pointing(store, identity_ref(workflow, variant.identity), number)
    store.refs.delete(let_go_ref(workflow, number))
    store.refs.delete(variant_ref(workflow, number))
    try:
        head = current_number(store, workflow)
    except CorruptObject:
        head = number  # a damaged HEAD: point it somewhere sound
    if head == number:
        left = [v.number for v in list_variants(store, workflow)]
        if left:
            store.refs.replace(head_ref(workflow), {"variant": left[-1]})
            said.append(f"v{left[-1]} is current now")
        else:
            store.refs.delete(head_ref(workflow))
    return said


def check_removable(store: Store, variant: RecordedVariant) -> None:
    """BadArgument if ``variant`` may not be removed (it is pinned), so that a caller removing several
    checks them all before removing any."""
    if variant.number in pinned_numbers(store, variant.workflow):
        raise BadArgument(
            f"{variant.workflow}/{variant.name} is pinned, so it is kept whatever else is removed. Unpin it first "
            f"(wfnb unpin {variant.name} -w {variant.workflow}), then remove it."
        )


def remove_workflow(store: Store, workflow: str) -> int:
    """Remove every variant, tag and pointer of ``workflow``; returns how many variants went.

    Refused while a variant of it is pinned. Its number claims go too: the
    workflow is gone, and a new one of that name starts again at v1.
    """
    check_name("workflow", workflow)
    _known_workflow(store, workflow)
    pinned = sorted(pinned_numbers(store, workflow))
    if pinned:
        shown = ", ".join(f"v{n}" for n in pinned)
        raise BadArgument(
            f"Workflow {workflow} has pinned variants ({shown}), which are kept whatever else is removed. "
            f"Unpin them first (wfnb unpin v{pinned[0]} -w {workflow}), then remove the workflow."
        )
    names = store.refs.names(f"workflows/{workflow}")
    count = sum(1 for name in names if "/variants/" in name)
    for name in names:
        store.refs.delete(name)
    return count


def rename_tag(store: Store, workflow: str, old: str, new: str) -> RecordedVariant:
    """Give the variant tagged ``old`` the tag ``new`` instead (its note kept); returns that variant."""
    from wfnb.history.snapshots import tag_variant

    check_name("workflow", workflow)
    ref = f"workflows/{workflow}/tags/{old}"
    data = store.refs.read(ref) if check_name("tag", old) else None
    if data is None:
        tags = [name.rsplit("/", 1)[1] for name in store.refs.names(f"workflows/{workflow}/tags")]
        raise BadArgument(
            f"Workflow {workflow} has no tag {old!r}; its tags: {', '.join(tags) or 'none'}. "
            "Tag a variant with wfnb tag REF NAME."
        )
    variant = load_variant(store, workflow, pointer(data, ref))
    tag_variant(store, variant, new, str(data.get("note", "")) or None)  # refuses a taken name: nothing changed yet
    store.refs.delete(ref)
    return load_variant(store, workflow, variant.number)


def rename_workflow(store: Store, old: str, new: str) -> int:
    """Move every variant, tag, pin and pointer of workflow ``old`` to ``new``; returns how many variants.

    A variant's identity counts its workflow's name, so each is computed again
    under the new name: reaching the same state in the renamed workflow finds
    the same variant. Refused if ``new`` already has refs (no mixing of histories).
    """
    check_name("workflow", old)
    check_name("workflow", new)
    _known_workflow(store, old)
    if store.refs.names(f"workflows/{new}"):
        raise BadArgument(
            f"The store already has a workflow {new!r}; renaming {old} to it would mix two histories. "
            f"Choose another name, or remove {new} first (wfnb rm --all -w {new})."
        )
    moving: list[tuple[str, dict]] = []  # everything read (and every identity computed) before anything is written
    for name in store.refs.names(f"workflows/{old}"):
        rest = name[len(f"workflows/{old}/"):]
        data = None if rest.startswith("states/") else store.refs.read(name)  # identities are computed again
        if data is None:
            continue
        if rest.startswith("variants/"):
            data = {**data, "workflow": new}
            data["identity"] = _identity_under(store, data, new)
            moving.append((f"states/{data['identity']}", {"variant": data["number"]}))
        moving.append((rest, data))
    for rest, data in moving:
        store.refs.create(f"workflows/{new}/{rest}", data)
    for name in store.refs.names(f"workflows/{old}"):
        store.refs.delete(name)
    return sum(1 for rest, _ in moving if rest.startswith("variants/"))


def _identity_under(store: Store, manifest: dict, workflow: str) -> str:
    """The identity a variant's state has in ``workflow`` (as ``WorkflowState.identity`` computes it)."""
    state = WorkflowState(workflow, params=dict(manifest.get("params", {})))
    for entry in manifest["steps"]:
        state.order.append(entry["step"])
        state.records[entry["step"]] = store.get_json(entry["record"])
    return state.identity()


def _reparent(store: Store, child: RecordedVariant, parent: int | None) -> None:
    """Make ``parent`` the parent of ``child``, with its changed steps counted from that parent."""
    manifest = store.refs.read(variant_ref(child.workflow, child.number))
    if manifest is None:
        return
    previous = readable_variant(store, child.workflow, parent)
    steps = [{"step": s, "key": k} for s, k, _ in child.steps.entries()]
    manifest = {**manifest, "parent": previous.number if previous else None, "changed_steps": steps_changed(previous, steps)}
    store.refs.replace(variant_ref(child.workflow, child.number), manifest)


def _delete_if_pointing(store: Store, ref: str, number: int) -> None:
    try:
        data = store.refs.read(ref)
    except CorruptObject:
        data = None
    if data is not None and data.get("variant") == number:
        store.refs.delete(ref)


def _known_workflow(store: Store, workflow: str) -> None:
    if workflow not in workflows(store) and not store.refs.names(f"workflows/{workflow}"):
        known = workflows(store)
        raise BadArgument(
            f"There is no workflow {workflow!r} in the store at {store.root}; "
            + (f"its workflows: {', '.join(known)}." if known else "it has no workflows yet.")
        )
