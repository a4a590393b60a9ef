"""Check a store's history: every variant, its parent, the tags, HEAD and the identity refs.

``Store.verify`` checks each file against its checksum; this checks what the
files say about each other, which no checksum can: a tag or a child naming a
variant that was deleted, a HEAD pointing nowhere, a variant whose step records
are gone. A pointer that names nothing (a tag, HEAD, an identity ref) is moved
to ``corrupt/`` like a damaged file, never deleted; each problem says what
became of it and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wfnb.errors import CorruptObject
from wfnb.history.snapshots import check_manifest, head_ref, pointer

if TYPE_CHECKING:
    from wfnb.store import Store


@dataclass
class HistoryReport:
    """How many refs were checked, and each problem as (ref file, what is wrong and what to do)."""

    checked: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def add(self, ref: str, text: str) -> None:
        self.problems.append((f"refs/{ref}.json", text))


def check_history(store: Store) -> HistoryReport:
    """Check the refs of every workflow in ``store``; see the module docstring."""
    report = HistoryReport()
    for workflow in _workflow_names(store):
        manifests = _variants(store, workflow, report)
        _check_parents_and_steps(store, workflow, manifests, report)
        _check_pointers(store, workflow, manifests, report)
    return report


def _workflow_names(store: Store) -> list[str]:
    return sorted({ref.split("/")[1] for ref in store.refs.names("workflows") if ref.count("/") >= 2})


def _variants(store: Store, workflow: str, report: HistoryReport) -> dict[int, dict[str, Any]]:
    """Number → manifest for each sound variant; each unsound one is a problem."""
    found = {}
    for ref in store.refs.names(f"workflows/{workflow}/variants"):
        report.checked += 1
        try:
            manifest = store.refs.read(ref)
            if manifest is None:
                continue
            check_manifest(store, manifest, ref)
        except CorruptObject as error:
            report.add(ref, str(error))
            continue
        found[manifest["number"]] = manifest
    return found


def _check_parents_and_steps(store: Store, workflow: str, manifests: dict[int, dict[str, Any]], report: HistoryReport) -> None:
    for number, manifest in sorted(manifests.items()):
        ref = f"workflows/{workflow}/variants/{number:06d}"
        parent = manifest["parent"]
        if parent is not None and parent not in manifests:
            report.add(ref, (
                f"{workflow}/v{number} names v{parent} as its parent, but v{parent} is gone (deleted, or moved to "
                f"corrupt/ as damaged). v{number} itself is intact; its changed steps are counted from v{parent}. "
                f"Restore refs/workflows/{workflow}/variants/{parent:06d}.json from a backup if you have one; "
                "nothing else needs doing."
            ))
        missing = [entry["step"] for entry in manifest["steps"] if not store.has_object(entry["record"], freshen=False)]
        if missing:
            report.add(ref, (
                f"{workflow}/v{number}: the record of step{'s' if len(missing) > 1 else ''} {', '.join(missing)} is "
                f"missing from objects/, so v{number} cannot be shown, exported or replayed. Restore the store from "
                f"a backup, or remove refs/{ref}.json: a notebook that reaches that state records it again."
            ))


def _check_pointers(store: Store, workflow: str, manifests: dict[int, dict[str, Any]], report: HistoryReport) -> None:
    """Tags, HEAD and identity refs must name a sound variant (an identity ref, one with that identity)."""
    refs = [*store.refs.names(f"workflows/{workflow}/tags"), *store.refs.names(f"workflows/{workflow}/states")]
    for ref in [*refs, head_ref(workflow)]:
        data = None
        try:
            data = store.refs.read(ref)
            if data is None:
                continue  # no HEAD (a workflow made only by replays), or a ref removed meanwhile
            report.checked += 1
            number = pointer(data, ref)
        except CorruptObject:  # a damaged file (moved aside by the read), or data that names no variant
            held = "nothing readable" if data is None else repr(data)[:60]
            report.add(ref, f"{_described(ref)} holds {held} instead of a variant number; it "
                            f"{store.refs.set_aside(ref)}. {_remedy(ref, workflow, manifests)}")
            continue
        kind = ref.split("/")[2]
        if number in manifests and (kind != "states" or manifests[number]["identity"] == ref.rsplit("/", 1)[1]):
            continue
        gone = f"v{number}, which is gone" if number not in manifests else f"v{number}, which is another state"
        report.add(ref, f"{_described(ref)} names {gone}; it {store.refs.set_aside(ref)}. {_remedy(ref, workflow, manifests)}")


def _described(ref: str) -> str:
    parts = ref.split("/")
    if parts[-1] == "HEAD":
        return f"HEAD of {parts[1]} (its current variant)"
    if parts[2] == "tags":
        return f"The tag {parts[3]} of {parts[1]}"
    return f"The identity ref {parts[3][:12]}… of {parts[1]}"


def _remedy(ref: str, workflow: str, manifests: dict[int, dict[str, Any]]) -> str:
    newest = max(manifests, default=None)
    if ref.endswith("/HEAD"):
        return (f"A new kernel starts from v{newest}, the newest variant." if newest else
                "A new kernel starts afresh.") + " Nothing else needs doing."
    if "/tags/" in ref:
        return f"The name is free again: tag another variant with wfnb.tag('v3', {ref.rsplit('/', 1)[1]!r})."
    return "Nothing needs doing: the next time a notebook reaches that state, it is recorded again."

